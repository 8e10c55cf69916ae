//! The staged apply (Flux's `ApplyAllStaged`): cluster definitions (CRDs, Namespaces,
//! ClusterRoles) first, waited for until Established/Active; then `*Class` kinds, waited for;
//! then custom staged kinds; then everything else, each stage in Flux's kind order.
//!
//! Validation happens per stage, as in Flux: a stage is fully looked up and dry-run before any
//! of it is written, and a later stage cannot be dry-run before the CRDs of an earlier one exist.
//! To still fail before writing anything on the common mistake — a kind nobody serves — every
//! kind in the set is checked up front: it must be served already, or be defined by a CRD in
//! the same set.

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;
use tether_core::changeset::{Action, ChangeSet};
use tether_core::object::ObjectRef;
use tether_core::order::{Stage, plan_stages};
use tokio::time::Instant;

use crate::apply::{ApplyError, ApplyOptions, Desired};
use crate::discovery::DiscoveryError;
use crate::manager::ResourceManager;
use crate::wait::WaitOptions;

/// A staged apply that stopped: the error, and what the stages before it did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct StagedApplyError {
    /// The entries of the stages applied before the failure.
    pub applied: ChangeSet,
    /// Why it stopped.
    #[source]
    pub error: ApplyError,
}

impl ResourceManager {
    /// Applies `objects` stage by stage (see the module documentation). Returns one entry per
    /// object, in the order they were handled.
    pub async fn apply_all_staged(
        &self,
        objects: Vec<Value>,
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, StagedApplyError> {
        let fail = |error| StagedApplyError {
            applied: ChangeSet::new(),
            error,
        };
        let desired = self.prepare(objects).map_err(fail)?;
        let defined = crd_defined_kinds(&desired);
        self.check_kinds(&desired, &defined).await.map_err(fail)?;
        let mut applied = ChangeSet::new();
        for (stage, objects) in plan_stages(desired, &opts.custom_stage_kinds) {
            if let Err(error) = self
                .apply_stage(stage, &objects, &defined, opts, &mut applied)
                .await
            {
                return Err(StagedApplyError { applied, error });
            }
        }
        Ok(applied)
    }

    async fn apply_stage(
        &self,
        stage: Stage,
        objects: &[Desired],
        defined: &HashSet<KindAt>,
        opts: &ApplyOptions,
        applied: &mut ChangeSet,
    ) -> Result<(), ApplyError> {
        if stage != Stage::ClusterDefinitions {
            self.wait_for_kinds(objects, defined, opts).await?;
        }
        let change_set = self.apply_prepared(objects, opts).await?;
        let to_wait: Vec<ObjectRef> = change_set
            .entries
            .iter()
            .filter(|e| e.action != Action::Skipped)
            .map(|e| e.object.clone())
            .collect();
        let crds_changed = change_set
            .changed()
            .any(|e| e.object.kind == "CustomResourceDefinition");
        applied.append(change_set);
        if matches!(stage, Stage::ClusterDefinitions | Stage::ClassDefinitions) {
            let wait = WaitOptions {
                interval: opts.wait_interval,
                timeout: opts.wait_timeout,
                ..WaitOptions::default()
            };
            self.wait_for_set(&to_wait, &wait).await?;
        }
        if crds_changed {
            self.discovery().invalidate();
        }
        Ok(())
    }

    /// Fails on the first object whose kind is neither served nor defined by a CRD in the set.
    async fn check_kinds(
        &self,
        desired: &[Desired],
        defined: &HashSet<KindAt>,
    ) -> Result<(), ApplyError> {
        let mut checked = BTreeSet::new();
        for d in desired {
            let kind = KindAt::of(&d.object);
            if defined.contains(&kind) || !checked.insert(kind) {
                continue;
            }
            self.target(&d.object)
                .await
                .map_err(|source| ApplyError::UnknownKind {
                    object: Box::new(d.object.clone()),
                    source,
                })?;
        }
        Ok(())
    }

    /// Waits until the API server serves the kinds of `objects` that CRDs of the set define:
    /// a CRD is Established slightly before its group shows up in discovery.
    async fn wait_for_kinds(
        &self,
        objects: &[Desired],
        defined: &HashSet<KindAt>,
        opts: &ApplyOptions,
    ) -> Result<(), ApplyError> {
        let deadline = Instant::now() + opts.wait_timeout;
        for d in objects
            .iter()
            .filter(|d| defined.contains(&KindAt::of(&d.object)))
        {
            loop {
                match self.target(&d.object).await {
                    Ok(_) => break,
                    Err(DiscoveryError::NoMatch { .. }) if Instant::now() < deadline => {
                        tokio::time::sleep(opts.wait_interval.min(POLL_CAP)).await;
                    }
                    Err(source) => {
                        return Err(ApplyError::UnknownKind {
                            object: Box::new(d.object.clone()),
                            source,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

const POLL_CAP: std::time::Duration = std::time::Duration::from_millis(200);

/// A kind at a group and version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct KindAt {
    group: String,
    version: String,
    kind: String,
}

impl KindAt {
    fn of(object: &ObjectRef) -> Self {
        Self {
            group: object.group.clone(),
            version: object.version.clone(),
            kind: object.kind.clone(),
        }
    }
}

/// Every (group, version, kind) that a CRD in the set serves.
fn crd_defined_kinds(desired: &[Desired]) -> HashSet<KindAt> {
    desired
        .iter()
        .filter(|d| {
            d.object.kind == "CustomResourceDefinition" && d.object.group == "apiextensions.k8s.io"
        })
        .flat_map(|d| kinds_of_crd(&d.body))
        .collect()
}

fn kinds_of_crd(crd: &Value) -> Vec<KindAt> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let kind = spec["names"]["kind"].as_str().unwrap_or_default();
    let versions = spec["versions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    versions
        .iter()
        .filter(|v| v["served"].as_bool().unwrap_or(true))
        .filter_map(|v| v["name"].as_str())
        .map(|version| KindAt {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired(body: Value) -> Desired {
        let object = ObjectRef::from_object(&body).unwrap_or_else(|e| panic!("{e}"));
        Desired { object, body }
    }

    #[test]
    fn crds_in_the_set_define_their_served_versions() {
        let crd = desired(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "Widget"},
                     "versions": [{"name": "v1", "served": true}, {"name": "v0", "served": false},
                                  {"name": "v2"}]}}));
        let cm = desired(json!({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "c", "namespace": "n"}}));
        let kinds = crd_defined_kinds(&[crd, cm]);
        let widget = |version: &str| KindAt {
            group: "example.com".into(),
            version: version.into(),
            kind: "Widget".into(),
        };
        assert!(kinds.contains(&widget("v1")));
        assert!(kinds.contains(&widget("v2")));
        assert!(!kinds.contains(&widget("v0")));
        assert_eq!(kinds.len(), 2);
    }
}
