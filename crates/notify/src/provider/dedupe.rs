//! Skipping commit statuses the forge already shows, as Flux's commit-status providers do
//! before posting: [`status_lookup`] turns the status-creating request into the request that
//! reads the existing statuses (same credentials), and [`is_duplicate`] decides from its answer
//! whether the new status would repeat the current one (same name, state and description).
//! Gitea's lookup is not implemented: its status is always posted.

use serde_json::Value;
use tether_api::notification::v1beta3::ProviderType;

use super::HttpRequest;

/// The lookup's answer cannot be read, or says the lookup failed (Flux then does not post).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The forge answered with an error status.
    #[error("could not list commit statuses: status code {0}")]
    Status(u16),
    /// The answer is not the JSON the forge documents.
    #[error("could not read commit statuses: {0}")]
    Body(String),
}

/// The GET request listing the statuses `create` would add to, for the providers whose
/// duplicates Flux skips.
pub fn status_lookup(provider: ProviderType, create: &HttpRequest) -> Option<HttpRequest> {
    let url = match provider {
        ProviderType::GitHub => {
            let (base, sha) = create.url.rsplit_once("/statuses/")?;
            format!("{base}/commits/{sha}/statuses?per_page=50")
        }
        ProviderType::GitLab => {
            let (base, sha) = create.url.rsplit_once("/statuses/")?;
            let name = field(&create.body, "name")?;
            let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
            format!("{base}/repository/commits/{sha}/statuses?name={name}")
        }
        ProviderType::Bitbucket => format!("{}/{}", create.url, field(&create.body, "key")?),
        ProviderType::BitbucketServer => {
            format!("{}?key={}", create.url, field(&create.body, "key")?)
        }
        ProviderType::AzureDevOps => create.url.clone(),
        _ => return None,
    };
    let headers = create
        .headers
        .iter()
        .filter(|(name, _)| name != "Content-Type")
        .cloned()
        .collect();
    Some(HttpRequest {
        method: "GET",
        url,
        headers,
        body: Vec::new(),
    })
}

/// Whether the statuses in the lookup's answer (`status`, `body`) make `create` a duplicate.
pub fn is_duplicate(
    provider: ProviderType,
    create: &HttpRequest,
    status: u16,
    body: &[u8],
) -> Result<bool, LookupError> {
    let not_found_is_empty = matches!(
        provider,
        ProviderType::Bitbucket | ProviderType::BitbucketServer
    );
    if status == 404 && not_found_is_empty {
        return Ok(false);
    }
    if !(200..300).contains(&status) {
        return Err(LookupError::Status(status));
    }
    let ours: Value = parse(&create.body)?;
    let theirs: Value = parse(body)?;
    let same = |a: &Value, b: &Value, keys: &[&str]| keys.iter().all(|k| a[*k] == b[*k]);
    Ok(match provider {
        ProviderType::GitHub => first_with_same_name(&theirs, "context", &ours["context"])
            .is_some_and(|s| same(s, &ours, &["state", "description"])),
        ProviderType::GitLab => list(&theirs)
            .iter()
            .any(|s| s["status"] == ours["state"] && same(s, &ours, &["name", "description"])),
        ProviderType::Bitbucket => same(&theirs, &ours, &["state", "description"]),
        ProviderType::BitbucketServer => {
            same(&theirs, &ours, &["key", "state", "description", "name"])
        }
        ProviderType::AzureDevOps => list(&theirs["value"])
            .iter()
            .find(|s| {
                complete(s, &["state", "description"])
                    && s["context"]["name"].is_string()
                    && s["context"]["genre"].is_string()
                    && s["context"]["name"] == ours["context"]["name"]
                    && s["context"]["genre"] == ours["context"]["genre"]
            })
            .is_some_and(|s| same(s, &ours, &["state", "description"])),
        _ => false,
    })
}

/// The first listed status whose `key` equals `name`, skipping incomplete entries.
fn first_with_same_name<'a>(statuses: &'a Value, key: &str, name: &Value) -> Option<&'a Value> {
    list(statuses)
        .iter()
        .filter(|s| complete(s, &[key, "state", "description"]))
        .find(|s| &s[key] == name)
}

/// Every key holds a string (Go's non-nil pointers).
fn complete(status: &Value, keys: &[&str]) -> bool {
    keys.iter().all(|k| status[*k].is_string())
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn parse(body: &[u8]) -> Result<Value, LookupError> {
    serde_json::from_slice(body).map_err(|e| LookupError::Body(e.to_string()))
}

/// A string field of our own JSON body.
fn field(body: &[u8], key: &str) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value[key].as_str().map(str::to_owned)
}
