//! Tag listing: `GET /v2/<repository>/tags/list`, following `Link: <...>; rel="next"` pages
//! (only on the registry's own scheme and host, as go-containerregistry insists) up to the
//! configured page and tag limits.

use crate::client::{RegistryClient, ScanOptions};
use crate::error::ScanError;
use crate::name::ImageName;
use crate::session::Session;
use reqwest::Method;
use reqwest::header::{self, HeaderMap};

#[derive(serde::Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl RegistryClient {
    /// Every tag of `image`, in the registry's order.
    pub async fn list_tags(
        &self,
        image: &ImageName,
        options: &ScanOptions,
    ) -> Result<Vec<String>, ScanError> {
        crate::with_timeout(image, options, async {
            let mut session = self.session(image, options).await?;
            collect_pages(&mut session).await
        })
        .await
    }
}

pub(crate) async fn collect_pages(session: &mut Session<'_>) -> Result<Vec<String>, ScanError> {
    let mut url = format!(
        "{}/v2/{}/tags/list",
        session.base,
        session.image.repository()
    );
    if let Some(size) = session.options.page_size {
        url.push_str(&format!("?n={size}"));
    }
    let mut tags = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        if pages > session.options.max_pages {
            return Err(too_many(session, "pages", session.options.max_pages));
        }
        let response = session.request(Method::GET, &url, HeaderMap::new()).await?;
        let next = next_link(response.headers())
            .map(|link| resolve_next(session, &url, &link))
            .transpose()?;
        let body = response
            .bytes()
            .await
            .map_err(|e| session.transport_error(&url, &e))?;
        let page: TagsPage = serde_json::from_slice(&body)
            .map_err(|e| session.invalid_response(&url, crate::error::json_error_text(&e)))?;
        tags.extend(page.tags.unwrap_or_default());
        if tags.len() > session.options.max_tags {
            return Err(too_many(session, "tags", session.options.max_tags));
        }
        match next {
            Some(next) => url = next,
            None => return Ok(tags),
        }
    }
}

fn too_many(session: &Session<'_>, what: &'static str, limit: usize) -> ScanError {
    ScanError::TooMany {
        image: session.image.canonical(),
        what,
        limit,
    }
}

/// The target of the `rel="next"` link among a response's `Link` headers.
pub(crate) fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(parse_next_link)
}

/// Parses `<url>; rel="next"` (RFC 8288), possibly among several comma-separated links.
pub fn parse_next_link(value: &str) -> Option<String> {
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let target = &after[..end];
        let params_end = after[end..].find('<').map_or(after.len(), |i| end + i);
        let params = &after[end + 1..params_end];
        let is_next = params.split(';').any(|param| {
            param.split_once('=').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            })
        });
        if is_next && !target.is_empty() {
            return Some(target.to_owned());
        }
        rest = &after[params_end..];
    }
    None
}

/// Resolves a next link against the current URL; it must stay on the registry's scheme and
/// host (a registry must not steer the scanner, with its credentials, elsewhere).
fn resolve_next(session: &Session<'_>, current: &str, link: &str) -> Result<String, ScanError> {
    let base = url::Url::parse(current).map_err(|e| session.invalid_response(current, e))?;
    let next = base
        .join(link)
        .map_err(|e| session.invalid_response(current, format!("bad Link header: {e}")))?;
    if next.scheme() != base.scheme()
        || next.host_str() != base.host_str()
        || next.port() != base.port()
    {
        return Err(session.invalid_response(
            current,
            format!(
                "pagination link leaves the registry ({}://{})",
                next.scheme(),
                next.host_str().unwrap_or_default()
            ),
        ));
    }
    Ok(next.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_relative_and_among_others() {
        assert_eq!(
            parse_next_link(r#"</v2/app/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/app/tags/list?last=b&n=2")
        );
        assert_eq!(
            parse_next_link(r#"<https://r.io/x?p=1>; rel="prev", <https://r.io/x?p=3>; rel=next"#)
                .as_deref(),
            Some("https://r.io/x?p=3")
        );
        assert_eq!(parse_next_link(r#"</x>; rel="prev""#), None);
        assert_eq!(parse_next_link("garbage"), None);
        assert_eq!(parse_next_link(r#"<>; rel="next""#), None);
    }
}
