//! What the Flux verbs need to know of each toolkit kind (GitRepository, Kustomization): how
//! Flux names it in messages, its suspension, conditions, handled reconcile request and revision.

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::serde::Serialize;
use k8s_openapi::serde::de::DeserializeOwned;
use std::fmt::Debug;
use tether_api::kustomize::v1::Kustomization;
use tether_api::source::v1::GitRepository;

/// A namespaced Flux object the verbs work on.
pub trait FluxObject:
    kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
{
    /// How `flux suspend` / `flux resume` name the kind: `kustomization`, `source git`.
    const HUMAN_KIND: &'static str;

    /// Whether `spec.suspend` is set.
    fn suspended(&self) -> bool;
    /// `status.conditions`, empty before the first reconcile.
    fn conditions(&self) -> &[Condition];
    /// `status.lastHandledReconcileAt`.
    fn last_handled_reconcile_at(&self) -> Option<&str>;
    /// `status.observedGeneration`.
    fn observed_generation(&self) -> Option<i64>;
    /// The revision `flux get` shows: the artifact's, or the last applied one.
    fn revision(&self) -> Option<&str>;
    /// What Flux prints after a successful reconcile: `fetched revision …`, `applied revision …`.
    fn success_message(&self) -> String;

    /// The last condition of `type_`, as Flux's `FindStatusCondition` finds it.
    fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions().iter().find(|c| c.type_ == type_)
    }
}

impl FluxObject for GitRepository {
    const HUMAN_KIND: &'static str = "source git";

    fn suspended(&self) -> bool {
        self.spec.suspend.unwrap_or(false)
    }

    fn conditions(&self) -> &[Condition] {
        let conditions = self.status.as_ref().and_then(|s| s.conditions.as_deref());
        conditions.unwrap_or_default()
    }

    fn last_handled_reconcile_at(&self) -> Option<&str> {
        self.status.as_ref()?.last_handled_reconcile_at.as_deref()
    }

    fn observed_generation(&self) -> Option<i64> {
        self.status.as_ref()?.observed_generation
    }

    fn revision(&self) -> Option<&str> {
        Some(self.status.as_ref()?.artifact.as_ref()?.revision.as_str())
    }

    fn success_message(&self) -> String {
        format!("fetched revision {}", self.revision().unwrap_or_default())
    }
}

impl FluxObject for Kustomization {
    const HUMAN_KIND: &'static str = "kustomization";

    fn suspended(&self) -> bool {
        self.spec.suspend.unwrap_or(false)
    }

    fn conditions(&self) -> &[Condition] {
        let conditions = self.status.as_ref().and_then(|s| s.conditions.as_deref());
        conditions.unwrap_or_default()
    }

    fn last_handled_reconcile_at(&self) -> Option<&str> {
        self.status.as_ref()?.last_handled_reconcile_at.as_deref()
    }

    fn observed_generation(&self) -> Option<i64> {
        self.status.as_ref()?.observed_generation
    }

    fn revision(&self) -> Option<&str> {
        self.status.as_ref()?.last_applied_revision.as_deref()
    }

    fn success_message(&self) -> String {
        format!("applied revision {}", self.revision().unwrap_or_default())
    }
}
