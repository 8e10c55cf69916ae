//! The human-readable difference of two objects as `flux diff kustomization` prints it (dyff's
//! human report without its header, no colours, 80 columns): one block per path that changed —
//! `spec.ports.http.port` then `± value change`, `- old`, `+ new` — map entries and list entries
//! added or removed, list order changes. Lists of maps are matched by `name`, `key`, `id` or
//! `manager` when every entry has a distinct one. Pure functions on JSON values.

use serde_json::Value;

/// The width dyff lays blocks side by side in when standard output is not a terminal.
const WIDTH: usize = 80;

/// One step of a path: a map key, a list entry named by its identifier, or a list index.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Named(String),
    Index(usize),
}

#[derive(Debug)]
enum Detail {
    /// Entries present only in the new object: a map or a list of them.
    Added(Value),
    /// Entries present only in the old object.
    Removed(Value),
    /// A value that changed (possibly its type).
    Modified(Value, Value),
    /// The same entries in another order (their names or values).
    Reordered(Vec<String>, Vec<String>),
}

#[derive(Debug)]
struct Difference {
    path: Vec<Step>,
    details: Vec<Detail>,
}

/// The differences between `from` (the live object) and `to` (the dry-run result), as dyff's
/// report lists them, or an empty string when there are none.
pub fn human_report(from: &Value, to: &Value) -> String {
    let mut differences = Vec::new();
    compare(&[], from, to, &mut differences);
    let mut out = String::new();
    for difference in &differences {
        out.push('\n');
        out.push_str(&path_text(&difference.path));
        out.push('\n');
        let blocks: Vec<String> = difference.details.iter().map(detail_text).collect();
        write_blocks(&mut out, 0, &blocks);
    }
    out
}

fn compare(path: &[Step], from: &Value, to: &Value, out: &mut Vec<Difference>) {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => compare_maps(path, a, b, out),
        (Value::Array(a), Value::Array(b)) => compare_lists(path, a, b, out),
        (Value::Null, Value::Null) => {}
        _ if type_name(from) != type_name(to) || scalar_text(from) != scalar_text(to) => {
            out.push(Difference {
                path: path.to_vec(),
                details: vec![Detail::Modified(from.clone(), to.clone())],
            });
        }
        _ => {}
    }
}

fn with(path: &[Step], step: Step) -> Vec<Step> {
    let mut next = path.to_vec();
    next.push(step);
    next
}

fn sorted_keys(map: &serde_json::Map<String, Value>) -> Vec<&String> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    keys
}

fn compare_maps(
    path: &[Step],
    from: &serde_json::Map<String, Value>,
    to: &serde_json::Map<String, Value>,
    out: &mut Vec<Difference>,
) {
    let mut nested = Vec::new();
    let mut removed = serde_json::Map::new();
    for key in sorted_keys(from) {
        match to.get(key) {
            Some(value) => compare(
                &with(path, Step::Key(key.clone())),
                &from[key],
                value,
                &mut nested,
            ),
            None => {
                removed.insert(key.clone(), from[key].clone());
            }
        }
    }
    let mut added = serde_json::Map::new();
    for key in sorted_keys(to) {
        if !from.contains_key(key) {
            added.insert(key.clone(), to[key].clone());
        }
    }
    let mut details = Vec::new();
    if !removed.is_empty() {
        details.push(Detail::Removed(Value::Object(removed)));
    }
    if !added.is_empty() {
        details.push(Detail::Added(Value::Object(added)));
    }
    if !details.is_empty() {
        out.push(Difference {
            path: path.to_vec(),
            details,
        });
    }
    out.append(&mut nested);
}

/// The identifier field every entry of both lists has, with distinct values.
fn identifier(from: &[Value], to: &[Value]) -> Option<&'static str> {
    let unique = |list: &[Value], field: &str| {
        let names: std::collections::HashSet<String> = list
            .iter()
            .filter_map(|entry| entry.get(field).map(scalar_text))
            .collect();
        names.len() == list.len()
    };
    ["name", "key", "id", "manager"]
        .into_iter()
        .find(|field| unique(from, field) && unique(to, field))
}

fn compare_lists(path: &[Step], from: &[Value], to: &[Value], out: &mut Vec<Difference>) {
    if from.is_empty() && to.is_empty() {
        return;
    }
    if let Some(field) = identifier(from, to) {
        return compare_named_lists(path, field, from, to, out);
    }
    if from.len() == 1 && to.len() == 1 {
        return compare(&with(path, Step::Index(0)), &from[0], &to[0], out);
    }
    let count = |list: &[Value], value: &Value| list.iter().filter(|v| *v == value).count();
    let mut removed = Vec::new();
    let mut common_from = Vec::new();
    for (index, value) in from.iter().enumerate() {
        let (here, there) = (count(from, value), count(to, value));
        if there == 0 {
            removed.push(value.clone());
        } else {
            common_from.push(value);
            let first = from.iter().position(|v| v == value) == Some(index);
            if here > there && first {
                removed.extend(std::iter::repeat_n(value.clone(), here - there));
            }
        }
    }
    let mut added = Vec::new();
    let mut common_to = Vec::new();
    for (index, value) in to.iter().enumerate() {
        let (here, there) = (count(to, value), count(from, value));
        if there == 0 {
            added.push(value.clone());
        } else {
            common_to.push(value);
            let first = to.iter().position(|v| v == value) == Some(index);
            if here > there && first {
                added.extend(std::iter::repeat_n(value.clone(), here - there));
            }
        }
    }
    let reordered = common_from.len() == common_to.len() && common_from != common_to;
    let order = reordered.then(|| {
        let names = |list: &[&Value]| list.iter().map(|v| entry_text(v)).collect();
        (names(&common_from), names(&common_to))
    });
    push_list_changes(path, order, removed, added, Vec::new(), out);
}

fn compare_named_lists(
    path: &[Step],
    field: &str,
    from: &[Value],
    to: &[Value],
    out: &mut Vec<Difference>,
) {
    let name_of = |entry: &Value| entry.get(field).map(scalar_text).unwrap_or_default();
    let find = |list: &[Value], name: &str| list.iter().find(|e| name_of(e) == name).cloned();
    let mut nested = Vec::new();
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let (mut from_names, mut to_names) = (Vec::new(), Vec::new());
    for entry in from {
        let name = name_of(entry);
        match find(to, &name) {
            Some(other) => {
                compare(
                    &with(path, Step::Named(name.clone())),
                    entry,
                    &other,
                    &mut nested,
                );
                from_names.push(name);
            }
            None => removed.push(entry.clone()),
        }
    }
    for entry in to {
        let name = name_of(entry);
        match find(from, &name) {
            Some(_) => to_names.push(name),
            None => added.push(entry.clone()),
        }
    }
    let order = (from_names != to_names).then_some((from_names, to_names));
    push_list_changes(path, order, removed, added, nested, out);
}

fn push_list_changes(
    path: &[Step],
    order: Option<(Vec<String>, Vec<String>)>,
    removed: Vec<Value>,
    added: Vec<Value>,
    mut nested: Vec<Difference>,
    out: &mut Vec<Difference>,
) {
    let mut details = Vec::new();
    if let Some((from, to)) = order {
        details.push(Detail::Reordered(from, to));
    }
    if !removed.is_empty() {
        details.push(Detail::Removed(Value::Array(removed)));
    }
    if !added.is_empty() {
        details.push(Detail::Added(Value::Array(added)));
    }
    if !details.is_empty() {
        out.push(Difference {
            path: path.to_vec(),
            details,
        });
    }
    out.append(&mut nested);
}

/// A dotted path (`spec.ports.http.port`); `(root level)` for the object itself.
fn path_text(path: &[Step]) -> String {
    if path.is_empty() {
        return "(root level)".to_owned();
    }
    let steps = path.iter().map(|step| match step {
        Step::Key(name) | Step::Named(name) => name.clone(),
        Step::Index(index) => index.to_string(),
    });
    steps.collect::<Vec<_>>().join(".")
}

/// YAML's name for the value's type, as dyff reports type changes.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// How an entry is named in an order change: a scalar's value, else its YAML.
fn entry_text(value: &Value) -> String {
    match value {
        Value::Array(_) | Value::Object(_) => yaml_text(value),
        other => scalar_text(other),
    }
}

fn count_text(count: usize, one: &str, many: &str) -> String {
    const WORDS: [&str; 13] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    let noun = if count == 1 { one } else { many };
    match WORDS.get(count) {
        Some(word) => format!("{word} {noun}"),
        None => format!("{count} {noun}"),
    }
}

fn entries_text(value: &Value) -> String {
    match value {
        Value::Array(items) => count_text(items.len(), "list entry", "list entries"),
        Value::Object(map) => count_text(map.len(), "map entry", "map entries"),
        _ => String::new(),
    }
}

fn detail_text(detail: &Detail) -> String {
    match detail {
        Detail::Added(value) => {
            let mut out = format!("+ {} added:\n", entries_text(value));
            write_blocks(&mut out, 2, &[yaml_text(value)]);
            out
        }
        Detail::Removed(value) => {
            let mut out = format!("- {} removed:\n", entries_text(value));
            write_blocks(&mut out, 0, &[yaml_text(value)]);
            out
        }
        Detail::Modified(from, to) => modification_text(from, to),
        Detail::Reordered(from, to) => {
            let (from, to) = (from.join(", "), to.join(", "));
            if from.chars().count().max(to.chars().count()) < WIDTH / 2 {
                format!("⇆ order changed\n- {from}\n+ {to}\n")
            } else {
                format!("⇆ order changed\n{}", table(" ", 2, &[from, to]))
            }
        }
    }
}

fn modification_text(from: &Value, to: &Value) -> String {
    if let (Value::String(a), Value::String(b)) = (from, to) {
        return string_change_text(a, b);
    }
    let (from_type, to_type) = (type_name(from), type_name(to));
    let mut out = if from_type == to_type {
        "± value change\n".to_owned()
    } else {
        format!("± type change from {from_type} to {to_type}\n")
    };
    out.push_str(&prefixed("- ", yaml_text(from).trim_end_matches('\n')));
    out.push_str(&prefixed("+ ", yaml_text(to).trim_end_matches('\n')));
    out
}

fn string_change_text(from: &str, to: &str) -> String {
    let visible = |text: &str| text.replace('\n', "↵\n").replace(' ', "·");
    if from != to && without_whitespace(from) == without_whitespace(to) {
        let mut out = "± whitespace only change\n".to_owned();
        let blocks = [prefixed("- ", &visible(from)), prefixed("+ ", &visible(to))];
        write_blocks(&mut out, 0, &blocks);
        return out;
    }
    if from.contains('\n') || to.contains('\n') {
        return multiline_change_text(from, to);
    }
    format!(
        "± value change\n{}{}",
        prefixed("- ", from),
        prefixed("+ ", to)
    )
}

fn without_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A line-by-line change of a multi-line string: removed lines `- `, added lines `+ `.
fn multiline_change_text(from: &str, to: &str) -> String {
    let (old, new): (Vec<&str>, Vec<&str>) = (from.lines().collect(), to.lines().collect());
    let common = longest_common_lines(&old, &new);
    let (mut i, mut j, mut body) = (0, 0, String::new());
    let (mut inserts, mut deletions) = (0, 0);
    for (ci, cj) in common.into_iter().chain([(old.len(), new.len())]) {
        if i < ci {
            body.push_str(&continuous("- ", &old[i..ci]));
            deletions += 1;
        }
        if j < cj {
            body.push_str(&continuous("+ ", &new[j..cj]));
            inserts += 1;
        }
        (i, j) = (ci + 1, cj + 1);
    }
    format!(
        "± value change in multiline text ({}, {})\n{body}\n",
        count_text(inserts, "insert", "inserts"),
        count_text(deletions, "deletion", "deletions")
    )
}

fn continuous(prefix: &str, lines: &[&str]) -> String {
    lines
        .iter()
        .map(|line| format!("{prefix}{line}\n"))
        .collect()
}

/// Index pairs of the lines both texts share, in order (a longest common subsequence).
fn longest_common_lines(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
    let mut lengths = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lengths[i][j] = if a[i] == b[j] {
                lengths[i + 1][j + 1] + 1
            } else {
                lengths[i + 1][j].max(lengths[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            pairs.push((i, j));
            (i, j) = (i + 1, j + 1);
        } else if lengths[i + 1][j] >= lengths[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// `prefix` before the first line, the following lines indented to line up with it.
fn prefixed(prefix: &str, text: &str) -> String {
    let pad = " ".repeat(prefix.chars().count());
    let lines = text.split('\n').enumerate();
    lines
        .map(|(i, line)| format!("{}{line}\n", if i == 0 { prefix } else { &pad }))
        .collect()
}

/// Blocks side by side when they fit in the width, else one under the other.
fn write_blocks(out: &mut String, indent: usize, blocks: &[String]) {
    let widest = |block: &String| block.split('\n').map(|l| l.chars().count()).max();
    let width = indent
        + blocks.len().saturating_sub(1) * 3
        + blocks.iter().filter_map(widest).sum::<usize>();
    if width > WIDTH {
        for line in blocks.iter().flat_map(|b| b.split('\n')) {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
            out.push('\n');
        }
    } else {
        out.push_str(&table("   ", indent, blocks));
    }
}

/// The blocks as columns, padded to their widest line, rows trimmed on the right.
fn table(separator: &str, indent: usize, columns: &[String]) -> String {
    let columns: Vec<Vec<&str>> = columns.iter().map(|c| c.split('\n').collect()).collect();
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = columns
        .iter()
        .map(|c| c.iter().map(|l| l.chars().count()).max().unwrap_or(0))
        .collect();
    let mut lines = Vec::new();
    for row in 0..rows {
        let cells: Vec<String> = columns
            .iter()
            .zip(&widths)
            .map(|(column, width)| {
                let line = column.get(row).copied().unwrap_or("");
                let pad = width - line.chars().count();
                format!("{}{line}{}", " ".repeat(indent), " ".repeat(pad))
            })
            .collect();
        lines.push(cells.join(separator).trim_end().to_owned());
    }
    lines.join("\n")
}

/// The value as block YAML, keys sorted with an entry's `name` first, strings quoted when
/// they would read as another type.
fn yaml_text(value: &Value) -> String {
    let mut out = String::new();
    write_yaml(&mut out, value, 0);
    out
}

fn ordered_keys(map: &serde_json::Map<String, Value>) -> Vec<&String> {
    let mut keys = sorted_keys(map);
    keys.sort_by_key(|k| k.as_str() != "name");
    keys
}

fn write_yaml(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for key in ordered_keys(map) {
                write_entry(
                    out,
                    &format!("{pad}{}:", scalar_yaml_str(key)),
                    &map[key],
                    indent,
                );
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        let mut nested = String::new();
                        write_yaml(&mut nested, item, indent + 2);
                        out.push_str(&pad);
                        out.push_str("- ");
                        out.push_str(&nested[indent + 2..]);
                    }
                    _ => write_entry(out, &format!("{pad}-"), item, indent),
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar_yaml(other));
            out.push('\n');
        }
    }
}

/// `head` (`key:` or `-`) followed by the value inline or nested below it.
fn write_entry(out: &mut String, head: &str, value: &Value, indent: usize) {
    out.push_str(head);
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_yaml(out, value, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_yaml(out, value, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar_yaml(other));
            out.push('\n');
        }
    }
}

fn scalar_yaml(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::String(s) => scalar_yaml_str(s),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
        other => other.to_string(),
    }
}

/// A string plain when YAML reads it back as the same string, else double-quoted.
fn scalar_yaml_str(text: &str) -> String {
    if needs_quotes(text) {
        serde_json::to_string(text).unwrap_or_default()
    } else {
        text.to_owned()
    }
}

fn needs_quotes(text: &str) -> bool {
    const RESERVED: [&str; 22] = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "True", "False", "Yes",
        "No", "On", "Off", "TRUE", "FALSE", "YES", "NO", "Null", "NULL",
    ];
    let Some(first) = text.chars().next() else {
        return true;
    };
    RESERVED.contains(&text)
        || text.parse::<f64>().is_ok()
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || text.contains(": ")
        || text.contains(" #")
        || text.ends_with(':')
        || text.starts_with(' ')
        || text.ends_with(' ')
        || text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_changed_number_is_a_value_change_at_its_dotted_path() {
        let from = json!({"spec": {"ports": [{"name": "http", "port": 9899}]}});
        let to = json!({"spec": {"ports": [{"name": "http", "port": 9898}]}});
        assert_eq!(
            human_report(&from, &to),
            "\nspec.ports.http.port\n± value change\n- 9899\n+ 9898\n"
        );
    }

    #[test]
    fn added_map_entries_are_listed_as_yaml_below_the_count() {
        let from = json!({"metadata": {"name": "web"}});
        let to = json!({"metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}}});
        assert_eq!(
            human_report(&from, &to),
            "\nmetadata\n+ one map entry added:\n  labels:\n    app: web\n    tier: front\n"
        );
    }

    #[test]
    fn removed_and_added_entries_of_one_map_stand_side_by_side() {
        let from = json!({"data": {"old": "*****"}});
        let to = json!({"data": {"new": "*****"}});
        assert_eq!(
            human_report(&from, &to),
            "\ndata\n- one map entry removed:   + one map entry added:\nold: \"*****\"                 new: \"*****\"\n"
        );
    }

    #[test]
    fn a_type_change_names_both_types() {
        let from = json!({"a": 1});
        let to = json!({"a": "1"});
        assert_eq!(
            human_report(&from, &to),
            "\na\n± type change from int to string\n- 1\n+ \"1\"\n"
        );
    }

    #[test]
    fn list_entries_without_identifier_are_matched_by_value() {
        let from = json!({"args": ["a", "b"]});
        let to = json!({"args": ["a", "b", "c"]});
        assert_eq!(
            human_report(&from, &to),
            "\nargs\n+ one list entry added:\n  - c\n"
        );
        let swapped = json!({"args": ["b", "a"]});
        assert_eq!(
            human_report(&from, &swapped),
            "\nargs\n⇆ order changed\n- a, b\n+ b, a\n"
        );
    }

    #[test]
    fn equal_objects_have_an_empty_report() {
        let object = json!({"a": [1, 2], "b": {"c": null}});
        assert_eq!(human_report(&object, &object), "");
    }

    #[test]
    fn blocks_wider_than_the_terminal_are_stacked() {
        let long = "x".repeat(90);
        let from = json!({"a": {"b": 1}});
        let to = json!({"a": {long.clone(): 1}});
        let report = human_report(&from, &to);
        assert!(
            report.starts_with("\na\n- one map entry removed:\nb: 1\n\n+ one map entry added:\n"),
            "{report}"
        );
    }
}
