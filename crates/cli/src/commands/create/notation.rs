//! `create secret notation`: the Secret an OCIRepository's `verify.provider: notation` reads,
//! as `flux create secret notation` makes it: each `--ca-cert-file` under its file name and the
//! `--trust-policy-file` under `trustpolicy.json`, as given. The trust policy is checked first
//! by the rules of notation-go's `trustpolicy.Document.Validate`, with its messages, so a
//! policy the controller would refuse never reaches the cluster.

use super::flags::object_name;
use super::secret::{export_or_store, make_secret};
use crate::cli::{CreateArgs, CreateSecretNotationArgs};
use anyhow::bail;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The key of the trust policy in the Secret.
const TRUST_POLICY_KEY: &str = "trustpolicy.json";

pub fn create_notation(
    args: &CreateArgs,
    notation: &CreateSecretNotationArgs,
) -> anyhow::Result<()> {
    let name = object_name(&notation.name)?;
    if notation.ca_cert_file.is_empty() {
        bail!("--ca-cert-file is required");
    }
    if notation.trust_policy_file.is_empty() {
        bail!("--trust-policy-file is required");
    }
    let labels = super::flags::parse_labels(&args.labels)?;
    let file = &notation.trust_policy_file;
    let policy = std::fs::read(file).map_err(|e| {
        anyhow::anyhow!(
            "unable to read trust policy file: {}",
            go_read_error(file, &e)
        )
    })?;
    let document = go_json_document(&policy)
        .map_err(|e| anyhow::anyhow!("failed to unmarshal trust policy {file}: {e}"))?;
    validate_document(&document).map_err(|e| anyhow::anyhow!("invalid trust policy: {e}"))?;
    let mut data = BTreeMap::new();
    let mut errors = Vec::new();
    for path in &notation.ca_cert_file {
        let file_name = Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.clone());
        if !file_name.ends_with(".crt") && !file_name.ends_with(".pem") {
            errors.push(format!("{file_name} must end with either .crt or .pem"));
            continue;
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                data.insert(file_name, String::from_utf8_lossy(&bytes).into_owned());
            }
            Err(e) => errors.push(format!(
                "unable to read TLS CA file: {}",
                go_read_error(path, &e)
            )),
        }
    }
    if !errors.is_empty() {
        // Go's errors.Join: one message per line.
        bail!(errors.join("\n"));
    }
    data.insert(
        TRUST_POLICY_KEY.to_owned(),
        String::from_utf8_lossy(&policy).into_owned(),
    );
    let secret = make_secret(&name, args.namespace(), labels, None, data);
    export_or_store(args, secret, "notation configuration", true)
}

/// `os.ReadFile`'s error: `open PATH: ...`, or `read PATH: is a directory`.
fn go_read_error(path: &str, error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::IsADirectory || Path::new(path).is_dir() {
        return format!("read {path}: is a directory");
    }
    super::flags::go_open_error(path, error)
}

/// The document as Go's `encoding/json` reads it into notation's `Document`: `null` is an
/// empty document; any other non-object is refused with Go's words.
fn go_json_document(bytes: &[u8]) -> Result<Value, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            "unexpected end of JSON input".to_owned()
        } else {
            e.to_string()
        }
    })?;
    match &value {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => {
            check_go_types(&value, DOCUMENT, "Document", "")?;
            Ok(value)
        }
        other => Err(format!(
            "json: cannot unmarshal {} into Go value of type trustpolicy.Document",
            json_kind(other)
        )),
    }
}

/// The Go type of a field of notation's trust policy structs.
enum GoType {
    String,
    Strings,
    /// A struct, by its Go name and fields.
    Struct(&'static str, &'static [(&'static str, GoType)]),
    /// `[]trustpolicy.TrustPolicy`.
    Statements,
    /// `map[ValidationType]ValidationAction`.
    Overrides,
}

const VERIFICATION: &[(&str, GoType)] =
    &[("level", GoType::String), ("override", GoType::Overrides)];
const STATEMENT: &[(&str, GoType)] = &[
    ("name", GoType::String),
    ("registryScopes", GoType::Strings),
    (
        "signatureVerification",
        GoType::Struct("SignatureVerification", VERIFICATION),
    ),
    ("trustStores", GoType::Strings),
    ("trustedIdentities", GoType::Strings),
];
const DOCUMENT: &[(&str, GoType)] = &[
    ("version", GoType::String),
    ("trustPolicies", GoType::Statements),
];

/// Go's `UnmarshalTypeError` for the first value (in document order) whose JSON type does not
/// fit its field: `json: cannot unmarshal number into Go struct field Document.version of type
/// string`. Unknown keys are ignored, as Go ignores them; `null` leaves a field empty.
fn check_go_types(
    object: &Value,
    fields: &[(&str, GoType)],
    go_struct: &str,
    path: &str,
) -> Result<(), String> {
    let Some(map) = object.as_object() else {
        return Ok(());
    };
    for (key, value) in map {
        let Some((_, field)) = fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
        else {
            continue;
        };
        let path = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let mismatch = |json: &Value, go_type: &str| {
            Err(format!(
                "json: cannot unmarshal {} into Go struct field {go_struct}.{path} of type {go_type}",
                json_kind(json)
            ))
        };
        match (field, value) {
            (_, Value::Null) | (GoType::String, Value::String(_)) => {}
            (GoType::String, other) => return mismatch(other, "string"),
            (GoType::Strings, Value::Array(items)) => {
                if let Some(bad) = items.iter().find(|i| !i.is_string() && !i.is_null()) {
                    return mismatch(bad, "string");
                }
            }
            (GoType::Strings, other) => return mismatch(other, "[]string"),
            (GoType::Struct(name, inner), Value::Object(_)) => {
                check_go_types(value, inner, name, &path)?;
            }
            (GoType::Struct(name, _), other) => {
                return mismatch(other, &format!("trustpolicy.{name}"));
            }
            (GoType::Statements, Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::Object(_) => check_go_types(item, STATEMENT, "TrustPolicy", &path)?,
                        Value::Null => {}
                        other => return mismatch(other, "trustpolicy.TrustPolicy"),
                    }
                }
            }
            (GoType::Statements, other) => return mismatch(other, "[]trustpolicy.TrustPolicy"),
            (GoType::Overrides, Value::Object(entries)) => {
                if let Some(bad) = entries.values().find(|v| !v.is_string() && !v.is_null()) {
                    return mismatch(bad, "trustpolicy.ValidationAction");
                }
            }
            (GoType::Overrides, other) => {
                return mismatch(
                    other,
                    "map[trustpolicy.ValidationType]trustpolicy.ValidationAction",
                );
            }
        }
    }
    Ok(())
}

/// notation-go's `Document.Validate`.
fn validate_document(document: &Value) -> Result<(), String> {
    let version = document["version"].as_str().unwrap_or_default();
    if version.is_empty() {
        return Err("trust policy document has empty version, version must be specified".into());
    }
    if version != "1.0" {
        return Err(format!(
            "trust policy document uses unsupported version {version:?}"
        ));
    }
    let statements = document["trustPolicies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if statements.is_empty() {
        return Err("trust policy document can not have zero trust policy statements".into());
    }
    let mut names = Vec::new();
    for statement in &statements {
        let name = statement["name"].as_str().unwrap_or_default();
        if names.contains(&name) {
            return Err(format!(
                "multiple trust policy statements use the same name {name:?}, statement names must be unique"
            ));
        }
        validate_statement(statement).map_err(|e| format!("trust policy: {e}"))?;
        names.push(name);
    }
    validate_registry_scopes(&statements)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn strings(value: &Value) -> Vec<&str> {
    let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|v| v.as_str().unwrap_or_default())
        .collect()
}

/// One statement: its name, verification level, trust stores and trusted identities.
fn validate_statement(statement: &Value) -> Result<(), String> {
    let name = statement["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(
            "a trust policy statement is missing a name, every statement requires a name".into(),
        );
    }
    let level = verification_level(&statement["signatureVerification"]).map_err(|e| {
        format!("trust policy statement {name:?} has invalid signatureVerification: {e}")
    })?;
    let stores = strings(&statement["trustStores"]);
    let identities = strings(&statement["trustedIdentities"]);
    if level == "skip" {
        if !stores.is_empty() || !identities.is_empty() {
            return Err(format!(
                "trust policy statement {name:?} is set to skip signature verification but configured with trust stores and/or trusted identities, remove them if signature verification needs to be skipped"
            ));
        }
        return Ok(());
    }
    if stores.is_empty() || identities.is_empty() {
        return Err(format!(
            "trust policy statement {name:?} is either missing trust stores or trusted identities, both must be specified"
        ));
    }
    validate_trust_stores(name, &stores)?;
    validate_identities(name, &identities)
}

const LEVELS: [&str; 4] = ["strict", "permissive", "audit", "skip"];
const VALIDATION_TYPES: [&str; 5] = [
    "integrity",
    "authenticity",
    "authenticTimestamp",
    "expiry",
    "revocation",
];
const VALIDATION_ACTIONS: [&str; 3] = ["enforce", "log", "skip"];

/// The statement's level name, its overrides checked.
fn verification_level(verification: &Value) -> Result<&str, String> {
    let level = verification["level"].as_str().unwrap_or_default();
    if level.is_empty() {
        return Err(
            "signature verification level is empty or missing in the trust policy statement".into(),
        );
    }
    if !LEVELS.contains(&level) {
        return Err(format!("invalid signature verification level {level:?}"));
    }
    let overrides = verification["override"].as_object();
    let Some(overrides) = overrides.filter(|o| !o.is_empty()) else {
        return Ok(level);
    };
    if level == "skip" {
        return Err(format!(
            "signature verification level {level:?} can't be used to customize signature verification"
        ));
    }
    let quoted = |items: &[&str]| {
        let items: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
        format!("[{}]", items.join(" "))
    };
    for (key, value) in overrides {
        let action = value.as_str().unwrap_or_default();
        if !VALIDATION_TYPES.contains(&key.as_str()) {
            return Err(format!(
                "verification type {key:?} in custom signature verification is not supported, supported values are {}",
                quoted(&VALIDATION_TYPES)
            ));
        }
        if !VALIDATION_ACTIONS.contains(&action) {
            return Err(format!(
                "verification action {action:?} in custom signature verification is not supported, supported values are {}",
                quoted(&VALIDATION_ACTIONS)
            ));
        }
        if key == "integrity" {
            return Err(format!(
                "{key:?} verification can not be overridden in custom signature verification"
            ));
        }
        if key != "revocation" && action == "skip" {
            return Err(format!(
                "{key:?} verification can not be skipped in custom signature verification"
            ));
        }
    }
    Ok("custom")
}

fn validate_trust_stores(name: &str, stores: &[&str]) -> Result<(), String> {
    for store in stores {
        let Some((kind, store_name)) = store.split_once(':') else {
            return Err(format!(
                "trust policy statement {name:?} has malformed trust store value {store:?}. The required format is <TrustStoreType>:<TrustStoreName>"
            ));
        };
        if !["ca", "signingAuthority", "tsa"].contains(&kind) {
            return Err(format!(
                "trust policy statement {name:?} uses an unsupported trust store type {kind:?} in trust store value {store:?}"
            ));
        }
        let valid = !store_name.is_empty()
            && store_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !valid {
            return Err(format!(
                "trust policy statement {name:?} uses an unsupported trust store name {store_name:?} in trust store value {store:?}. Named store name needs to follow [a-zA-Z0-9_.-]+ format"
            ));
        }
    }
    Ok(())
}

fn validate_identities(name: &str, identities: &[&str]) -> Result<(), String> {
    if identities.len() > 1 && identities.contains(&"*") {
        return Err(format!(
            "trust policy statement {name:?} uses a wildcard trusted identity '*', a wildcard identity cannot be used in conjunction with other values"
        ));
    }
    let mut parsed: Vec<(&str, BTreeMap<String, String>)> = Vec::new();
    for identity in identities {
        if identity.is_empty() {
            return Err(format!(
                "trust policy statement {name:?} has an empty trusted identity"
            ));
        }
        if *identity == "*" {
            continue;
        }
        let Some((prefix, value)) = identity.split_once(':') else {
            return Err(format!(
                "trust policy statement {name:?} has trusted identity {identity:?} missing separator"
            ));
        };
        if prefix != "x509.subject" {
            continue;
        }
        if value.is_empty() {
            return Err(format!(
                "trust policy statement {name:?} has trusted identity {identity:?} without an identity value"
            ));
        }
        let dn = parse_dn(value).map_err(|e| {
            format!("trust policy statement {name:?} has trusted identity {identity:?} with invalid identity value: {e}")
        })?;
        parsed.push((identity, dn));
    }
    for (i, (smaller, small)) in parsed.iter().enumerate() {
        for (j, (larger, large)) in parsed.iter().enumerate() {
            if i != j && small.iter().all(|(k, v)| large.get(k) == Some(v)) {
                return Err(format!(
                    "trust policy statement {name:?} has overlapping x509 trustedIdentities, {smaller:?} overlaps with {larger:?}"
                ));
            }
        }
    }
    Ok(())
}

/// An X.509 subject (RFC 4514) as notation reads it: single-valued, unique attributes, with
/// C, ST (or S) and O present.
fn parse_dn(dn: &str) -> Result<BTreeMap<String, String>, String> {
    let parse_error = |why: &str| {
        format!(
            "parsing distinguished name (DN) {dn:?} failed with err: {why}. A valid DN must contain 'C', 'ST' or 'S', and 'O' RDN attributes at a minimum, and follow RFC 4514 standard"
        )
    };
    let mut attributes = BTreeMap::new();
    let parts = split_unescaped(dn);
    let last = parts.len().saturating_sub(1);
    for (index, (part, separator)) in parts.iter().enumerate() {
        let pair = part.split_once('=').map(|(k, v)| (k.trim(), v.trim()));
        let Some((key, value)) = pair.filter(|(k, v)| !k.is_empty() && !v.is_empty()) else {
            let why = if index == last {
                "DN ended with incomplete type, value pair"
            } else {
                "incomplete type, value pair"
            };
            return Err(parse_error(why));
        };
        if *separator == Some('+') {
            return Err(format!(
                "distinguished name (DN) {dn:?} has multi-valued RDN attributes, remove multi-valued RDN attributes as they are not supported"
            ));
        }
        let key = if key == "S" { "ST" } else { key };
        if attributes
            .insert(key.to_owned(), value.replace("\\", ""))
            .is_some()
        {
            return Err(format!(
                "distinguished name (DN) {dn:?} has duplicate RDN attribute for {key:?}, DN can only have unique RDN attributes"
            ));
        }
    }
    for mandatory in ["C", "ST", "O"] {
        if !attributes.contains_key(mandatory) {
            return Err(format!(
                "distinguished name (DN) {dn:?} has no mandatory RDN attribute for {mandatory:?}, it must contain 'C', 'ST' or 'S', and 'O' RDN attributes at a minimum"
            ));
        }
    }
    Ok(attributes)
}

/// The parts between unescaped `,` and `+`, each with the separator that ends it.
fn split_unescaped(dn: &str) -> Vec<(String, Option<char>)> {
    let (mut parts, mut current, mut escaped) = (Vec::new(), String::new(), false);
    for c in dn.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' => {
                current.push(c);
                escaped = true;
            }
            ',' | '+' => parts.push((std::mem::take(&mut current), Some(c))),
            _ => current.push(c),
        }
    }
    parts.push((current, None));
    parts
}

/// Every statement names at least one valid registry scope, `*` alone, each scope in one
/// statement only.
fn validate_registry_scopes(statements: &[Value]) -> Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    for statement in statements {
        let name = statement["name"].as_str().unwrap_or_default();
        let scopes = strings(&statement["registryScopes"]);
        if scopes.is_empty() {
            return Err(format!(
                "trust policy statement {name:?} has zero registry scopes, it must specify registry scopes with at least one value"
            ));
        }
        if scopes.len() > 1 && scopes.contains(&"*") {
            return Err(format!(
                "trust policy statement {name:?} uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values"
            ));
        }
        for scope in scopes {
            if scope != "*" {
                validate_scope(scope)?;
            }
            if seen.contains(&scope) {
                return Err(format!(
                    "registry scope {scope:?} is present in multiple trust policy statements, one registry scope value can only be associated with one statement"
                ));
            }
            seen.push(scope);
        }
    }
    Ok(())
}

/// A repository without scheme or tag: `domain[:port]/path`, the path in lower case.
fn validate_scope(scope: &str) -> Result<(), String> {
    let ensure = "make sure it is a fully qualified repository without the scheme, protocol or tag. For example domain.com/my/repository or a local scope like local/myOCILayout";
    if scope.len() > 1 && scope.contains('*') {
        return Err(format!(
            "registry scope {scope:?} with wild card(s) is not valid, {ensure}"
        ));
    }
    let invalid = || format!("registry scope {scope:?} is not valid, {ensure}");
    let (domain, repository) = scope.split_once('/').ok_or_else(invalid)?;
    if !valid_domain(domain) || !valid_repository(repository) {
        return Err(invalid());
    }
    Ok(())
}

fn valid_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    !host.is_empty() && host.split('.').all(label_ok) && port_ok
}

fn valid_repository(repository: &str) -> bool {
    let component_ok = |component: &str| {
        let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        let (Some(first), Some(last)) = (component.chars().next(), component.chars().last()) else {
            return false;
        };
        if !alnum(first) || !alnum(last) {
            return false;
        }
        // Separators between alphanumeric runs: `.`, `_`, `__` or any number of `-`.
        let mut run = String::new();
        for c in component.chars() {
            if alnum(c) {
                if !(run.is_empty()
                    || run == "."
                    || run == "_"
                    || run == "__"
                    || run.chars().all(|s| s == '-'))
                {
                    return false;
                }
                run.clear();
            } else if ".-_".contains(c) {
                run.push(c);
            } else {
                return false;
            }
        }
        true
    };
    repository.split('/').all(component_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(statement: Value) -> Value {
        json!({"version": "1.0", "trustPolicies": [statement]})
    }

    #[test]
    fn the_documented_policy_is_valid() {
        let statement = json!({"name": "fluxcd.io", "registryScopes": ["*"],
            "signatureVerification": {"level": "strict"}, "trustStores": ["ca:fluxcd.io"],
            "trustedIdentities": ["*"]});
        assert_eq!(validate_document(&policy(statement)), Ok(()));
    }

    #[test]
    fn subjects_need_country_state_and_organization_once_each() {
        assert!(parse_dn("C=US, S=WA, O=x").is_ok());
        let refused = |dn: &str| parse_dn(dn).err().unwrap_or_default();
        let missing = refused("C=US,O=x");
        assert!(
            missing.contains("no mandatory RDN attribute for \"ST\""),
            "{missing}"
        );
        let twice = refused("C=US,C=UK,ST=WA,O=x");
        assert!(
            twice.contains("duplicate RDN attribute for \"C\""),
            "{twice}"
        );
        assert!(refused("C=US,ST=WA,O=x,").contains("DN ended with incomplete"));
        assert!(refused("C=US+ST=WA,O=x").contains("multi-valued"));
    }

    #[test]
    fn registry_scopes_are_repositories_without_tags() {
        assert!(validate_scope("localhost:5000/b/c").is_ok());
        assert!(validate_scope("ghcr.io/org/app__x").is_ok());
        for bad in ["a.io", "a.io/B", "a.io/b*", "a.io/b:1.0", "-a.io/b"] {
            assert!(validate_scope(bad).is_err(), "{bad}");
        }
    }
}
