//! Commit-status providers (GitHub, GitLab, Gitea, Bitbucket Cloud, Bitbucket Server, Azure
//! DevOps) and GitHub's `repository_dispatch`. The status is keyed by the commit of the event's
//! revision and named by the commit status id (Flux's `<kind>/<name>/<uid prefix>` or the
//! Provider's `commitStatusExpr`); Bitbucket keys are the SHA-1 of that id.
//!
//! Flux calls forge SDKs; each request here is the status-creating call those SDKs make
//! (go-github v64, gitlab client-go, gitea SDK, go-bitbucket, azure-devops-go-api v6), with
//! the body encoded as that SDK encodes it. The SDKs' preliminary calls (listing existing
//! statuses to skip duplicates, Gitea's version probe, Azure DevOps' route discovery) are not
//! reproduced.

use serde::Serialize;
use sha1::{Digest, Sha1};
use tether_api::notification::v1beta3::ProviderType;

use super::{
    HttpRequest, PayloadError, ProviderSettings, alerting::PROGRESSING_REASON, basic_auth,
    event_commit, git_host_and_id, hex, name_and_description, require,
};
use crate::{
    event::{Event, metadata_keys, severity},
    gojson,
};

/// The token, or the password when no token is set (the GitHub, GitLab and Gitea fallback).
pub(super) fn token_or_password(settings: &ProviderSettings) -> &str {
    if settings.token.is_empty() {
        &settings.password
    } else {
        &settings.token
    }
}

/// `info` and `error` map to the forge's success and failure states; others fail.
fn state<'a>(
    provider: ProviderType,
    event: &Event,
    success: &'a str,
    failure: &'a str,
) -> Result<&'a str, PayloadError> {
    match event.severity.as_str() {
        severity::INFO => Ok(success),
        severity::ERROR => Ok(failure),
        other => Err(PayloadError::UnsupportedSeverity {
            provider,
            severity: other.to_owned(),
        }),
    }
}

/// `owner/repo` from a repository path with exactly two parts.
pub(super) fn owner_and_repo(id: &str) -> Result<(&str, &str), PayloadError> {
    match id.split('/').collect::<Vec<_>>().as_slice() {
        [owner, repo] => Ok((owner, repo)),
        _ => Err(PayloadError::InvalidRepository { id: id.to_owned() }),
    }
}

/// Go's `url.PathEscape`: everything but unreserved characters and `$&+:=@` is escaped.
pub(super) fn path_escape(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~$&+:=@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// go-github's API base: `https://api.github.com/` for github.com, `<host>/api/v3/` otherwise.
pub(super) fn github_api_base(host: &str) -> String {
    if host == "https://github.com" || host == "http://github.com" {
        "https://api.github.com/".to_owned()
    } else {
        format!("{host}/api/v3/")
    }
}

/// The headers go-github sends with a JSON body.
pub(super) fn github_request(url: String, body: Vec<u8>, token: &str) -> HttpRequest {
    let mut request = HttpRequest::json_post(url, body);
    request.set_header("Accept", "application/vnd.github.v3+json");
    request.set_header("User-Agent", "go-github/v64.0.0");
    request.set_header("X-GitHub-Api-Version", "2022-11-28");
    request.set_header("Authorization", format!("Bearer {token}"));
    request
}

#[derive(Serialize)]
struct GitHubStatus<'a> {
    state: &'a str,
    description: &'a str,
    context: &'a str,
}

/// GitHub: `POST repos/<owner>/<repo>/statuses/<sha>`; nothing for `Progressing` events.
pub(super) fn github(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<Option<HttpRequest>, PayloadError> {
    let provider = ProviderType::GitHub;
    let token = token_or_password(settings);
    require(provider, token, "token")?;
    let (host, id) = git_host_and_id(provider, &settings.address)?;
    let (owner, repo) = owner_and_repo(&id)?;
    require(provider, &settings.commit_status, "commit status")?;
    if event.has_reason(PROGRESSING_REASON) {
        return Ok(None);
    }
    let sha = event_commit(event)?;
    let (_, description) = name_and_description(event);
    let status = GitHubStatus {
        state: state(provider, event, "success", "failure")?,
        description: &description,
        context: &settings.commit_status,
    };
    let url = format!(
        "{}repos/{owner}/{repo}/statuses/{sha}",
        github_api_base(&host)
    );
    Ok(Some(github_request(
        url,
        gojson::encode_plain(&status)?,
        token,
    )))
}

/// GitHub `repository_dispatch`: event type `<Kind>/<name>.<namespace>`, the event as the
/// client payload.
pub(super) fn github_dispatch(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    let provider = ProviderType::GitHubDispatch;
    let token = token_or_password(settings);
    require(provider, token, "token")?;
    let (host, id) = git_host_and_id(provider, &settings.address)?;
    let (owner, repo) = owner_and_repo(&id)?;
    let object = &event.involved_object;
    let event_type = format!("{}/{}.{}", object.kind, object.name, object.namespace);
    // The payload is a json.RawMessage of json.Marshal(event): embedded as Marshal wrote it.
    let mut body = b"{\"event_type\":".to_vec();
    body.extend(gojson::to_vec(&event_type, gojson::Escaping::Plain)?);
    body.extend(b",\"client_payload\":");
    body.extend(event.to_go_json()?);
    body.extend(b"}\n");
    let url = format!("{}repos/{owner}/{repo}/dispatches", github_api_base(&host));
    Ok(github_request(url, body, token))
}

#[derive(Serialize)]
struct GitLabStatus<'a> {
    state: &'a str,
    name: &'a str,
    description: &'a str,
}

/// GitLab: `POST api/v4/projects/<escaped path>/statuses/<sha>`, `PRIVATE-TOKEN`.
pub(super) fn gitlab(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<Option<HttpRequest>, PayloadError> {
    let provider = ProviderType::GitLab;
    let token = token_or_password(settings);
    require(provider, token, "token")?;
    let (host, id) = git_host_and_id(provider, &settings.address)?;
    require(provider, &settings.commit_status, "commit status")?;
    if event.has_reason(PROGRESSING_REASON) {
        return Ok(None);
    }
    let sha = event_commit(event)?;
    let (_, description) = name_and_description(event);
    let status = GitLabStatus {
        state: state(provider, event, "success", "failed")?,
        name: &settings.commit_status,
        description: &description,
    };
    let url = format!("{host}/api/v4/projects/{}/statuses/{sha}", path_escape(&id));
    let mut request = HttpRequest::json_post(url, gojson::marshal(&status)?);
    request.set_header("Accept", "application/json");
    request.set_header("PRIVATE-TOKEN", token);
    Ok(Some(request))
}

#[derive(Serialize)]
struct GiteaStatus<'a> {
    state: &'a str,
    target_url: &'a str,
    description: &'a str,
    context: &'a str,
}

/// Gitea: `POST api/v1/repos/<owner>/<repo>/statuses/<sha>`, `Authorization: token <token>`;
/// `Progressing` events set the `pending` state.
pub(super) fn gitea(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<HttpRequest, PayloadError> {
    let provider = ProviderType::Gitea;
    let token = token_or_password(settings);
    require(provider, token, "token")?;
    let (host, id) = git_host_and_id(provider, &settings.address)?;
    let (owner, repo) = owner_and_repo(&id)?;
    require(provider, &settings.commit_status, "commit status")?;
    let sha = event_commit(event)?;
    let state = if event.has_reason(PROGRESSING_REASON) {
        "pending"
    } else {
        state(provider, event, "success", "failure")?
    };
    let (_, description) = name_and_description(event);
    let status = GiteaStatus {
        state,
        target_url: "",
        description: &description,
        context: &settings.commit_status,
    };
    let url = format!(
        "{host}/api/v1/repos/{}/{}/statuses/{sha}",
        path_escape(owner),
        path_escape(repo)
    );
    let mut request = HttpRequest::json_post(url, gojson::marshal(&status)?);
    request.set_header("Authorization", format!("token {token}"));
    Ok(request)
}

#[derive(Serialize)]
struct BitbucketStatus<'a> {
    key: &'a str,
    url: &'a str,
    state: &'a str,
    name: &'a str,
    description: &'a str,
}

/// Bitbucket Cloud: `POST 2.0/repositories/<owner>/<repo>/commit/<sha>/statuses/build` on
/// api.bitbucket.org, basic auth from a `<user>:<password>` token.
pub(super) fn bitbucket(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<Option<HttpRequest>, PayloadError> {
    let provider = ProviderType::Bitbucket;
    require(provider, &settings.token, "token")?;
    require(provider, &settings.commit_status, "commit status")?;
    let (_, id) = git_host_and_id(provider, &settings.address)?;
    let (username, password) = match settings.token.split(':').collect::<Vec<_>>().as_slice() {
        [user, password] => (*user, *password),
        _ => return Err(PayloadError::InvalidTokenFormat),
    };
    let (owner, repo) = owner_and_repo(&id)?;
    if event.has_reason(PROGRESSING_REASON) {
        return Ok(None);
    }
    let sha = event_commit(event)?;
    let (name, description) = name_and_description(event);
    let key = hex(&Sha1::digest(settings.commit_status.as_bytes()));
    let status = BitbucketStatus {
        key: &key,
        url: "https://bitbucket.org",
        state: state(provider, event, "SUCCESSFUL", "FAILED")?,
        name: &name,
        description: &description,
    };
    let url = format!(
        "https://api.bitbucket.org/2.0/repositories/{owner}/{repo}/commit/{sha}/statuses/build"
    );
    let mut request = HttpRequest::json_post(url, gojson::marshal(&status)?);
    request.set_header("Authorization", basic_auth(username, password));
    Ok(Some(request))
}

/// Bitbucket Server:
/// `POST <context>/rest/api/latest/projects/<key>/repos/<slug>/commits/<sha>/builds`
/// derived from an HTTP(S) clone URL with `/scm/`; bearer token or basic auth.
pub(super) fn bitbucket_server(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<Option<HttpRequest>, PayloadError> {
    let provider = ProviderType::BitbucketServer;
    let commits = bitbucket_server_commits_url(&settings.address)?;
    require(provider, &settings.commit_status, "commit status")?;
    if settings.token.is_empty() && (settings.username.is_empty() || settings.password.is_empty()) {
        return Err(PayloadError::MissingSetting {
            provider,
            setting: "token or username and password",
        });
    }
    if event.has_reason(PROGRESSING_REASON) {
        return Ok(None);
    }
    let sha = event_commit(event)?;
    let state = state(provider, event, "SUCCESSFUL", "FAILED")?;
    let (name, description) = name_and_description(event);
    let name = format!("{name} [{description}]");
    let key = hex(&Sha1::digest(settings.commit_status.as_bytes()));
    // Go's struct order: description, key, name, state, url (omitempty fields left out).
    let body = BitbucketServerBody {
        description: &description,
        key: &key,
        name: &name,
        state,
        url: &settings.address,
    };
    let mut encoded = gojson::marshal(&body)?;
    encoded.push(b'\n');
    let mut request = HttpRequest {
        method: "POST",
        url: format!("{commits}/{sha}/builds"),
        headers: Vec::new(),
        body: encoded,
    };
    let authorization = if settings.token.is_empty() {
        basic_auth(&settings.username, &settings.password)
    } else {
        format!("Bearer {}", settings.token)
    };
    request.set_header("Authorization", authorization);
    request.set_header("X-Atlassian-Token", "no-check");
    request.set_header("X-Requested-With", "XMLHttpRequest");
    request.set_header("Content-Type", "application/json");
    Ok(Some(request))
}

#[derive(Serialize)]
struct BitbucketServerBody<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    key: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    state: &'a str,
    url: &'a str,
}

/// `<scheme>://<host><context>/rest/api/latest/projects/<key>/repos/<slug>/commits`.
fn bitbucket_server_commits_url(address: &str) -> Result<String, PayloadError> {
    let invalid = || PayloadError::InvalidAddress {
        provider: ProviderType::BitbucketServer,
        address: crate::redact::url_for_display(address),
    };
    let url = url::Url::parse(address).map_err(|_| invalid())?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid());
    }
    let path = url.path();
    let path = path.strip_suffix(".git").unwrap_or(path);
    let at = path.rfind("/scm/").ok_or_else(invalid)?;
    let (context, id) = (&path[..at], &path[at + "/scm/".len()..]);
    let (project, slug) = owner_and_repo(id)?;
    let host = url.host_str().unwrap_or_default();
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    Ok(format!(
        "{}://{authority}{context}/rest/api/latest/projects/{project}/repos/{slug}/commits",
        url.scheme()
    ))
}

#[derive(Serialize)]
struct AzureStatus<'a> {
    context: AzureContext<'a>,
    description: &'a str,
    state: &'a str,
}

#[derive(Serialize)]
struct AzureContext<'a> {
    genre: String,
    name: &'a str,
}

/// The API version azure-devops-go-api v6 asks for when creating a commit status.
const AZURE_API_VERSION: &str = "6.0-preview.1";

/// Azure DevOps: `POST <org>/<project>/_apis/git/repositories/<repo>/commits/<sha>/statuses`
/// with a personal access token (workload identity is the controller's concern). The genre
/// is `fluxcd`, or `fluxcd:<summary>` when the event has a summary.
pub(super) fn azure_devops(
    event: &Event,
    settings: &ProviderSettings,
) -> Result<Option<HttpRequest>, PayloadError> {
    let provider = ProviderType::AzureDevOps;
    require(provider, &settings.token, "token")?;
    let (host, id) = git_host_and_id(provider, &settings.address)?;
    require(provider, &settings.commit_status, "commit status")?;
    let parts: Vec<&str> = id.split('/').collect();
    let [org, project, _, repo] = parts.as_slice() else {
        return Err(PayloadError::InvalidRepository { id });
    };
    if event.has_reason(PROGRESSING_REASON) {
        return Ok(None);
    }
    let sha = event_commit(event)?;
    let genre = match event.metadata.get(metadata_keys::SUMMARY) {
        Some(summary) => format!("fluxcd:{summary}"),
        None => "fluxcd".to_owned(),
    };
    let (_, description) = name_and_description(event);
    let status = AzureStatus {
        context: AzureContext {
            genre,
            name: &settings.commit_status,
        },
        description: &description,
        state: state(provider, event, "succeeded", "error")?,
    };
    let url = format!(
        "{host}/{org}/{project}/_apis/git/repositories/{repo}/commits/{sha}/statuses?api-version={AZURE_API_VERSION}"
    );
    let mut request = HttpRequest::json_post(url, gojson::marshal(&status)?);
    request.set_header("Content-Type", "application/json;charset=utf-8");
    request.set_header(
        "Accept",
        format!("application/json;api-version={AZURE_API_VERSION}"),
    );
    request.set_header("Authorization", basic_auth("", &settings.token));
    Ok(Some(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_escape_escapes_slashes_as_go_does() {
        assert_eq!(path_escape("group/sub/repo"), "group%2Fsub%2Frepo");
        assert_eq!(path_escape("a b:c@d"), "a%20b:c@d");
    }

    #[test]
    fn bitbucket_server_addresses_become_the_commits_api() -> Result<(), PayloadError> {
        assert_eq!(
            bitbucket_server_commits_url("https://bb.example.com:7990/ctx/scm/proj/repo.git")?,
            "https://bb.example.com:7990/ctx/rest/api/latest/projects/proj/repos/repo/commits"
        );
        assert!(bitbucket_server_commits_url("ssh://bb.example.com/scm/proj/repo").is_err());
        Ok(())
    }
}
