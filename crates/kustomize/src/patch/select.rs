//! Target selection for patches and replacements: anchored regexes on group, version, kind,
//! name and namespace (matched against current and original ids), plus label and annotation
//! selectors in Kubernetes selector syntax.

use regex::Regex;

use crate::error::{Error, Result};
use crate::kustfile::Selector;
use crate::resource::{ResId, Resource};

fn anchored(pattern: &str) -> Result<Option<Regex>> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{pattern})$"))
        .map(Some)
        .map_err(|e| Error::transform(format!("invalid selector pattern '{pattern}': {e}")))
}

fn matches(re: &Option<Regex>, value: &str) -> bool {
    re.as_ref().is_none_or(|r| r.is_match(value))
}

/// Indexes of the objects `selector` picks, in order.
pub fn select(acc: &[Resource], selector: &Selector) -> Result<Vec<usize>> {
    let group = anchored(&selector.group)?;
    let version = anchored(&selector.version)?;
    let kind = anchored(&selector.kind)?;
    let name = anchored(&selector.name)?;
    let namespace = anchored(&selector.namespace)?;
    let labels = parse_selector(&selector.label_selector)?;
    let annotations = parse_selector(&selector.annotation_selector)?;
    let mut out = Vec::new();
    for (i, r) in acc.iter().enumerate() {
        let (cur, org) = (r.cur_id(), r.org_id());
        if !matches(&namespace, &org.effective_namespace())
            && !matches(&namespace, &cur.effective_namespace())
        {
            continue;
        }
        if !matches(&name, &org.name) && !matches(&name, &cur.name) {
            continue;
        }
        let gvk = r.gvk();
        if !matches(&group, &gvk.group)
            || !matches(&version, &gvk.version)
            || !matches(&kind, &gvk.kind)
        {
            continue;
        }
        if !requirements_match(&labels, &r.string_map("labels"))
            || !requirements_match(&annotations, &r.string_map("annotations"))
        {
            continue;
        }
        out.push(i);
    }
    Ok(out)
}

/// Indexes of the objects `selector` picks by any id they had, current or earlier, each id
/// matched whole (kustomize's replacement selection over `MakeResIds`; patches instead match
/// the original or current name and namespace separately, as [`select`] does).
pub fn select_by_any_id(acc: &[Resource], selector: &Selector) -> Result<Vec<usize>> {
    let group = anchored(&selector.group)?;
    let version = anchored(&selector.version)?;
    let kind = anchored(&selector.kind)?;
    let name = anchored(&selector.name)?;
    let namespace = anchored(&selector.namespace)?;
    let labels = parse_selector(&selector.label_selector)?;
    let annotations = parse_selector(&selector.annotation_selector)?;
    let id_matches = |id: &ResId| {
        matches(&group, &id.gvk.group)
            && matches(&version, &id.gvk.version)
            && matches(&kind, &id.gvk.kind)
            && matches(&name, &id.name)
            && matches(&namespace, &id.effective_namespace())
    };
    let mut out = Vec::new();
    for (i, r) in acc.iter().enumerate() {
        let mut ids = r.prev_ids();
        ids.push(r.cur_id());
        if ids.iter().any(id_matches)
            && requirements_match(&labels, &r.string_map("labels"))
            && requirements_match(&annotations, &r.string_map("annotations"))
        {
            out.push(i);
        }
    }
    Ok(out)
}

/// One term of a label selector.
#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    /// `key=value` / `key==value`.
    Equals(String, String),
    /// `key!=value`.
    NotEquals(String, String),
    /// `key in (a,b)`.
    In(String, Vec<String>),
    /// `key notin (a,b)`.
    NotIn(String, Vec<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    NotExists(String),
}

/// Parses a Kubernetes label selector string.
pub fn parse_selector(s: &str) -> Result<Vec<Requirement>> {
    let mut out = Vec::new();
    for term in split_terms(s) {
        let term = term.trim();
        if term.is_empty() {
            continue;
        }
        out.push(parse_term(term)?);
    }
    Ok(out)
}

fn split_terms(s: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    terms.push(cur);
    terms
}

fn parse_term(term: &str) -> Result<Requirement> {
    if let Some(key) = term.strip_prefix('!') {
        return Ok(Requirement::NotExists(key.trim().to_string()));
    }
    if let Some((k, v)) = term.split_once("!=") {
        return Ok(Requirement::NotEquals(k.trim().into(), v.trim().into()));
    }
    if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(Requirement::Equals(k.trim().into(), v.trim().into()));
    }
    let words: Vec<&str> = term.splitn(2, char::is_whitespace).collect();
    if let [key, rest] = words.as_slice() {
        let rest = rest.trim();
        let (op, list) = rest.split_once('(').ok_or_else(|| bad(term))?;
        let values: Vec<String> = list
            .trim_end_matches(')')
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        return match op.trim() {
            "in" => Ok(Requirement::In(key.to_string(), values)),
            "notin" => Ok(Requirement::NotIn(key.to_string(), values)),
            _ => Err(bad(term)),
        };
    }
    Ok(Requirement::Exists(term.to_string()))
}

fn bad(term: &str) -> Error {
    Error::transform(format!("unable to parse requirement: {term}"))
}

/// Whether a label (or annotation) set satisfies every requirement.
pub fn requirements_match(reqs: &[Requirement], set: &[(String, String)]) -> bool {
    let get = |k: &str| {
        set.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    reqs.iter().all(|r| match r {
        Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
        Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
        Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
        Requirement::Exists(k) => get(k).is_some(),
        Requirement::NotExists(k) => get(k).is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_selectors() -> Result<()> {
        let reqs = parse_selector("app=web,tier in (a, b),!legacy")?;
        let set = vec![
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "b".to_string()),
        ];
        assert!(requirements_match(&reqs, &set));
        let set = vec![("app".to_string(), "web".to_string())];
        assert!(!requirements_match(&reqs, &set));
        Ok(())
    }
}
