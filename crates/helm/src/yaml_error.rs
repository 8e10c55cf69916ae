//! Helm's wording of invalid YAML: what `sigs.k8s.io/yaml` (go-yaml v2 over libyaml) prints,
//! `error converting YAML to JSON: yaml: line N: <problem>`, rebuilt from tether's parser
//! error. libyaml names the problem differently and counts lines its own way: a parser
//! error gives the 0-based line of the token it stopped at, a scanner error the 1-based line,
//! and no line at all when that number is 0; composer errors (unknown anchors) give none.
//! Problems this table does not know keep tether's text, still in Helm's framing.

use tether_core::yaml::{YamlError, YamlErrorKind};

/// Which libyaml stage reports a problem, which decides the line it prints.
#[derive(Clone, Copy)]
enum Stage {
    /// Scanner errors: 1-based line of the problem (omitted on the first line).
    Scanner,
    /// Parser errors: 0-based line of the problem.
    Parser,
    /// Parser errors found at the end of the text (unclosed flow collections).
    ParserAtEnd,
}

/// tether's message prefix, libyaml's problem, the stage reporting it.
const PROBLEMS: &[(&str, &str, Stage)] = &[
    (
        tether_core::yaml::TAB_STARTS_TOKEN,
        tether_core::yaml::TAB_STARTS_TOKEN,
        Stage::Scanner,
    ),
    (
        tether_core::yaml::TAB_IN_PLAIN_INDENT,
        tether_core::yaml::TAB_IN_PLAIN_INDENT,
        Stage::Scanner,
    ),
    (
        tether_core::yaml::TAB_IN_BLOCK_INDENT,
        tether_core::yaml::TAB_IN_BLOCK_INDENT,
        Stage::Scanner,
    ),
    (
        "mapping values are not allowed in this context",
        "mapping values are not allowed in this context",
        Stage::Scanner,
    ),
    (
        "unclosed bracket '['",
        "did not find expected ',' or ']'",
        Stage::ParserAtEnd,
    ),
    (
        "unclosed brace '{'",
        "did not find expected ',' or '}'",
        Stage::ParserAtEnd,
    ),
    (
        "unclosed bracket '{'",
        "did not find expected ',' or '}'",
        Stage::ParserAtEnd,
    ),
    (
        "while parsing a block mapping, did not find expected key",
        "did not find expected key",
        Stage::Parser,
    ),
    (
        "while parsing a block collection, did not find expected '-' indicator",
        "did not find expected '-' indicator",
        Stage::Parser,
    ),
    (
        "misplaced bracket",
        "did not find expected key",
        Stage::Parser,
    ),
    (
        "unexpected character",
        "found character that cannot start any token",
        Stage::Scanner,
    ),
    (
        "unsupported YAML major version",
        "found incompatible YAML document",
        Stage::Parser,
    ),
    (
        "while parsing a quoted scalar, found unknown escape character",
        "found unknown escape character",
        Stage::Scanner,
    ),
];

/// `yaml: ...` as go-yaml v2 words the error `e` found in `text`.
pub(crate) fn go_yaml_v2(e: &YamlError, text: &str) -> String {
    if e.kind == YamlErrorKind::NotJson {
        let go_key = e
            .message
            .strip_prefix("unsupported map key: ")
            .and_then(|key| serde_json::from_str::<serde_json::Value>(key).ok())
            .and_then(|key| go_sharp_v(&key));
        return match go_key {
            Some(key) => format!("yaml: invalid map key: {key}"),
            // `encoding/json` refusing the decoded value: its own words, no `yaml:`.
            None if e.message.starts_with("json: ") => e.message.clone(),
            None => format!("yaml: {}", e.message),
        };
    }
    // A tagged scalar of another type: go-yaml v2 panics with no position.
    if e.message
        .starts_with(tether_core::yaml::DECODE_ERROR_PREFIX)
        || e.message == tether_core::yaml::BINARY_ERROR
    {
        return format!("yaml: {}", e.message);
    }
    let end_line = text.matches('\n').count();
    if e.message
        .starts_with("while parsing node, found unknown anchor")
    {
        return format!("yaml: unknown anchor '{}' referenced", alias_at(e, text));
    }
    // A quoted scalar left open: libyaml reaches the end of the text inside it.
    let open_quote = e.message.starts_with("unclosed quote")
        || e.message
            .starts_with("invalid indentation in multiline quoted scalar")
            && e.line.saturating_sub(1) == end_line;
    if open_quote {
        return with_line(scanner_line(end_line + 1), "found unexpected end of stream");
    }
    // A flow collection or quoted scalar standing where a key of the enclosing block mapping
    // must be: libyaml takes it for a key and fails when it is not followed by `:`, on the
    // line where it meets the next token (a closing bracket on the same line).
    let key_like = [
        "misplaced bracket",
        "invalid trailing content after",
        "simple key expected ':'",
    ]
    .iter()
    .any(|p| e.message.starts_with(p))
        || e.message.starts_with("unclosed b");
    let starts = text
        .lines()
        .nth(e.line.saturating_sub(1))
        .map(|l| l.trim_start_matches(' '))
        .unwrap_or("");
    let token_at_line_start = if e.message.starts_with("invalid trailing content after") {
        starts.starts_with(['"', '\''])
    } else if e.message.starts_with("simple key expected") {
        true
    } else {
        starts.starts_with(['[', '{'])
    };
    if key_like && token_at_line_start && stands_at_key_column(text, e.line) {
        if e.message.starts_with("misplaced bracket") {
            return with_line(scanner_line(e.line), "could not find expected ':'");
        }
        if e.message.starts_with("unclosed b") {
            return with_line(scanner_line(end_line + 1), "could not find expected ':'");
        }
        let (line, first) = next_token_line(text, e.line);
        let problem = if matches!(first, Some('@' | '`' | '\t')) {
            tether_core::yaml::TAB_STARTS_TOKEN
        } else {
            "could not find expected ':'"
        };
        return with_line(scanner_line(line), problem);
    }
    // A flow collection left open right after `[`, `{` or `,`: libyaml wants a node there.
    if e.message.starts_with("unclosed b") {
        let rest: Vec<&str> = text
            .lines()
            .map(|l| l.split(" #").next().unwrap_or(l).trim())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        if rest.last().is_some_and(|l| l.ends_with(['[', '{', ','])) {
            return with_line(end_line, "did not find expected node content");
        }
    }
    // Text after a quoted scalar: libyaml reads it as the next token, which the enclosing
    // block collection does not expect.
    if e.message.starts_with("invalid trailing content after") {
        let line = text.lines().nth(e.line.saturating_sub(1)).unwrap_or("");
        let problem = if line.trim_start().starts_with("- ") {
            "did not find expected '-' indicator"
        } else {
            "did not find expected key"
        };
        return with_line(e.line.saturating_sub(1), problem);
    }
    match PROBLEMS
        .iter()
        .find(|(ours, _, _)| e.message.starts_with(ours))
    {
        Some((_, theirs, Stage::Scanner)) => with_line(scanner_line(e.line), theirs),
        Some((_, theirs, Stage::Parser)) => with_line(e.line.saturating_sub(1), theirs),
        Some((_, theirs, Stage::ParserAtEnd)) => with_line(end_line, theirs),
        None => with_line(e.line, &e.message),
    }
}

/// Whether the text on 1-based `line` starts at the column of the keys of a block mapping
/// above it (libyaml's "required" simple key): the nearest earlier line indented no deeper is
/// indented as much and holds a `key:`.
fn stands_at_key_column(text: &str, line: usize) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    let Some(here) = line.checked_sub(1).and_then(|i| lines.get(i)) else {
        return false;
    };
    let column = here.len() - here.trim_start_matches(' ').len();
    let above = lines[..line - 1].iter().rev().find(|l| {
        let t = l.trim_start_matches(' ');
        !t.is_empty() && !t.starts_with('#') && l.len() - t.len() <= column
    });
    above.is_some_and(|l| {
        let t = l.trim_start_matches(' ');
        l.len() - t.len() == column
            && !t.starts_with("- ")
            && (t.contains(": ") || t.ends_with(':'))
    })
}

/// The 1-based line of the first token after `line` (comments and blank lines skipped; the
/// line past the end when there is none), and its first character.
fn next_token_line(text: &str, line: usize) -> (usize, Option<char>) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate().skip(line) {
        let t = l.trim_start_matches(' ');
        if !t.is_empty() && !t.starts_with('#') {
            return (i + 1, t.chars().next());
        }
    }
    (text.matches('\n').count() + 1, None)
}

/// `error converting YAML to JSON: yaml: ...`, as `sigs.k8s.io/yaml` wraps it.
pub(crate) fn converting(e: &YamlError, text: &str) -> String {
    format!("error converting YAML to JSON: {}", go_yaml_v2(e, text))
}

/// A scanner error's line: 1-based, but libyaml prints none when the 0-based line is 0.
fn scanner_line(line: usize) -> usize {
    if line <= 1 { 0 } else { line }
}

fn with_line(line: usize, problem: &str) -> String {
    if line == 0 {
        format!("yaml: {problem}")
    } else {
        format!("yaml: line {line}: {problem}")
    }
}

/// The anchor name of the alias (`*name`) at the error's position.
fn alias_at(e: &YamlError, text: &str) -> String {
    let line = text.lines().nth(e.line.saturating_sub(1)).unwrap_or("");
    let rest: String = line.chars().skip(e.column.saturating_sub(1)).collect();
    rest.trim_start_matches('*')
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
        .collect()
}

/// Go's `%#v` of a map key go-yaml v2 decoded (strings, integers, booleans, and sequences
/// and maps of them); `None` for what it would print otherwise (floats, nulls).
fn go_sharp_v(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value as J;
    let element = |v: &J| -> Option<String> {
        match v {
            J::Null => Some("interface {}(nil)".to_owned()),
            other => go_sharp_v(other),
        }
    };
    match v {
        J::String(s) => Some(tether_gotemplate::quote(s)),
        J::Bool(b) => Some(b.to_string()),
        J::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        J::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(element).collect();
            Some(format!("[]interface {{}}{{{}}}", parts?.join(", ")))
        }
        J::Object(map) => {
            let mut parts = Vec::new();
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for k in keys {
                let value = element(&map[k])?;
                parts.push(format!("{}:{value}", tether_gotemplate::quote(k)));
            }
            Some(format!(
                "map[interface {{}}]interface {{}}{{{}}}",
                parts.join(", ")
            ))
        }
        _ => None,
    }
}
