//! ConfigMap and Secret generators, their `behavior` (create, merge, replace) and the content
//! hash suffix kustomize appends to generated names.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tether_core::gojson::write_string;

use crate::build::Ctx;
use crate::error::{Error, Result};
use crate::kustfile::{GeneratorArgs, GeneratorOptions, Kustomization};
use crate::resource::{Behavior, Resource};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    ConfigMap,
    Secret,
}

/// Runs `configMapGenerator` then `secretGenerator`, absorbing each result into `acc`.
pub fn run_generators(
    ctx: &Ctx<'_>,
    dir: &str,
    k: &Kustomization,
    acc: &mut Vec<Resource>,
) -> Result<()> {
    for args in &k.config_map_generator {
        let mut r = generate(
            ctx,
            dir,
            args,
            k.generator_options.as_ref(),
            Kind::ConfigMap,
        )?;
        r.origin = crate::metadata::generator_origin(ctx, dir, "ConfigMapGenerator");
        absorb(acc, r)?;
    }
    for args in &k.secret_generator {
        let mut r = generate(ctx, dir, args, k.generator_options.as_ref(), Kind::Secret)?;
        r.origin = crate::metadata::generator_origin(ctx, dir, "SecretGenerator");
        absorb(acc, r)?;
    }
    Ok(())
}

/// A ConfigMapGenerator (or, `secret`, SecretGenerator) plugin's object, added to `acc` as
/// kustomize absorbs generated objects, with the plugin's `origin`. A plugin has only its own options: a kustomization's
/// `generatorOptions` do not reach it.
pub fn run_plugin(
    ctx: &Ctx<'_>,
    dir: &str,
    args: &GeneratorArgs,
    secret: bool,
    origin: Option<String>,
    acc: &mut Vec<Resource>,
) -> Result<()> {
    let kind = if secret {
        Kind::Secret
    } else {
        Kind::ConfigMap
    };
    let mut r = generate(ctx, dir, args, None, kind)?;
    r.origin = origin;
    absorb(acc, r)
}

fn generate(
    ctx: &Ctx<'_>,
    dir: &str,
    args: &GeneratorArgs,
    global: Option<&GeneratorOptions>,
    kind: Kind,
) -> Result<Resource> {
    if args.name.is_empty() {
        return Err(Error::transform("a configmap must have a name"));
    }
    let options = GeneratorOptions::merged(args.options.as_ref(), global);
    let pairs = load_pairs(ctx, dir, args)?;
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::from("v1"));
    obj.insert(
        "kind".into(),
        Value::from(if kind == Kind::Secret {
            "Secret"
        } else {
            "ConfigMap"
        }),
    );
    let mut meta = Map::new();
    meta.insert("name".into(), Value::from(args.name.clone()));
    if !args.namespace.is_empty() {
        meta.insert("namespace".into(), Value::from(args.namespace.clone()));
    }
    obj.insert("metadata".into(), Value::Object(meta));
    if kind == Kind::Secret {
        let t = if args.secret_type.is_empty() {
            "Opaque"
        } else {
            &args.secret_type
        };
        obj.insert("type".into(), Value::from(t));
    }
    fill_data(&mut obj, &pairs, kind);
    let mut r = Resource::new(Value::Object(obj));
    apply_options(&mut r, &options);
    r.needs_hash = !options.disable_name_suffix_hash;
    r.behavior = parse_behavior(&args.behavior);
    Ok(r)
}

/// kustomize's `NewGenerationBehavior`: anything but the three names is unspecified.
fn parse_behavior(s: &str) -> Behavior {
    match s {
        "create" => Behavior::Create,
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        _ => Behavior::Unspecified,
    }
}

/// Fills `data` (and, for a ConfigMap, `binaryData`): a Secret's values are base64, a
/// ConfigMap's value goes to `data` as text when it is UTF-8 and to `binaryData` as base64
/// when it is not (kyaml's `makeConfigMapValueRNode`).
fn fill_data(obj: &mut Map<String, Value>, pairs: &[(String, Vec<u8>)], kind: Kind) {
    let mut sorted: Vec<&(String, Vec<u8>)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in sorted {
        let (field, value) = match (kind, std::str::from_utf8(v)) {
            (Kind::Secret, _) => ("data", base64_wrapped(v)),
            (Kind::ConfigMap, Ok(text)) => ("data", text.to_string()),
            (Kind::ConfigMap, Err(_)) => ("binaryData", base64_wrapped(v)),
        };
        let data = obj
            .entry(field)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = data.as_object_mut() {
            m.insert(k.clone(), Value::String(value));
        }
    }
    if kind == Kind::Secret && !obj.contains_key("data") {
        obj.insert("data".into(), Value::Object(Map::new()));
    }
}

fn apply_options(r: &mut Resource, options: &GeneratorOptions) {
    let mut labels: Vec<_> = options.labels.iter().collect();
    labels.sort();
    for (k, v) in labels {
        let meta = r.metadata_mut();
        let l = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = l.as_object_mut() {
            m.insert(k.clone(), Value::String(v.clone()));
        }
    }
    let mut annotations: Vec<_> = options.annotations.iter().collect();
    annotations.sort();
    for (k, v) in annotations {
        let meta = r.metadata_mut();
        let a = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = a.as_object_mut() {
            m.insert(k.clone(), Value::String(v.clone()));
        }
    }
    if options.immutable
        && let Some(m) = r.obj.as_object_mut()
    {
        m.insert("immutable".into(), Value::Bool(true));
    }
}

/// Key/value pairs from env files, then literals, then files — kustomize's order.
/// File contents stay bytes: a ConfigMap keeps a file that is not UTF-8 as `binaryData`.
fn load_pairs(ctx: &Ctx<'_>, dir: &str, args: &GeneratorArgs) -> Result<Vec<(String, Vec<u8>)>> {
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for env in &args.envs {
        let (_, bytes) = ctx.read_restricted(dir, env)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::transform(format!("env file '{env}' has invalid utf8 bytes: {e}"))
        })?;
        let entries = parse_env_file(&text)?;
        pairs.extend(entries.into_iter().map(|(k, v)| (k, v.into_bytes())));
    }
    for literal in &args.literals {
        let (k, v) = parse_literal(literal)?;
        pairs.push((k, v.into_bytes()));
    }
    for source in &args.files {
        let (key, path) = parse_file_source(source)?;
        let (_, bytes) = ctx.read_restricted(dir, &path)?;
        pairs.push((key, bytes));
    }
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.clone()) {
            return Err(Error::transform(format!(
                "configmap {} illegally repeats the key `{k}`",
                args.name
            )));
        }
    }
    Ok(pairs)
}

fn parse_literal(source: &str) -> Result<(String, String)> {
    match source.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), remove_quotes(v))),
        _ => Err(Error::transform(format!(
            "invalid literal source {source}, expected key=value"
        ))),
    }
}

fn remove_quotes(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        return s[1..s.len() - 1].to_string();
    }
    s.to_string()
}

fn parse_file_source(source: &str) -> Result<(String, String)> {
    let n = source.matches('=').count();
    match n {
        0 => {
            let base = source.rsplit('/').next().unwrap_or(source);
            Ok((base.to_string(), source.to_string()))
        }
        1 => match source.split_once('=') {
            Some(("", p)) => Err(Error::transform(format!(
                "missing key name for file path \"{p}\" in source \"{source}\""
            ))),
            Some((k, "")) => Err(Error::transform(format!(
                "missing file path for key name \"{k}\" in source \"{source}\""
            ))),
            Some((k, p)) => Ok((k.to_string(), p.to_string())),
            None => Err(Error::transform(format!("invalid file source {source}"))),
        },
        _ => Err(Error::transform(format!(
            "source \"{source}\" key name or file path contains '='"
        ))),
    }
}

fn parse_env_file(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, v),
            None => (line, ""),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(Error::transform(format!(
                "invalid env key '{key}' on line {}",
                i + 1
            )));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

/// Base64 as kyaml writes Secret data: standard alphabet, split into 70-column lines (each
/// followed by a newline) once it is that long.
fn base64_wrapped(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut enc = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                enc.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                enc.push('=');
            }
        }
    }
    const LINE: usize = 70;
    if enc.len() < LINE {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / LINE + 1);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// Adds a generated object, merging into or replacing an existing one per its behaviour.
fn absorb(acc: &mut Vec<Resource>, mut r: Resource) -> Result<()> {
    let id = r.cur_id();
    let matches: Vec<usize> = (0..acc.len())
        .filter(|i| {
            let o = &acc[*i];
            o.cur_id().equals(&id) || o.prev_ids().iter().any(|p| p.equals(&id))
        })
        .collect();
    match (matches.as_slice(), r.behavior) {
        ([], Behavior::Create | Behavior::Unspecified) => {
            acc.push(r);
            Ok(())
        }
        ([], _) => Err(Error::transform(format!(
            "id {id} does not exist; cannot merge or replace"
        ))),
        ([_], Behavior::Create | Behavior::Unspecified) => {
            let name = if r.behavior == Behavior::Create {
                "create"
            } else {
                "unspecified"
            };
            Err(Error::transform(format!(
                "id {id} exists; can not use behavior: '{name}', behavior must be merge or replace"
            )))
        }
        ([i], behavior) => {
            let old = acc[*i].clone();
            merge_meta(&mut r, &old);
            r.transformations = old.transformations.clone();
            if behavior == Behavior::Merge {
                r.origin = old.origin.clone();
                merge_map_field(&mut r, &old, "data");
                merge_map_field(&mut r, &old, "binaryData");
            }
            r.behavior = Behavior::Create;
            acc[*i] = r;
            Ok(())
        }
        _ => Err(Error::transform(format!(
            "found multiple objects that could accept merge of {id}"
        ))),
    }
}

fn merge_meta(r: &mut Resource, old: &Resource) {
    for field in ["labels", "annotations"] {
        let mut merged = Map::new();
        for (k, v) in old.string_map(field).into_iter().chain(r.string_map(field)) {
            merged.insert(k, Value::String(v));
        }
        if !merged.is_empty() {
            r.metadata_mut().insert(field.into(), Value::Object(merged));
        }
    }
    r.set_name(&old.name());
    let ns = old.namespace();
    if ns.is_empty() {
        r.metadata_mut().remove("namespace");
    } else {
        r.set_namespace(&ns);
    }
    r.prev = old.prev.clone();
    r.prefixes = old.prefixes.clone();
    r.suffixes = old.suffixes.clone();
    // kustomize keeps the existing object's build annotations and drops the hash one when the
    // new generator disabled it: a hash only when both asked for one.
    r.needs_hash = old.needs_hash && r.needs_hash;
}

fn merge_map_field(r: &mut Resource, old: &Resource, field: &str) {
    let mut merged = old
        .obj
        .get(field)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(new) = r.obj.get(field).and_then(Value::as_object) {
        for (k, v) in new {
            merged.insert(k.clone(), v.clone());
        }
    }
    if !merged.is_empty()
        && let Some(m) = r.obj.as_object_mut()
    {
        m.insert(field.into(), Value::Object(merged));
    }
}

/// Appends `-<hash>` to the names of generated objects that still need it.
pub fn add_hashes(acc: &mut [Resource]) -> Result<()> {
    for r in acc.iter_mut().filter(|r| r.needs_hash) {
        let hash = content_hash(&r.obj);
        r.store_previous_id();
        let name = format!("{}-{hash}", r.name());
        r.set_name(&name);
        r.needs_hash = false;
    }
    Ok(())
}

/// kustomize's content hash: JSON of selected fields, SHA-256, first 10 hex digits with some
/// digits and letters swapped so the result never looks like a word or a number.
pub fn content_hash(obj: &Value) -> String {
    let field = |k: &str| obj.get(k).cloned().unwrap_or(Value::from(""));
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut m = Map::new();
    m.insert("kind".into(), Value::from(kind));
    m.insert("name".into(), Value::from(""));
    m.insert("data".into(), field("data"));
    if kind == "Secret" {
        m.insert("type".into(), field("type"));
        if let Some(s @ Value::Object(_)) = obj.get("stringData") {
            m.insert("stringData".into(), s.clone());
        }
    } else if let Some(b @ Value::Object(_)) = obj.get("binaryData") {
        m.insert("binaryData".into(), b.clone());
    }
    let encoded = if kind == "ConfigMap" || kind == "Secret" {
        go_json(&Value::Object(m))
    } else {
        go_json(obj)
    };
    let digest = Sha256::digest(encoded.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect()
}

/// Go `encoding/json` output: sorted keys, no spaces, `<`, `>`, `&` and U+2028/9 escaped.
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out);
    out
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k, true);
                out.push(':');
                if let Some(val) = m.get(*k) {
                    write_go_json(val, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(out, s, true),
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_wraps_at_seventy() {
        assert_eq!(base64_wrapped(b"admin"), "YWRtaW4=");
        let long = base64_wrapped(&[b'x'; 60]);
        assert!(long.ends_with('\n') && long.lines().next().map(str::len) == Some(70));
    }

    #[test]
    fn env_files_skip_comments() -> Result<()> {
        let pairs = parse_env_file("# c\n\nA=1\n  B=x=y\nC\n")?;
        assert_eq!(
            pairs,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "x=y".into()),
                ("C".into(), "".into())
            ]
        );
        Ok(())
    }
}
