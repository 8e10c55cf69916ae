//! Flux's reading of `flux create` flag values: Go durations and booleans, the provider and
//! kind lists of its `internal/flags`, `[<kind>/]<name>[.<namespace>]` references, safe relative
//! paths, `dependsOn` lists, URL schemes and `--label`. A value Flux refuses while parsing gets
//! cobra's message, `invalid argument "<value>" for "--<flag>" flag: <why>`.

use anyhow::bail;
use std::collections::BTreeMap;
use std::time::Duration as StdDuration;
use tether_api::meta::{DependencyReference, Duration};

/// cobra's error for a flag value its `Set` refused.
pub fn flag_error(flag: &str, value: &str, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "invalid argument {} for \"--{flag}\" flag: {why}",
        go_quote(value)
    )
}

/// Go's `strconv.Quote` for the strings flags hold: `"`, `\` and control characters escaped.
pub fn go_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `open <path>: <why>` in Go's words (`no such file or directory`, `permission denied`).
pub fn go_open_error(path: &str, error: &std::io::Error) -> String {
    let why = match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_owned(),
        _ => error.to_string(),
    };
    format!("open {path}: {why}")
}

/// A `DurationVar` flag: `default` when absent, else the value read as Go reads it.
pub fn duration(
    flag: &str,
    value: Option<&str>,
    default: StdDuration,
) -> anyhow::Result<StdDuration> {
    let Some(text) = value else {
        return Ok(default);
    };
    Duration::new(text)
        .and_then(|d| d.to_std())
        .map_err(|_| flag_error(flag, text, &go_duration_error(text)))
}

/// A duration as `metav1.Duration` prints it (`1m0s`, `1h30m0s`).
pub fn go_duration(duration: StdDuration) -> String {
    Duration::from_std(duration).to_string()
}

/// The message of Go's `time.ParseDuration` for a string it refuses.
pub fn go_duration_error(text: &str) -> String {
    let quoted = go_quote(text);
    let invalid = format!("time: invalid duration {quoted}");
    let mut rest = text.strip_prefix(['-', '+']).unwrap_or(text);
    if rest == "0" {
        return invalid;
    }
    if rest.is_empty() {
        return invalid;
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_end];
        if number.is_empty() || number == "." {
            return invalid;
        }
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        if unit.is_empty() {
            return format!("time: missing unit in duration {quoted}");
        }
        if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&unit) {
            return format!("time: unknown unit {} in duration {quoted}", go_quote(unit));
        }
        rest = &rest[unit_end..];
    }
    invalid
}

/// A string flag, `None` when absent or empty (Go's zero value, omitted by `omitempty`).
pub fn non_empty(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.is_empty())
}

/// `Some` unless empty.
pub fn some(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// A `BoolVar` flag: `--flag` alone is true; `--flag=<v>` takes Go's `strconv.ParseBool` values.
pub fn go_bool(flag: &str, value: Option<&str>) -> anyhow::Result<bool> {
    match value {
        None => Ok(false),
        Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(true),
        Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(false),
        Some(other) => Err(flag_error(
            flag,
            other,
            &format!(
                "strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(other)
            ),
        )),
    }
}

/// A provider flag of Flux's `internal/flags`: empty and unknown values refused with its words.
pub struct Choice {
    pub flag: &'static str,
    /// `source Git provider`, `source OCI provider`...
    pub what: &'static str,
    /// What the empty value is told to specify.
    pub description: &'static str,
    pub values: &'static [&'static str],
    /// How the values are listed in the "not supported" message.
    pub separator: &'static str,
}

impl Choice {
    /// The value given, `None` when the flag is absent.
    pub fn parse(&self, value: Option<&str>) -> anyhow::Result<Option<String>> {
        let Some(text) = value else {
            return Ok(None);
        };
        if text.trim().is_empty() {
            let why = format!(
                "no {} given, please specify {}",
                self.what, self.description
            );
            return Err(flag_error(self.flag, text, &why));
        }
        if !self.values.contains(&text) {
            let why = format!(
                "{} '{text}' is not supported, must be one of: {}",
                self.what,
                self.values.join(self.separator)
            );
            return Err(flag_error(self.flag, text, &why));
        }
        Ok(Some(text.to_owned()))
    }
}

/// `--provider` of `create source git`.
pub const GIT_PROVIDER: Choice = Choice {
    flag: "provider",
    what: "source Git provider",
    description: "the Git provider name",
    values: &["generic", "github", "aws", "azure"],
    separator: "|",
};

/// `--provider` of `create source oci`.
pub const OCI_PROVIDER: Choice = Choice {
    flag: "provider",
    what: "source OCI provider",
    description: "the OCI provider name",
    values: &["generic", "aws", "azure", "gcp"],
    separator: ", ",
};

/// `--provider` of `create source bucket`.
pub const BUCKET_PROVIDER: Choice = Choice {
    flag: "provider",
    what: "source bucket provider",
    description: "the S3 compatible storage provider name",
    values: &["generic", "aws", "azure", "gcp"],
    separator: ", ",
};

/// `--verify-provider` of `create source oci`.
pub const OCI_VERIFY_PROVIDER: Choice = Choice {
    flag: "verify-provider",
    what: "source OCI verify provider",
    description: "the OCI verify provider name to use for signature verification, available options are: (cosign)",
    values: &["cosign"],
    separator: ", ",
};

/// A flag whose refusals read `unsupported <what> '<v>', must be one of: ...` and
/// `no <what> given, must be one of: ...` (decryption provider, CRDs policy, key algorithm).
pub fn unsupported_choice(
    flag: &str,
    what: &str,
    values: &[&str],
    value: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let Some(text) = value else {
        return Ok(None);
    };
    let list = values.join(", ");
    if text.trim().is_empty() {
        return Err(flag_error(
            flag,
            text,
            &format!("no {what} given, must be one of: {list}"),
        ));
    }
    if !values.contains(&text) {
        let why = format!("unsupported {what} '{text}', must be one of: {list}");
        return Err(flag_error(flag, text, &why));
    }
    Ok(Some(text.to_owned()))
}

/// A source reference read from `--source`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRef {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

/// `--source` of `create kustomization`: `[<kind>/]<name>[.<namespace>]`, GitRepository when
/// no kind is given.
pub fn kustomization_source(value: Option<&str>) -> anyhow::Result<Option<SourceRef>> {
    const KINDS: &[&str] = &["OCIRepository", "GitRepository", "Bucket"];
    let Some(text) = value else {
        return Ok(None);
    };
    let refuse = |why: String| Err(flag_error("source", text, &why));
    if text.trim().is_empty() {
        return refuse(format!(
            "no Kustomization source given, please specify source that contains the Kubernetes manifests in the format '[<kind>/]<name>.<namespace>', where kind must be one of: ({}), if kind is not specified it defaults to GitRepository",
            KINDS.join(", ")
        ));
    }
    let (kind, name, namespace) = parse_kind_name_namespace(text);
    if name.is_empty() {
        return refuse(format!("no name given for source of kind '{kind}'"));
    }
    let kind = if kind.is_empty() {
        if KINDS.contains(&name.as_str()) {
            return refuse(format!("no kind specified for source '{name}'"));
        }
        "GitRepository".to_owned()
    } else {
        kind
    };
    let Some(kind) = KINDS.iter().find(|k| k.eq_ignore_ascii_case(&kind)) else {
        return refuse(format!(
            "source kind '{kind}' is not supported, must be one of: {}",
            KINDS.join(", ")
        ));
    };
    Ok(Some(SourceRef {
        kind: (*kind).to_owned(),
        name,
        namespace,
    }))
}

/// `--source` of `create helmrelease`: `<kind>/<name>[.<namespace>]`.
pub fn helm_chart_source(value: Option<&str>) -> anyhow::Result<Option<SourceRef>> {
    chart_source(value, true)
}

/// `--source` of `create source chart`: `<kind>/<name>`, in the chart's namespace.
pub fn local_helm_chart_source(value: Option<&str>) -> anyhow::Result<Option<SourceRef>> {
    chart_source(value, false)
}

fn chart_source(value: Option<&str>, namespaced: bool) -> anyhow::Result<Option<SourceRef>> {
    const KINDS: &[&str] = &["HelmRepository", "GitRepository", "Bucket"];
    let Some(text) = value else {
        return Ok(None);
    };
    let refuse = |why: String| Err(flag_error("source", text, &why));
    if text.trim().is_empty() {
        let format = if namespaced {
            "<kind>/<name>.<namespace>"
        } else {
            "<kind>/<name>"
        };
        return refuse(format!(
            "no helm chart source given, please specify source that contains the chart in the format '{format}', where kind must be one of: ({})",
            KINDS.join(", ")
        ));
    }
    let (kind, name, namespace) = if namespaced {
        parse_kind_name_namespace(text)
    } else {
        let (kind, name) = parse_kind_name(text);
        (kind, name, None)
    };
    if kind.is_empty() || name.is_empty() {
        return refuse(format!(
            "invalid helm chart source '{text}', must be in format <kind>/<name>"
        ));
    }
    let Some(kind) = KINDS.iter().find(|k| k.eq_ignore_ascii_case(&kind)) else {
        return refuse(format!(
            "source kind '{kind}' is not supported, must be one of: {}",
            KINDS.join(", ")
        ));
    };
    Ok(Some(SourceRef {
        kind: (*kind).to_owned(),
        name,
        namespace,
    }))
}

/// `<kind>/<name>` with an optional `.<namespace>` after the last dot (Flux's
/// `ParseObjectKindNameNamespace`); no kind when there is no single `/`.
pub fn parse_kind_name_namespace(input: &str) -> (String, String, Option<String>) {
    let (kind, name) = parse_kind_name(input);
    match name.rsplit_once('.') {
        Some((name, namespace)) => (kind, name.to_owned(), Some(namespace.to_owned())),
        None => (kind, name, None),
    }
}

/// `<kind>/<name>` (Flux's `ParseObjectKindName`): no kind unless there is exactly one `/`.
pub fn parse_kind_name(input: &str) -> (String, String) {
    let parts: Vec<&str> = input.split('/').collect();
    match parts[..] {
        [kind, name] => (kind.to_owned(), name.to_owned()),
        _ => (String::new(), input.to_owned()),
    }
}

/// Flux's `SafeRelativePath`: the path cleaned as if joined under `./` (no `..` above it, no
/// absolute path), written `./<path>`.
pub fn safe_relative_path(text: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in text.trim().split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("./{}", parts.join("/"))
}

/// `--depends-on` values as Flux's `MakeDependsOn` reads them: `[<namespace>/]<name>`, a
/// `@<readyExpr>` suffix split off (and, as `flux create` does, not kept).
pub fn depends_on(values: &[String]) -> Vec<DependencyReference> {
    values
        .iter()
        .map(|dep| {
            let dep = dep.split_once('@').map_or(dep.as_str(), |(d, _)| d);
            match dep.split_once('/') {
                Some((namespace, name)) => DependencyReference {
                    name: name.to_owned(),
                    namespace: Some(namespace.to_owned()).filter(|n| !n.is_empty()),
                    ready_expr: None,
                },
                None => DependencyReference {
                    name: dep.to_owned(),
                    namespace: None,
                    ready_expr: None,
                },
            }
        })
        .collect()
}

/// The scheme and host of a URL as Go's `url.Parse` splits them (scheme lower-cased, empty when
/// there is none; host without userinfo).
pub fn url_scheme_host(url: &str) -> (String, String) {
    let scheme_end = url.find(':').filter(|&i| {
        let scheme = &url[..i];
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    let Some(end) = scheme_end else {
        return (String::new(), String::new());
    };
    let scheme = url[..end].to_ascii_lowercase();
    let Some(rest) = url[end + 1..].strip_prefix("//") else {
        return (scheme, String::new());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (scheme, host.to_owned())
}

/// `--label key=value` flags as labels (none: `None`, as Go omits an empty map), refused with
/// the messages of Kubernetes' `IsQualifiedName` and `IsValidLabelValue`.
pub fn parse_labels(labels: &[String]) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    let mut parsed = BTreeMap::new();
    for label in labels {
        let parts: Vec<&str> = label.split('=').collect();
        let [key, value] = parts[..] else {
            bail!("invalid label format '{label}', must be key=value");
        };
        let errors = qualified_name_errors(key);
        if !errors.is_empty() {
            bail!("invalid label '{key}': [{}]", errors.join(" "));
        }
        let errors = label_value_errors(value);
        if !errors.is_empty() {
            bail!("invalid label value '{value}': [{}]", errors.join(" "));
        }
        parsed.insert(key.to_owned(), value.to_owned());
    }
    Ok((!parsed.is_empty()).then_some(parsed))
}

const QUALIFIED_NAME_FORMAT: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/// Kubernetes' `IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain.
pub fn qualified_name_errors(key: &str) -> Vec<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let (prefix, name) = match parts[..] {
        [name] => (None, name),
        [prefix, name] => (Some(prefix), name),
        _ => {
            return vec![format!(
                "a valid label key {QUALIFIED_NAME_FORMAT} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    let mut errors = Vec::new();
    match prefix {
        Some("") => errors.push("prefix part must be non-empty".to_owned()),
        Some(prefix) if !is_dns_subdomain(prefix) => {
            if prefix.len() > 253 {
                errors.push("prefix part must be no more than 253 characters".to_owned());
            } else {
                errors.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_owned());
            }
        }
        _ => {}
    }
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        errors.push("name part must be no more than 63 characters".to_owned());
    }
    if !name.is_empty() && !is_label_pattern(name) {
        errors.push(format!("name part {QUALIFIED_NAME_FORMAT}"));
    }
    errors
}

/// Kubernetes' `IsValidLabelValue`.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > 63 {
        errors.push("must be no more than 63 characters".to_owned());
    }
    if !value.is_empty() && !is_label_pattern(value) {
        errors.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_owned());
    }
    errors
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn is_label_pattern(text: &str) -> bool {
    let alphanumeric = |c: char| c.is_ascii_alphanumeric();
    text.chars().all(|c| alphanumeric(c) || "-_.".contains(c))
        && text.starts_with(alphanumeric)
        && text.ends_with(alphanumeric)
}

fn is_dns_subdomain(text: &str) -> bool {
    let label = |part: &str| {
        let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        !part.is_empty()
            && part.chars().all(|c| alphanumeric(c) || c == '-')
            && part.starts_with(alphanumeric)
            && part.ends_with(alphanumeric)
    };
    text.len() <= 253 && text.split('.').all(label)
}

/// Flux's `validateObjectName`: lower-case alphanumerics and `-`, 2 to 63 characters,
/// alphanumeric at both ends.
pub fn is_valid_object_name(name: &str) -> bool {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (2..=63).contains(&name.len())
        && name.chars().all(|c| alphanumeric(c) || c == '-')
        && name.starts_with(alphanumeric)
        && name.ends_with(alphanumeric)
}

/// The object name: Flux's `name is required` and RFC 1123 checks.
pub fn object_name(name: &Option<String>) -> anyhow::Result<String> {
    let Some(name) = name else {
        bail!("name is required");
    };
    if !is_valid_object_name(name) {
        bail!(
            "name '{name}' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'"
        );
    }
    Ok(name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_and_refused_as_go_does() {
        let minute = StdDuration::from_secs(60);
        assert_eq!(duration("interval", None, minute).ok(), Some(minute));
        let read = duration("interval", Some("1.5h"), minute).expect("valid");
        assert_eq!(go_duration(read), "1h30m0s");
        let error = |text: &str| {
            duration("interval", Some(text), minute)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            error("5"),
            "invalid argument \"5\" for \"--interval\" flag: time: missing unit in duration \"5\""
        );
        assert_eq!(
            error("1q"),
            "invalid argument \"1q\" for \"--interval\" flag: time: unknown unit \"q\" in duration \"1q\""
        );
        assert_eq!(
            error("abc"),
            "invalid argument \"abc\" for \"--interval\" flag: time: invalid duration \"abc\""
        );
    }

    #[test]
    fn sources_parse_as_flux_flags_do() {
        let source = kustomization_source(Some("gitrepository/app.team")).expect("valid");
        assert_eq!(
            source,
            Some(SourceRef {
                kind: "GitRepository".into(),
                name: "app".into(),
                namespace: Some("team".into())
            })
        );
        let defaulted = kustomization_source(Some("app")).expect("valid");
        assert_eq!(defaulted.map(|s| s.kind).as_deref(), Some("GitRepository"));
        assert!(kustomization_source(Some("Bucket")).is_err());
        assert!(helm_chart_source(Some("app")).is_err());
    }

    #[test]
    fn relative_paths_are_confined_like_securejoin() {
        assert_eq!(safe_relative_path("./a/../b"), "./b");
        assert_eq!(safe_relative_path("../../a"), "./a");
        assert_eq!(safe_relative_path("/abs/b/"), "./abs/b");
        assert_eq!(safe_relative_path(""), "./");
    }

    #[test]
    fn url_schemes_and_hosts_split_as_go_does() {
        assert_eq!(
            url_scheme_host("ssh://git@github.com:22/org/repo"),
            ("ssh".into(), "github.com:22".into())
        );
        assert_eq!(
            url_scheme_host("github.com/org/repo"),
            (String::new(), String::new())
        );
        assert_eq!(url_scheme_host("HTTPS://h/x"), ("https".into(), "h".into()));
    }

    #[test]
    fn object_names_follow_rfc_1123_as_flux_checks_them() {
        assert!(is_valid_object_name("flux-system"));
        assert!(is_valid_object_name("a1"));
        assert!(!is_valid_object_name("a"));
        assert!(!is_valid_object_name("Flux"));
        assert!(!is_valid_object_name("-flux"));
        assert!(!is_valid_object_name("flux.system"));
        assert!(!is_valid_object_name(&"a".repeat(64)));
        assert_eq!(
            object_name(&None).err().map(|e| e.to_string()).as_deref(),
            Some("name is required")
        );
    }
}
