//! Registry credentials: the `Credentials` a scan presents, read from a
//! `kubernetes.io/dockerconfigjson` secret and matched to a registry the way Flux's keychain
//! (go-containerregistry `authn/kubernetes`) does; and the `WWW-Authenticate` challenge parser
//! the token flow starts from. Nothing here prints a secret: `Debug` redacts every credential.

use crate::name::ImageName;
use base64::Engine;
use std::collections::BTreeMap;
use std::fmt;

/// The key of a `kubernetes.io/dockerconfigjson` secret's data.
pub const DOCKER_CONFIG_JSON_KEY: &str = ".dockerconfigjson";

/// What a scan presents to the registry.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials; bearer registries still hand out anonymous tokens.
    #[default]
    Anonymous,
    /// A username and password (sent as Basic, or to a token endpoint as Basic).
    Basic { username: String, password: String },
    /// A docker config `identitytoken`: an OAuth2 refresh token exchanged at the token endpoint.
    IdentityToken(String),
    /// A docker config `registrytoken`: a bearer token sent to the registry as it is.
    RegistryToken(String),
}

impl Credentials {
    /// Username and password.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// A stable identity for caching tokens per credential, without keeping the secret in keys.
    pub(crate) fn fingerprint(&self) -> String {
        use sha2::Digest;
        let material = match self {
            Self::Anonymous => return "anonymous".to_owned(),
            Self::Basic { username, password } => format!("basic\0{username}\0{password}"),
            Self::IdentityToken(token) => format!("identity\0{token}"),
            Self::RegistryToken(token) => format!("registry\0{token}"),
        };
        format!("{:x}", sha2::Sha256::digest(material.as_bytes()))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Anonymous => "Anonymous",
            Self::Basic { .. } => "Basic(<redacted>)",
            Self::IdentityToken(_) => "IdentityToken(<redacted>)",
            Self::RegistryToken(_) => "RegistryToken(<redacted>)",
        })
    }
}

/// A docker config that could not be read. Messages never quote the document (it holds secrets).
#[derive(Debug, thiserror::Error)]
pub enum DockerConfigError {
    /// The secret has no `.dockerconfigjson` key.
    #[error("secret has no '{DOCKER_CONFIG_JSON_KEY}' key")]
    MissingKey,
    /// The document is not valid JSON of the docker config shape.
    #[error("invalid docker config JSON at line {line} column {column}")]
    Json { line: usize, column: usize },
    /// An entry's `auth` field is not base64 of `username:password`.
    #[error("docker config entry '{registry}': auth field must be base64(username:password)")]
    Auth { registry: String },
}

#[derive(serde::Deserialize)]
struct DockerConfigDocument {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(serde::Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    auth: String,
    #[serde(default)]
    identitytoken: String,
    #[serde(default)]
    registrytoken: String,
}

/// The registries and credentials of a docker config (`.dockerconfigjson`).
#[derive(Clone, Default)]
pub struct DockerConfig {
    /// `(key, credentials)`, keys in reverse lexical order like the keyring's index, so that
    /// longer, more specific paths are tried before their prefixes.
    entries: Vec<(String, Credentials)>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.entries.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("DockerConfig")
            .field("registries", &keys)
            .finish_non_exhaustive()
    }
}

impl DockerConfig {
    /// Reads a secret's data map (already base64-decoded, as kube-rs's `ByteString` holds it).
    pub fn from_secret_data<'a>(
        data: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, DockerConfigError> {
        data.into_iter()
            .find(|(key, _)| *key == DOCKER_CONFIG_JSON_KEY)
            .ok_or(DockerConfigError::MissingKey)
            .and_then(|(_, value)| Self::from_json(value))
    }

    /// Parses a docker config JSON document (`{"auths": {"<registry>": {...}}}`).
    pub fn from_json(json: &[u8]) -> Result<Self, DockerConfigError> {
        let document: DockerConfigDocument =
            serde_json::from_slice(json).map_err(|e| DockerConfigError::Json {
                line: e.line(),
                column: e.column(),
            })?;
        let mut entries = Vec::new();
        for (registry, entry) in document.auths {
            let credentials = entry_credentials(&registry, entry)?;
            entries.push((keyring_key(&registry), credentials));
        }
        entries.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(Self { entries })
    }

    /// The credentials for `image`: the first entry whose key matches the image's
    /// `<registry>/<repository>` (host parts by glob, same port, path prefix), else anonymous.
    pub fn credentials_for(&self, image: &ImageName) -> Credentials {
        let target = image.canonical();
        self.entries
            .iter()
            .find(|(key, _)| keys_match(key, &target))
            .map(|(_, credentials)| credentials.clone())
            .unwrap_or_default()
    }

    /// Whether the config has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Token fields win over `auth` and username/password, as in go-containerregistry's bearer
/// transport (an ACR `docker login` writes both a dummy `auth` and the `identitytoken`).
fn entry_credentials(registry: &str, entry: AuthEntry) -> Result<Credentials, DockerConfigError> {
    if !entry.registrytoken.is_empty() {
        return Ok(Credentials::RegistryToken(entry.registrytoken));
    }
    if !entry.identitytoken.is_empty() {
        return Ok(Credentials::IdentityToken(entry.identitytoken));
    }
    if !entry.auth.is_empty() {
        let (username, password) =
            decode_auth_field(&entry.auth).ok_or_else(|| DockerConfigError::Auth {
                registry: registry.to_owned(),
            })?;
        return Ok(Credentials::Basic { username, password });
    }
    Ok(
        if !entry.username.is_empty() || !entry.password.is_empty() {
            Credentials::Basic {
                username: entry.username,
                password: entry.password,
            }
        } else {
            Credentials::Anonymous
        },
    )
}

/// `auth` is base64 (padded or not) of `username:password`.
fn decode_auth_field(field: &str) -> Option<(String, String)> {
    let field = field.trim();
    let decoded = if field.ends_with('=') {
        base64::engine::general_purpose::STANDARD.decode(field)
    } else {
        base64::engine::general_purpose::STANDARD_NO_PAD.decode(field)
    }
    .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some((username.to_owned(), password.to_owned()))
}

/// The keyring key of a docker config entry: host plus path, with a scheme and a leading
/// `/v1/` or `/v2/` dropped (`https://index.docker.io/v1/` → `index.docker.io`).
fn keyring_key(registry: &str) -> String {
    let without_scheme = registry
        .strip_prefix("https://")
        .or_else(|| registry.strip_prefix("http://"))
        .unwrap_or(registry);
    let (host, path) = match without_scheme.find('/') {
        Some(at) => without_scheme.split_at(at),
        None => (without_scheme, ""),
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = if path.starts_with("/v2/") || path.starts_with("/v1/") {
        &path[3..]
    } else {
        path
    };
    if path.is_empty() || path == "/" {
        host.to_owned()
    } else {
        format!("{host}{path}")
    }
}

/// Splits `host[:port][/path]` into host parts, port and path.
fn split_key(key: &str) -> (Vec<&str>, &str, &str) {
    let (authority, path) = match key.find('/') {
        Some(at) => key.split_at(at),
        None => (key, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port),
        _ => (authority, ""),
    };
    (host.split('.').collect(), port, path)
}

/// The keyring's match: same port, same number of host parts, each host part matching the
/// key's glob (`*.example.com`), and the target path starting with the key's path.
fn keys_match(key: &str, target: &str) -> bool {
    let (key_parts, key_port, key_path) = split_key(key);
    let (target_parts, target_port, target_path) = split_key(target);
    key_port == target_port
        && key_parts.len() == target_parts.len()
        && target_path.starts_with(key_path)
        && key_parts
            .iter()
            .zip(&target_parts)
            .all(|(glob, part)| host_part_matches(glob, part))
}

fn host_part_matches(glob: &str, part: &str) -> bool {
    if !glob.contains(['*', '?', '[']) {
        return glob == part;
    }
    globset::Glob::new(glob).is_ok_and(|g| g.compile_matcher().is_match(part))
}

/// One `WWW-Authenticate` challenge: scheme (`Bearer`, `Basic`) and its parameters, keys
/// lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Whether the scheme is `Bearer` (case-insensitive).
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }

    /// Whether the scheme is `Basic` (case-insensitive).
    pub fn is_basic(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("basic")
    }

    /// A parameter by (lower-case) name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Parses a `WWW-Authenticate` header value into its challenges (RFC 7235: a scheme token,
/// then comma-separated `name=token` or `name="quoted \" string"` parameters; a bare token after
/// a comma starts the next challenge). Written by hand: the crates for this are unmaintained.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let (token, after) = split_token(rest);
        if token.is_empty() {
            break;
        }
        let after_ws = after.trim_start();
        if let Some(value_start) = after_ws.strip_prefix('=')
            && let Some(current) = challenges.last_mut()
        {
            let (value, remaining) = parse_param_value(value_start.trim_start());
            current.params.insert(token.to_ascii_lowercase(), value);
            rest = remaining;
        } else {
            challenges.push(Challenge {
                scheme: token.to_owned(),
                params: BTreeMap::new(),
            });
            rest = after_ws;
        }
    }
    challenges
}

fn split_token(input: &str) -> (&str, &str) {
    let end = input
        .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
        .unwrap_or(input.len());
    input.split_at(end)
}

fn parse_param_value(input: &str) -> (String, &str) {
    let Some(quoted) = input.strip_prefix('"') else {
        let (token, rest) = split_token(input);
        return (token.to_owned(), rest);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            '"' => return (value, &quoted[at + 1..]),
            other => value.push(other),
        }
    }
    (value, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str) -> ImageName {
        ImageName::parse(name).expect("valid image name")
    }

    #[test]
    fn bearer_challenge_with_quoted_params() {
        let challenges = parse_challenges(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        );
        assert_eq!(challenges.len(), 1);
        let bearer = &challenges[0];
        assert!(bearer.is_bearer());
        assert_eq!(bearer.param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(bearer.param("service"), Some("registry.docker.io"));
        assert_eq!(bearer.param("scope"), Some("repository:library/nginx:pull"));
    }

    #[test]
    fn several_challenges_tokens_and_escapes() {
        let challenges = parse_challenges(
            r#"Basic realm="Registry \"R\"", Bearer realm=https://t.example/token, service=x"#,
        );
        assert_eq!(challenges.len(), 2);
        assert!(challenges[0].is_basic());
        assert_eq!(challenges[0].param("realm"), Some(r#"Registry "R""#));
        assert_eq!(
            challenges[1].param("realm"),
            Some("https://t.example/token")
        );
        assert_eq!(challenges[1].param("service"), Some("x"));
        assert!(parse_challenges("").is_empty());
        assert_eq!(parse_challenges("Basic")[0].scheme, "Basic");
    }

    #[test]
    fn docker_config_auth_field_and_username_password() {
        let json = br#"{"auths": {
            "ghcr.io": {"auth": "dXNlcjpwYTpzcw=="},
            "https://index.docker.io/v1/": {"username": "hub", "password": "secret"},
            "registry.example.com:5000": {"auth": "dXNlcjpwYXNz"}
        }}"#;
        let config = DockerConfig::from_json(json).expect("valid");
        assert_eq!(
            config.credentials_for(&image("ghcr.io/org/app")),
            Credentials::basic("user", "pa:ss")
        );
        assert_eq!(
            config.credentials_for(&image("nginx")),
            Credentials::basic("hub", "secret")
        );
        assert_eq!(
            config.credentials_for(&image("registry.example.com:5000/app")),
            Credentials::basic("user", "pass")
        );
        // Same host, other port: no match, like the keyring.
        assert_eq!(
            config.credentials_for(&image("registry.example.com/app")),
            Credentials::Anonymous
        );
        assert_eq!(
            config.credentials_for(&image("quay.io/x")),
            Credentials::Anonymous
        );
    }

    #[test]
    fn docker_config_globs_paths_and_docker_io_alias() {
        let json = br#"{"auths": {
            "*.azurecr.io": {"username": "az", "password": "1"},
            "ghcr.io/team-a": {"username": "a", "password": "2"},
            "ghcr.io": {"username": "any", "password": "3"},
            "docker.io": {"username": "no", "password": "4"}
        }}"#;
        let config = DockerConfig::from_json(json).expect("valid");
        assert_eq!(
            config.credentials_for(&image("myreg.azurecr.io/app")),
            Credentials::basic("az", "1")
        );
        assert_eq!(
            config.credentials_for(&image("ghcr.io/team-a/app")),
            Credentials::basic("a", "2")
        );
        assert_eq!(
            config.credentials_for(&image("ghcr.io/team-b/app")),
            Credentials::basic("any", "3")
        );
        // The keyring matches `docker.io` against `index.docker.io/...` by host parts: no match.
        assert_eq!(
            config.credentials_for(&image("nginx")),
            Credentials::Anonymous
        );
    }

    #[test]
    fn docker_config_errors_never_quote_secrets() {
        let error = DockerConfig::from_json(br#"{"auths": {"r.io": "hunter2"}}"#)
            .expect_err("an entry must be an object");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        let error = DockerConfig::from_json(br#"{"auths": {"r.io": {"auth": "aHVudGVyMg=="}}}"#)
            .expect_err("auth without a colon");
        assert_eq!(
            error.to_string(),
            "docker config entry 'r.io': auth field must be base64(username:password)"
        );
        let missing = DockerConfig::from_secret_data([("other", b"{}".as_slice())]);
        assert!(matches!(missing, Err(DockerConfigError::MissingKey)));
    }

    #[test]
    fn debug_redacts_credentials() {
        let shown = format!(
            "{:?} {:?}",
            Credentials::basic("alice", "hunter2"),
            Credentials::RegistryToken("tok3n".into())
        );
        assert!(!shown.contains("alice") && !shown.contains("hunter2") && !shown.contains("tok3n"));
        let config = DockerConfig::from_json(
            br#"{"auths":{"r.io":{"username":"alice","password":"hunter2"}}}"#,
        )
        .expect("valid");
        let shown = format!("{config:?}");
        assert!(
            shown.contains("r.io") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn tokens_in_docker_config() {
        let config = DockerConfig::from_json(
            br#"{"auths":{"a.io":{"identitytoken":"refresh"},"b.io":{"registrytoken":"bearer"}}}"#,
        )
        .expect("valid");
        assert_eq!(
            config.credentials_for(&image("a.io/x")),
            Credentials::IdentityToken("refresh".into())
        );
        assert_eq!(
            config.credentials_for(&image("b.io/x")),
            Credentials::RegistryToken("bearer".into())
        );
    }
}
