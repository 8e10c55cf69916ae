//! `.helmignore`: Helm's ignore rules (not gitignore's) and Go's `filepath.Match`, which the
//! rules, `--show-only` and the loaders use.

/// One rule of a `.helmignore` file.
#[derive(Debug, Clone)]
struct Rule {
    pattern: String,
    negate: bool,
    must_dir: bool,
    /// `/`-anchored or containing `/`: matched against the whole path, else the base name.
    whole_path: bool,
}

/// The rules of a `.helmignore` file plus Helm's default (`templates/.?*`).
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

impl IgnoreRules {
    /// Parses `.helmignore` text and adds the default rule. A rule with `**` or a malformed
    /// pattern is an error, as in Helm.
    pub fn parse(text: &str) -> Result<IgnoreRules, String> {
        let mut rules = IgnoreRules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for line in text.lines() {
            rules.add(line)?;
        }
        rules.add("templates/.?*")?;
        Ok(rules)
    }

    fn add(&mut self, line: &str) -> Result<(), String> {
        let rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        go_match(rule, "abc").map_err(|e| e.to_owned())?;
        let (negate, rule) = match rule.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (must_dir, rule) = match rule.strip_suffix('/') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (whole_path, rule) = match rule.strip_prefix('/') {
            Some(r) => (true, r),
            None => (rule.contains('/'), rule),
        };
        self.rules.push(Rule {
            pattern: rule.to_owned(),
            negate,
            must_dir,
            whole_path,
        });
        Ok(())
    }

    /// Whether `path` (slash-separated, relative to the chart) is ignored. A negated rule
    /// that does not match ignores the path: Helm's rule, not gitignore's.
    pub fn ignores(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for rule in &self.rules {
            let subject = if rule.whole_path {
                path
            } else {
                path.rsplit('/').next().unwrap_or(path)
            };
            let matched = go_match(&rule.pattern, subject).unwrap_or(false);
            if rule.negate {
                if (rule.must_dir && !is_dir) || !matched {
                    return true;
                }
                continue;
            }
            if rule.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// Go's `path/filepath.Match` on `/`-separated names: `*` and `?` stop at `/`, `[...]`
/// classes with ranges and `^` negation, `\` escapes. A malformed pattern is an error
/// (`syntax error in pattern`).
pub fn go_match(pattern: &str, name: &str) -> Result<bool, &'static str> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let matched = match_from(&p, &n)?;
    if !matched {
        // Go reports a syntax error even when an earlier part fails to match.
        check_syntax(&p)?;
    }
    Ok(matched)
}

const BAD_PATTERN: &str = "syntax error in pattern";

fn check_syntax(p: &[char]) -> Result<(), &'static str> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(BAD_PATTERN);
                }
                i += 2;
            }
            '[' => {
                let (_, next) = class_matches(p, i, 'a')?;
                i = next;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn match_from(p: &[char], n: &[char]) -> Result<bool, &'static str> {
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' if ni < n.len() && n[ni] != '/' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' if ni < n.len() && n[ni] != '/' => {
                    let (ok, next) = class_matches(p, pi, n[ni])?;
                    if ok {
                        pi = next;
                        ni += 1;
                        continue;
                    }
                }
                '\\' => {
                    let Some(&c) = p.get(pi + 1) else {
                        return Err(BAD_PATTERN);
                    };
                    if ni < n.len() && n[ni] == c {
                        pi += 2;
                        ni += 1;
                        continue;
                    }
                }
                c if c != '?' && c != '[' && ni < n.len() && n[ni] == c => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        } else if ni == n.len() {
            return Ok(true);
        }
        // Backtrack: let the last star absorb one more character (never a separator).
        match star {
            Some((sp, sn)) if sn < n.len() && n[sn] != '/' => {
                star = Some((sp, sn + 1));
                pi = sp + 1;
                ni = sn + 1;
            }
            _ => return Ok(false),
        }
    }
}

/// Matches `c` against the class starting at `p[start] == '['`; returns the result and the
/// index after the closing `]`.
fn class_matches(p: &[char], start: usize, c: char) -> Result<(bool, usize), &'static str> {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let Some(&ch) = p.get(i) else {
            return Err(BAD_PATTERN);
        };
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let (lo, next) = class_char(p, i)?;
        i = next;
        let mut hi = lo;
        if p.get(i) == Some(&'-') {
            let (h, next) = class_char(p, i + 1)?;
            hi = h;
            i = next;
            if hi < lo {
                return Err(BAD_PATTERN);
            }
        }
        if lo <= c && c <= hi {
            matched = true;
        }
    }
    Ok((matched != negated, i))
}

fn class_char(p: &[char], i: usize) -> Result<(char, usize), &'static str> {
    match p.get(i) {
        None | Some('-') | Some(']') => Err(BAD_PATTERN),
        Some('\\') => p.get(i + 1).map(|c| (*c, i + 2)).ok_or(BAD_PATTERN),
        Some(c) => Ok((*c, i + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_stops_stars_at_separators() {
        assert_eq!(go_match("*.yaml", "a.yaml"), Ok(true));
        assert_eq!(go_match("*.yaml", "t/a.yaml"), Ok(false));
        assert_eq!(go_match("templates/*", "templates/a.yaml"), Ok(true));
        assert_eq!(go_match("a[b-c]?", "acx"), Ok(true));
        assert_eq!(go_match("[^a]", "a"), Ok(false));
        assert_eq!(go_match("[", "a"), Err(BAD_PATTERN));
    }

    #[test]
    fn helmignore_negation_ignores_everything_it_does_not_match() {
        let rules = IgnoreRules::parse("*.txt\n!keep.md\n").unwrap_or_default();
        assert!(rules.ignores("notes.txt", false));
        assert!(rules.ignores("other.md", false));
        assert!(!rules.ignores("keep.md", false));
        assert!(rules.ignores("templates/.hidden", false));
    }
}
