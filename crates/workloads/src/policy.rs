//! fluxd's workload policies: reading them from annotations (`fluxcd.io/automated`,
//! `fluxcd.io/locked`, `fluxcd.io/tag.<container>`, ... and the legacy `flux.weave.works/`
//! prefix) and turning a policy update (what `fluxctl automate/lock/policy` ask for) into
//! annotation changes.
//!
//! Tag patterns stay raw strings (`glob:1.*`, `semver:~1.2`, `regexp:^v`): parsing and matching
//! them belongs to the tag-policy crate.

use std::collections::{BTreeMap, BTreeSet};

/// The annotation prefix of fluxd's policies.
pub const POLICY_PREFIX: &str = "fluxcd.io/";
/// The prefix fluxd accepted before it moved to `fluxcd.io/`.
pub const ALTERNATE_POLICY_PREFIX: &str = "flux.weave.works/";
/// fluxd's oldest tag filter form: `filter.fluxcd.io/<container>: <pattern>`.
pub const FILTER_POLICY_PREFIX: &str = "filter.fluxcd.io/";

/// Policy: update images automatically.
pub const AUTOMATED: &str = "automated";
/// Policy: never change the workload's images.
pub const LOCKED: &str = "locked";
/// Who locked the workload.
pub const LOCKED_USER: &str = "locked_user";
/// Why the workload was locked.
pub const LOCKED_MSG: &str = "locked_msg";
/// Policy: leave the workload alone (`true`), or only skip it in garbage collection
/// (`sync_only`).
pub const IGNORE: &str = "ignore";
/// Pseudo-policy of `fluxctl policy --tag-all`: one tag pattern for every container.
pub const TAG_ALL: &str = "tag_all";
/// The value of `ignore` that only exempts the object from garbage collection.
pub const IGNORE_SYNC_ONLY: &str = "sync_only";
/// The pattern a container without a `tag.<container>` policy follows.
pub const PATTERN_ALL: &str = "glob:*";

/// The policy name of a container's tag pattern: `tag.<container>`.
pub fn tag_policy(container: &str) -> String {
    format!("tag.{container}")
}

/// Writes a pattern with its kind prefix, as fluxd stored it: `1.*` → `glob:1.*`,
/// `regex:^v` → `regexp:^v`; `semver:`/`regexp:`/`glob:` patterns stay as they are.
pub fn normalize_pattern(pattern: &str) -> String {
    if pattern.starts_with("semver:") || pattern.starts_with("regexp:") {
        pattern.to_string()
    } else if let Some(rest) = pattern.strip_prefix("regex:") {
        format!("regexp:{rest}")
    } else {
        format!("glob:{}", pattern.strip_prefix("glob:").unwrap_or(pattern))
    }
}

/// A workload's policies as fluxd read them from its annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadPolicy {
    /// `automated: "true"`.
    pub automated: bool,
    /// `locked: "true"`.
    pub locked: bool,
    /// `locked_user`, if set.
    pub locked_user: Option<String>,
    /// `locked_msg`, if set.
    pub locked_msg: Option<String>,
    /// `ignore: "true"`: not synced, not updated.
    pub ignore: bool,
    /// `ignore: "sync_only"`: synced but never garbage-collected.
    pub ignore_sync_only: bool,
    /// Raw tag patterns by container name (`tag.<container>`), with their prefix as written.
    pub tag_patterns: BTreeMap<String, String>,
}

/// The policy name an annotation key carries, with the precedence of its prefix
/// (`fluxcd.io/` over `flux.weave.works/` over `filter.fluxcd.io/`).
fn policy_of_key(key: &str) -> Option<(String, u8)> {
    if let Some(p) = key.strip_prefix(POLICY_PREFIX) {
        Some((p.to_string(), 0))
    } else if let Some(p) = key.strip_prefix(ALTERNATE_POLICY_PREFIX) {
        Some((p.to_string(), 1))
    } else {
        key.strip_prefix(FILTER_POLICY_PREFIX)
            .map(|c| (tag_policy(c), 2))
    }
}

/// The policies in `annotations`, by policy name. When two prefixes give the same policy, the
/// newer prefix wins (fluxd's choice depended on map order).
pub fn policies_from_annotations<'a>(
    annotations: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, String> {
    let mut found: BTreeMap<String, (u8, String)> = BTreeMap::new();
    for (key, value) in annotations {
        let Some((policy, rank)) = policy_of_key(key) else {
            continue;
        };
        match found.get(&policy) {
            Some((existing, _)) if *existing <= rank => {}
            _ => {
                found.insert(policy, (rank, value.to_string()));
            }
        }
    }
    found.into_iter().map(|(p, (_, v))| (p, v)).collect()
}

impl WorkloadPolicy {
    /// Reads the policies from a workload's annotations. Boolean policies hold only when the
    /// value is exactly `true`, as in fluxd.
    pub fn from_annotations<'a>(annotations: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let policies = policies_from_annotations(annotations);
        let is_true = |p: &str| policies.get(p).is_some_and(|v| v == "true");
        Self {
            automated: is_true(AUTOMATED),
            locked: is_true(LOCKED),
            locked_user: policies.get(LOCKED_USER).cloned(),
            locked_msg: policies.get(LOCKED_MSG).cloned(),
            ignore: is_true(IGNORE),
            ignore_sync_only: policies.get(IGNORE).is_some_and(|v| v == IGNORE_SYNC_ONLY),
            tag_patterns: policies
                .iter()
                .filter_map(|(p, v)| Some((p.strip_prefix("tag.")?.to_string(), v.clone())))
                .collect(),
        }
    }

    /// The tag pattern of `container`: its `tag.<container>` value, or `glob:*`.
    pub fn tag_pattern(&self, container: &str) -> &str {
        self.tag_patterns
            .get(container)
            .map_or(PATTERN_ALL, String::as_str)
    }

    /// Whether the automation loop may update this workload: automated, not locked, not
    /// ignored (fluxd's `getAllowedAutomatedResources`).
    pub fn is_automation_candidate(&self) -> bool {
        self.automated && !self.locked && !self.ignore
    }
}

/// One annotation to set (`Some(value)`) or remove (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationChange {
    /// The full annotation key, e.g. `fluxcd.io/automated`.
    pub key: String,
    /// The new value, or `None` to remove the annotation.
    pub value: Option<String>,
}

/// Policies to add and remove, by policy name (`automated`, `tag.web`, `tag_all`, ...), as a
/// `fluxctl` verb asks for them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyUpdate {
    /// Policies to set, with their values.
    pub add: BTreeMap<String, String>,
    /// Policies to remove.
    pub remove: BTreeSet<String>,
}

impl PolicyUpdate {
    /// `fluxctl automate`.
    pub fn automate() -> Self {
        Self::default().adding(AUTOMATED, "true")
    }

    /// `fluxctl deautomate`.
    pub fn deautomate() -> Self {
        Self::default().removing(AUTOMATED)
    }

    /// `fluxctl lock`; the user and message are recorded only when a user is given, as fluxctl
    /// did (an empty message then removes a stale `locked_msg`).
    pub fn lock(user: Option<&str>, message: Option<&str>) -> Self {
        let update = Self::default().adding(LOCKED, "true");
        match user.filter(|u| !u.is_empty()) {
            Some(user) => update
                .adding(LOCKED_USER, user)
                .adding(LOCKED_MSG, message.unwrap_or("")),
            None => update,
        }
    }

    /// `fluxctl unlock`: removes `locked`, `locked_user` and `locked_msg`.
    pub fn unlock() -> Self {
        Self::default()
            .removing(LOCKED)
            .removing(LOCKED_MSG)
            .removing(LOCKED_USER)
    }

    /// `fluxctl policy --tag <container>=<pattern>`; `*` removes the container's pattern.
    pub fn tag(self, container: &str, pattern: &str) -> Self {
        if pattern == "*" {
            self.removing(&tag_policy(container))
        } else {
            self.adding(&tag_policy(container), &normalize_pattern(pattern))
        }
    }

    /// `fluxctl policy --tag-all <pattern>`: the pattern for every container (`*` removes them).
    pub fn tag_all(self, pattern: &str) -> Self {
        self.adding(TAG_ALL, &normalize_pattern(pattern))
    }

    /// Adds one policy.
    pub fn adding(mut self, policy: &str, value: &str) -> Self {
        self.add.insert(policy.to_string(), value.to_string());
        self
    }

    /// Removes one policy.
    pub fn removing(mut self, policy: &str) -> Self {
        self.remove.insert(policy.to_string());
        self
    }

    /// The policy changes this update makes on a workload with `containers`, by policy name
    /// (fluxd's `ChangesForPolicyUpdate`): `tag_all` expands to one `tag.<c>` per container
    /// (`glob:*` removes them), removals win over additions, and `None` (or an empty value)
    /// removes.
    pub fn policy_changes(&self, containers: &[&str]) -> BTreeMap<String, Option<String>> {
        let mut add = self.add.clone();
        let mut remove = self.remove.clone();
        if let Some(pattern) = add.remove(TAG_ALL) {
            for container in containers {
                if pattern == PATTERN_ALL {
                    remove.insert(tag_policy(container));
                } else {
                    add.insert(tag_policy(container), pattern.clone());
                }
            }
        }
        let mut changes: BTreeMap<String, Option<String>> = BTreeMap::new();
        for (policy, value) in add {
            let value = (!value.is_empty()).then_some(value);
            changes.insert(policy, value);
        }
        for policy in remove {
            changes.insert(policy, None);
        }
        changes
    }

    /// The annotation changes this update makes on a workload with `containers` and the current
    /// `annotations`: [`Self::policy_changes`], each under the key an existing annotation has
    /// (`flux.weave.works/` stays), else `fluxcd.io/<policy>`.
    pub fn annotation_changes<'a>(
        &self,
        containers: &[&str],
        annotations: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Vec<AnnotationChange> {
        self.policy_changes(containers)
            .into_iter()
            .map(|(policy, value)| AnnotationChange {
                key: annotation_key(&policy, annotations.clone()),
                value,
            })
            .collect()
    }
}

/// The key under which `policy` is (or will be) written: an existing key with any accepted
/// prefix, else `fluxcd.io/<policy>` (fluxd's `PolicyAnnotationKey`).
fn annotation_key<'a>(
    policy: &str,
    annotations: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut candidates = vec![
        format!("{POLICY_PREFIX}{policy}"),
        format!("{ALTERNATE_POLICY_PREFIX}{policy}"),
    ];
    if let Some(container) = policy.strip_prefix("tag.") {
        candidates.push(format!("{FILTER_POLICY_PREFIX}{container}"));
    }
    let present: BTreeSet<&str> = annotations.into_iter().map(|(k, _)| k).collect();
    candidates
        .iter()
        .find(|c| present.contains(c.as_str()))
        .cloned()
        .unwrap_or_else(|| format!("{POLICY_PREFIX}{policy}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pairs: &[(&str, &str)]) -> WorkloadPolicy {
        WorkloadPolicy::from_annotations(pairs.iter().copied())
    }

    #[test]
    fn reads_current_prefix() {
        let p = policy(&[
            ("fluxcd.io/automated", "true"),
            ("fluxcd.io/locked", "true"),
            ("fluxcd.io/locked_user", "Jane <jane@example.com>"),
            ("fluxcd.io/locked_msg", "incident 42"),
            ("fluxcd.io/tag.web", "semver:~1.2"),
            ("fluxcd.io/tag.sidecar", "regex:^v"),
            ("app.kubernetes.io/name", "web"),
        ]);
        assert!(p.automated && p.locked && !p.ignore);
        assert_eq!(p.locked_user.as_deref(), Some("Jane <jane@example.com>"));
        assert_eq!(p.locked_msg.as_deref(), Some("incident 42"));
        assert_eq!(p.tag_pattern("web"), "semver:~1.2");
        assert_eq!(p.tag_pattern("sidecar"), "regex:^v");
        assert_eq!(p.tag_pattern("other"), PATTERN_ALL);
        assert!(!p.is_automation_candidate());
    }

    #[test]
    fn reads_legacy_and_filter_prefixes() {
        let p = policy(&[
            ("flux.weave.works/automated", "true"),
            ("flux.weave.works/tag.web", "glob:1.*"),
            ("filter.fluxcd.io/worker", "glob:prod-*"),
        ]);
        assert!(p.is_automation_candidate());
        assert_eq!(p.tag_pattern("web"), "glob:1.*");
        assert_eq!(p.tag_pattern("worker"), "glob:prod-*");
    }

    #[test]
    fn current_prefix_wins_over_legacy() {
        let p = policy(&[
            ("flux.weave.works/tag.web", "glob:old-*"),
            ("fluxcd.io/tag.web", "glob:new-*"),
        ]);
        assert_eq!(p.tag_pattern("web"), "glob:new-*");
    }

    #[test]
    fn booleans_hold_only_for_exact_true() {
        let p = policy(&[
            ("fluxcd.io/automated", "yes"),
            ("fluxcd.io/locked", "True"),
            ("fluxcd.io/ignore", "sync_only"),
        ]);
        assert!(!p.automated && !p.locked && !p.ignore);
        assert!(p.ignore_sync_only);
        assert!(policy(&[("fluxcd.io/ignore", "true")]).ignore);
    }

    #[test]
    fn patterns_are_normalised_like_fluxctl() {
        assert_eq!(normalize_pattern("1.*"), "glob:1.*");
        assert_eq!(normalize_pattern("glob:*"), "glob:*");
        assert_eq!(normalize_pattern("regex:^v\\d"), "regexp:^v\\d");
        assert_eq!(normalize_pattern("semver:>=1.0"), "semver:>=1.0");
    }

    fn changes(
        update: &PolicyUpdate,
        containers: &[&str],
        current: &[(&str, &str)],
    ) -> Vec<(String, Option<String>)> {
        update
            .annotation_changes(containers, current.iter().copied())
            .into_iter()
            .map(|c| (c.key, c.value))
            .collect()
    }

    #[test]
    fn tag_all_expands_per_container_and_glob_star_removes() {
        let set = PolicyUpdate::default().tag_all("1.*");
        assert_eq!(
            changes(&set, &["web", "init"], &[]),
            [
                (
                    "fluxcd.io/tag.init".to_string(),
                    Some("glob:1.*".to_string())
                ),
                (
                    "fluxcd.io/tag.web".to_string(),
                    Some("glob:1.*".to_string())
                ),
            ]
        );
        let clear = PolicyUpdate::default().tag_all("*");
        assert_eq!(
            changes(
                &clear,
                &["web"],
                &[("flux.weave.works/tag.web", "glob:1.*")]
            ),
            [("flux.weave.works/tag.web".to_string(), None)]
        );
    }

    #[test]
    fn lock_records_user_and_unlock_removes_all_three() {
        let lock = PolicyUpdate::lock(Some("jane"), None);
        assert_eq!(
            changes(&lock, &[], &[]),
            [
                ("fluxcd.io/locked".to_string(), Some("true".to_string())),
                ("fluxcd.io/locked_msg".to_string(), None),
                (
                    "fluxcd.io/locked_user".to_string(),
                    Some("jane".to_string())
                ),
            ]
        );
        let unlock = PolicyUpdate::unlock();
        assert_eq!(changes(&unlock, &[], &[]).len(), 3);
        assert!(changes(&unlock, &[], &[]).iter().all(|(_, v)| v.is_none()));
    }

    #[test]
    fn removal_wins_and_existing_prefix_is_kept() {
        let update = PolicyUpdate::automate().removing(AUTOMATED);
        assert_eq!(
            changes(&update, &[], &[("flux.weave.works/automated", "true")]),
            [("flux.weave.works/automated".to_string(), None)]
        );
        let tag = PolicyUpdate::default().tag("web", "*");
        assert_eq!(
            changes(&tag, &["web"], &[("filter.fluxcd.io/web", "glob:x")]),
            [("filter.fluxcd.io/web".to_string(), None)]
        );
    }
}
