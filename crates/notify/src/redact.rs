//! Keeping secrets out of what this crate shows: URLs without their userinfo password or
//! token, and any text with the Provider's token and password masked (Flux's `masktoken`).
//!
//! `url_for_display` follows `tether_source::sanitize_url` (the rule every crate shows URLs
//! by); it is repeated here so that this engine does not depend on the source crate.

/// `url` as it may be shown: a `user:password@` userinfo keeps only the user; a lone
/// `token@` userinfo goes entirely.
pub fn url_for_display(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}@{host}{path}"),
        None => format!("{scheme}://{host}{path}"),
    }
}

/// `text` with every occurrence of each non-empty secret replaced by `*****`.
pub fn mask(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret, "*****");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_loses_its_password_and_its_token() {
        assert_eq!(
            url_for_display("https://bob:hunter2@example.com/hook"),
            "https://bob@example.com/hook"
        );
        assert_eq!(
            url_for_display("https://t0ken@example.com/hook"),
            "https://example.com/hook"
        );
        assert_eq!(url_for_display("not a url"), "not a url");
    }

    #[test]
    fn masking_replaces_every_secret_occurrence() {
        assert_eq!(
            mask("bot123:abc/x bot123:abc", &["123:abc", ""]),
            "bot*****/x bot*****"
        );
    }
}
