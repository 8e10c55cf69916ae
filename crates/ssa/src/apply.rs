//! The apply verb: server-side apply of a set of objects with force for our field manager,
//! writing only what drifted. Every object is first looked up and dry-run (concurrently, in
//! apply order); only when the whole set passed are the writes sent, one by one in apply order.
//! So a bad object — unknown kind, missing namespace, invalid field — fails the set before
//! anything in it is written. Objects that have not drifted are not written at all (`unchanged`).
//! A set none of whose objects was applied before skips the dry-runs (module `direct`).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::{FutureExt, StreamExt, TryStreamExt, stream};
use kube::api::PropagationPolicy;
use serde_json::Value;
use tether_core::changeset::{Action, ChangeSet, ChangeSetEntry};
use tether_core::object::{AsObjectRef, ObjectError, ObjectId, ObjectRef};
use tokio::time::Instant;

use crate::cleanup::{CleanupOptions, cleanup_patch};
use crate::diff::has_drifted;
use crate::discovery::DiscoveryError;
use crate::manager::ResourceManager;
use crate::metadata::{
    FORCE_ANNOTATION, RECONCILE_ANNOTATION, SSA_ANNOTATION, Selector, meta_str, stamp_labels,
};
use crate::request::{self, RequestError, Target};

/// Options of [`ResourceManager::apply_all`] and [`ResourceManager::apply_all_staged`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Recreate objects whose apply fails on an immutable field.
    pub force: bool,
    /// Objects (desired or live) matching this are recreated on immutable fields even when
    /// `force` is off.
    pub force_selector: Selector,
    /// Objects (desired or live) matching this are skipped.
    pub exclusion_selector: Selector,
    /// Desired objects matching this are only created, never updated.
    pub if_not_present_selector: Selector,
    /// Metadata removed from live objects before applying.
    pub cleanup: CleanupOptions,
    /// Extra kinds applied in their own stage, after the class definitions.
    pub custom_stage_kinds: std::collections::HashSet<tether_core::object::GroupKind>,
    /// Poll interval while waiting for staged definitions (and for recreated objects to go).
    pub wait_interval: Duration,
    /// How long to wait for staged definitions to become ready.
    pub wait_timeout: Duration,
    /// The objects the same owner applied before (its previous inventory). A stage none of
    /// whose objects is among them is applied without dry-runs (module `direct`). `None`
    /// (unknown): every stage is validated before it is written.
    pub previously_applied: Option<HashSet<ObjectId>>,
    /// Fields (JSON pointers) left out of the drift comparison, per object (Flux's
    /// `driftDetection.ignore`). An object written anyway is written with the live values at
    /// those pointers, so that what is ignored is never changed.
    pub ignored_fields: HashMap<ObjectId, Vec<String>>,
    /// A wait for the applied objects follows: what each apply answered is kept for the wait's
    /// first look at the object, which then costs no read while nobody else wrote the object.
    pub keep_applied: bool,
}

impl Default for ApplyOptions {
    /// kustomize-controller's settings: force off, `kustomize.toolkit.fluxcd.io/force: enabled`
    /// forces, `reconcile: disabled` and `ssa: Ignore` skip, `ssa: IfNotPresent` creates only,
    /// the default cleanup, waits polling every 2 s for at most 60 s; no previous inventory.
    fn default() -> Self {
        Self {
            force: false,
            force_selector: Selector::from_pairs(&[(FORCE_ANNOTATION, "enabled")]),
            exclusion_selector: Selector::from_pairs(&[
                (RECONCILE_ANNOTATION, "disabled"),
                (SSA_ANNOTATION, "Ignore"),
            ]),
            if_not_present_selector: Selector::from_pairs(&[(SSA_ANNOTATION, "IfNotPresent")]),
            cleanup: CleanupOptions::default(),
            custom_stage_kinds: Default::default(),
            wait_interval: Duration::from_secs(2),
            wait_timeout: Duration::from_secs(60),
            previously_applied: None,
            ignored_fields: HashMap::new(),
            keep_applied: false,
        }
    }
}

/// Errors of the apply verb. Messages start with the object, as Flux's do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// An input document is not a Kubernetes object (no kind, name, ...).
    #[error("object #{index}: {source}")]
    InvalidObject {
        /// Position of the document in the input.
        index: usize,
        /// What is missing.
        source: ObjectError,
    },
    /// The kind is not served by the API server, nor defined by a CRD in the set.
    #[error("{object} dry-run failed: {source}")]
    UnknownKind {
        /// The object.
        object: Box<ObjectRef>,
        /// The discovery failure.
        source: DiscoveryError,
    },
    /// A namespaced object without a namespace.
    #[error("{object} namespace not specified")]
    NamespaceNotSpecified {
        /// The object.
        object: Box<ObjectRef>,
    },
    /// Reading the live object failed.
    #[error("{object} query failed: {source}")]
    Query {
        /// The object.
        object: Box<ObjectRef>,
        /// The failed request.
        source: RequestError,
    },
    /// The API server refused the dry-run: the object is invalid, or changes an immutable field
    /// without force.
    #[error("{object} dry-run failed{}: {source}", reason_suffix(.source))]
    DryRun {
        /// The object.
        object: Box<ObjectRef>,
        /// The failed request.
        source: RequestError,
    },
    /// Removing stale metadata and managers from the live object failed.
    #[error("{object} metadata.managedFields cleanup failed: {source}")]
    Cleanup {
        /// The object.
        object: Box<ObjectRef>,
        /// The failed request.
        source: RequestError,
    },
    /// Deleting an object to recreate it (immutable field with force) failed.
    #[error("{object} immutable field detected, failed to delete object: {source}")]
    Recreate {
        /// The object.
        object: Box<ObjectRef>,
        /// The failed request.
        source: RequestError,
    },
    /// The (non dry-run) apply failed.
    #[error("{object} apply failed: {source}")]
    Apply {
        /// The object.
        object: Box<ObjectRef>,
        /// The failed request.
        source: RequestError,
    },
    /// Staged definitions did not become ready.
    #[error(transparent)]
    Wait(#[from] crate::wait::WaitError),
}

fn reason_suffix(error: &RequestError) -> String {
    if error.reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", error.reason)
    }
}

impl ApplyError {
    /// Whether retrying the same input cannot help: malformed documents, missing namespaces and
    /// objects the API server rejects as invalid or malformed. Unknown kinds are not terminal
    /// (the CRD may be installed later), nor are transport failures.
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::InvalidObject { .. } | Self::NamespaceNotSpecified { .. } => true,
            Self::DryRun { source, .. } => matches!(source.code, 400 | 422),
            _ => false,
        }
    }
}

/// A desired object with its identity, owner labels stamped.
#[derive(Debug, Clone)]
pub(crate) struct Desired {
    pub object: ObjectRef,
    pub body: Value,
}

impl AsObjectRef for Desired {
    fn object_ref(&self) -> &ObjectRef {
        &self.object
    }
}

/// What the write phase does for one object.
enum Write {
    Nothing,
    Apply { cleanup: Option<Value> },
    Recreate,
}

struct Planned {
    target: Target,
    body: Value,
    /// [`digest_of`] the body.
    digest: u64,
    action: Action,
    write: Write,
    /// For a drifted object: the live object and the dry-run result it was compared with.
    compared: Option<Box<(Option<Value>, Value)>>,
}

/// One object of [`ResourceManager::diff_objects`]: what applying would do and, when it would
/// change a live object, the live object and the server's dry-run result (Flux's
/// `ResourceManager.Diff`).
#[derive(Debug, Clone)]
pub struct ObjectDiff {
    /// The object and its action.
    pub entry: ChangeSetEntry,
    /// The live object, when the action is `configured`.
    pub live: Option<Value>,
    /// The dry-run result (the object as applying would leave it), when `configured`.
    pub merged: Option<Value>,
}

impl ResourceManager {
    /// Applies `objects` (in Flux's kind order, without stages): validates every object, then
    /// writes those that drifted. Returns one entry per object.
    pub async fn apply_all(
        &self,
        objects: Vec<Value>,
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, ApplyError> {
        let mut desired = self.prepare(objects)?;
        tether_core::order::sort_for_apply(&mut desired);
        self.apply_prepared(&desired, opts).await
    }

    /// What [`Self::apply_all`] would do to `objects`, without writing anything: `created` for
    /// objects that are missing, `configured` for those that drifted, `unchanged` and `skipped`
    /// as the apply would decide them (drift detection, as helm-controller's `warn` mode).
    pub async fn diff_all(
        &self,
        objects: Vec<Value>,
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, ApplyError> {
        let mut change_set = ChangeSet::new();
        for diff in self.diff_objects(objects, opts).await? {
            change_set.add(diff.entry);
        }
        Ok(change_set)
    }

    /// [`Self::diff_all`] with, for each object that drifted, the live object and the dry-run
    /// result (the fields `ignored_fields` names removed from both), in apply order.
    pub async fn diff_objects(
        &self,
        objects: Vec<Value>,
        opts: &ApplyOptions,
    ) -> Result<Vec<ObjectDiff>, ApplyError> {
        let mut desired = self.prepare(objects)?;
        tether_core::order::sort_for_apply(&mut desired);
        let plans: Vec<_> = desired.iter().map(|d| self.plan(d, opts).boxed()).collect();
        let planned: Vec<Planned> = stream::iter(plans)
            .buffered(self.concurrency())
            .try_collect()
            .await?;
        Ok(planned
            .into_iter()
            .map(|plan| {
                let (mut live, mut merged) = match plan.compared {
                    Some(compared) => (compared.0, Some(compared.1)),
                    None => (None, None),
                };
                // As Flux's Diff returns them: without the fields the ignore rules leave out.
                let ignored = opts.ignored_fields.get(&plan.target.object.id());
                for pointer in ignored.into_iter().flatten() {
                    for side in [live.as_mut(), merged.as_mut()].into_iter().flatten() {
                        remove_pointer(side, pointer);
                    }
                }
                ObjectDiff {
                    entry: ChangeSetEntry::new(plan.target.object, plan.action),
                    live,
                    merged,
                }
            })
            .collect())
    }

    /// Reads identities and stamps owner labels.
    pub(crate) fn prepare(&self, objects: Vec<Value>) -> Result<Vec<Desired>, ApplyError> {
        objects
            .into_iter()
            .enumerate()
            .map(|(index, mut body)| {
                let object = ObjectRef::from_object(&body)
                    .map_err(|source| ApplyError::InvalidObject { index, source })?;
                stamp_labels(&mut body, self.owner_labels());
                Ok(Desired { object, body })
            })
            .collect()
    }

    /// Applies one stage: directly when none of its objects was applied before, else validated
    /// first.
    pub(crate) async fn apply_prepared(
        &self,
        desired: &[Desired],
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, ApplyError> {
        match self.located_if_all_new(desired, opts).await {
            Some(located) => self.apply_new(desired, located, opts).await,
            None => self.apply_validated(desired, opts).await,
        }
    }

    /// Plans every object (reads and dry-runs only), then sends the writes in order.
    pub(crate) async fn apply_validated(
        &self,
        desired: &[Desired],
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, ApplyError> {
        // The futures are built before the stream so that no closure over borrowed items
        // lives in this future's state: rustc cannot prove such a closure Send for callers.
        let plans: Vec<_> = desired.iter().map(|d| self.plan(d, opts).boxed()).collect();
        let planned: Vec<Planned> = stream::iter(plans)
            .buffered(self.concurrency())
            .try_collect()
            .await?;
        let mut change_set = ChangeSet::new();
        for plan in planned {
            self.write(&plan, opts).await?;
            change_set.add(ChangeSetEntry::new(plan.target.object, plan.action));
        }
        Ok(change_set)
    }

    /// Decides what to do with one object without writing anything. The dry-run comes first:
    /// when it shows the object does not exist yet there is nothing live to read, skip on or
    /// compare with, so creating costs no GET; when the index of known objects shows it changed
    /// nothing (a resync at an unchanged revision), it stands for the live object, so a no-op
    /// costs no GET either. Before all that, an object the index knows to be unchanged since a
    /// dry-run of the same body found nothing to do costs no request at all.
    async fn plan(&self, desired: &Desired, opts: &ApplyOptions) -> Result<Planned, ApplyError> {
        let (target, mut body) = self.locate(desired).await?;
        let ignored = opts
            .ignored_fields
            .get(&desired.object.id())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let digest = digest_of(&body);
        let planned = |action, write| Planned {
            target: target.clone(),
            body: body.clone(),
            digest,
            action,
            write,
            compared: None,
        };
        if opts.exclusion_selector.matches(&body) {
            return Ok(planned(Action::Skipped, Write::Nothing));
        }
        let known = self.known_objects();
        if known.verified(&target, digest) {
            return Ok(planned(Action::Unchanged, Write::Nothing));
        }
        let dry_run =
            request::server_side_apply(self.client(), &target, &body, self.field_manager(), true)
                .await;
        if let Ok(result) = &dry_run
            && meta_str(result, "resourceVersion").is_empty()
        {
            return Ok(planned(Action::Created, Write::Apply { cleanup: None }));
        }
        let no_op = dry_run
            .as_ref()
            .is_ok_and(|result| known.unchanged_by(&target, result, self.field_manager()));
        let live = match &dry_run {
            // A dry-run that changed nothing is the live object: no need to read it.
            Ok(result) if no_op => Some(result.clone()),
            _ => self.read(&target).await?,
        };
        if skips(&body, live.as_ref(), opts) {
            return Ok(planned(Action::Skipped, Write::Nothing));
        }
        let dry_run = match dry_run {
            Ok(result) => result,
            Err(e) if forces_recreate(&body, live.as_ref(), &e, opts) => {
                return Ok(planned(Action::Created, Write::Recreate));
            }
            Err(source) => return Err(dry_run_error(&target, source)),
        };
        let (live, dry_run) = self.same_version(&target, &body, live, dry_run).await?;
        let cleanup = live
            .as_ref()
            .and_then(|l| cleanup_patch(&body, l, self.field_manager(), &opts.cleanup));
        if cleanup.is_none() && !drifted_outside(live.as_ref(), &dry_run, ignored) {
            known.verify(&target, meta_str(&dry_run, "resourceVersion"), digest);
            return Ok(planned(Action::Unchanged, Write::Nothing));
        }
        if let Some(live) = &live {
            keep_live_values(&mut body, live, ignored);
        }
        let action = if meta_str(&dry_run, "resourceVersion").is_empty() {
            Action::Created
        } else {
            Action::Configured
        };
        let compared = (action == Action::Configured).then(|| Box::new((live, dry_run)));
        Ok(Planned {
            target,
            body,
            digest,
            action,
            write: Write::Apply { cleanup },
            compared,
        })
    }

    async fn read(&self, target: &Target) -> Result<Option<Value>, ApplyError> {
        request::get(self.client(), target)
            .await
            .map_err(|source| query_error(target, source))
    }

    /// The live object and a dry-run of `body` over the same version of it. Another writer
    /// between the dry-run and the read (the Deployment controller annotates a Deployment just
    /// after it is created) would otherwise show up as drift, and an unchanged object would be
    /// written. A dry-run leaves `resourceVersion` as it was, so equal versions mean both saw
    /// the same object; while they differ, the older view is taken again, a few times at most
    /// (an object that keeps changing is compared as it stands, at worst costing a write).
    async fn same_version(
        &self,
        target: &Target,
        body: &Value,
        mut live: Option<Value>,
        mut dry_run: Value,
    ) -> Result<(Option<Value>, Value), ApplyError> {
        for _ in 0..SAME_VERSION_ATTEMPTS {
            let Some(current) = &live else { break };
            let live_version = meta_str(current, "resourceVersion");
            if live_version == meta_str(&dry_run, "resourceVersion") {
                break;
            }
            dry_run =
                request::server_side_apply(self.client(), target, body, self.field_manager(), true)
                    .await
                    .map_err(|source| dry_run_error(target, source))?;
            if meta_str(&dry_run, "resourceVersion") == live_version {
                break;
            }
            live = self.read(target).await?;
        }
        Ok((live, dry_run))
    }

    /// Resolves the object's kind and scope; a cluster-scoped object loses its namespace.
    pub(crate) async fn locate(&self, desired: &Desired) -> Result<(Target, Value), ApplyError> {
        let (target, namespaced) =
            self.target(&desired.object)
                .await
                .map_err(|source| ApplyError::UnknownKind {
                    object: Box::new(desired.object.clone()),
                    source,
                })?;
        if namespaced && target.object.namespace.is_empty() {
            return Err(ApplyError::NamespaceNotSpecified {
                object: Box::new(desired.object.clone()),
            });
        }
        let mut body = desired.body.clone();
        if !namespaced
            && let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut)
        {
            metadata.remove("namespace");
        }
        Ok((target, body))
    }

    async fn write(&self, plan: &Planned, opts: &ApplyOptions) -> Result<(), ApplyError> {
        let target = &plan.target;
        match &plan.write {
            Write::Nothing => return Ok(()),
            Write::Apply {
                cleanup: Some(patch),
            } => {
                request::json_patch(self.client(), target, patch, self.field_manager())
                    .await
                    .map_err(|source| ApplyError::Cleanup {
                        object: Box::new(target.object.clone()),
                        source,
                    })?;
            }
            Write::Apply { cleanup: None } => {}
            Write::Recreate => self.delete_and_wait_gone(target, opts).await?,
        }
        let applied = request::server_side_apply(
            self.client(),
            target,
            &plan.body,
            self.field_manager(),
            false,
        )
        .await
        .map_err(|source| ApplyError::Apply {
            object: Box::new(target.object.clone()),
            source,
        })?;
        let known = self.known_objects();
        known.verify(target, meta_str(&applied, "resourceVersion"), plan.digest);
        if opts.keep_applied {
            known.keep_applied(target, applied);
        }
        Ok(())
    }

    /// Deletes the live object (background propagation) and waits until it is gone, so that
    /// finalizers run before the object is created again.
    async fn delete_and_wait_gone(
        &self,
        target: &Target,
        opts: &ApplyOptions,
    ) -> Result<(), ApplyError> {
        let recreate_error = |source| ApplyError::Recreate {
            object: Box::new(target.object.clone()),
            source,
        };
        request::delete(self.client(), target, PropagationPolicy::Background)
            .await
            .map_err(recreate_error)?;
        let deadline = Instant::now() + opts.wait_timeout;
        let pause = opts.wait_interval.min(Duration::from_millis(250));
        while request::get(self.client(), target)
            .await
            .map_err(recreate_error)?
            .is_some()
        {
            if Instant::now() >= deadline {
                return Err(recreate_error(RequestError {
                    code: 0,
                    reason: "Timeout".into(),
                    message: format!("still present after {:?}", opts.wait_timeout),
                }));
            }
            tokio::time::sleep(pause).await;
        }
        Ok(())
    }
}

/// Whether the object is left alone: excluded (desired or live), or create-only and present.
/// Whether the dry-run differs from the live object outside the `ignored` pointers.
fn drifted_outside(live: Option<&Value>, dry_run: &Value, ignored: &[String]) -> bool {
    if ignored.is_empty() {
        return has_drifted(live, dry_run);
    }
    let (mut live, mut dry_run) = (live.cloned(), dry_run.clone());
    for pointer in ignored {
        remove_pointer(&mut dry_run, pointer);
        if let Some(live) = live.as_mut() {
            remove_pointer(live, pointer);
        }
    }
    has_drifted(live.as_ref(), &dry_run)
}

/// Sets each `ignored` pointer of `body` to the live value there (or removes it when the live
/// object has none), so that applying `body` leaves those fields as they are.
fn keep_live_values(body: &mut Value, live: &Value, ignored: &[String]) {
    for pointer in ignored {
        match live.pointer(pointer) {
            Some(value) => set_pointer(body, pointer, value.clone()),
            None => remove_pointer(body, pointer),
        }
    }
}

fn remove_pointer(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = unescape_pointer_token(last);
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(index) = key.parse::<usize>()
                && index < items.len()
            {
                items.remove(index);
            }
        }
        _ => {}
    }
}

/// Sets the value at `pointer`, creating the mappings on the way (not array elements).
fn set_pointer(value: &mut Value, pointer: &str, new: Value) {
    let mut current = value;
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(unescape_pointer_token)
        .collect();
    let Some((last, path)) = tokens.split_last() else {
        return;
    };
    for token in path {
        current = match current {
            Value::Object(map) => map
                .entry(token.clone())
                .or_insert_with(|| Value::Object(Default::default())),
            Value::Array(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i))
            {
                Some(item) => item,
                None => return,
            },
            _ => return,
        };
    }
    match current {
        Value::Object(map) => {
            map.insert(last.clone(), new);
        }
        Value::Array(items) => {
            if let Some(item) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *item = new;
            }
        }
        _ => {}
    }
}

fn unescape_pointer_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn skips(desired: &Value, live: Option<&Value>, opts: &ApplyOptions) -> bool {
    let excluded = opts.exclusion_selector.matches(desired)
        || live.is_some_and(|l| opts.exclusion_selector.matches(l));
    excluded || (live.is_some() && opts.if_not_present_selector.matches(desired))
}

/// Whether a failed dry-run is answered by deleting and recreating the live object.
fn forces_recreate(
    desired: &Value,
    live: Option<&Value>,
    error: &RequestError,
    opts: &ApplyOptions,
) -> bool {
    let Some(live) = live else {
        return false;
    };
    error.is_immutable()
        && (opts.force || opts.force_selector.matches(desired) || opts.force_selector.matches(live))
}

/// A digest of a desired body, to recognise the same body at the next resync.
pub(crate) fn digest_of(body: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    hasher.finish()
}

/// How many times [`ResourceManager::same_version`] takes a view again.
const SAME_VERSION_ATTEMPTS: usize = 3;

fn query_error(target: &Target, source: RequestError) -> ApplyError {
    ApplyError::Query {
        object: Box::new(target.object.clone()),
        source,
    }
}

fn dry_run_error(target: &Target, source: RequestError) -> ApplyError {
    if source.is_not_found() && target.object.namespace.is_empty() {
        return ApplyError::NamespaceNotSpecified {
            object: Box::new(target.object.clone()),
        };
    }
    ApplyError::DryRun {
        object: Box::new(target.object.clone()),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(annotations: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": "n", "annotations": annotations}})
    }

    #[test]
    fn skip_rules_follow_flux_annotations() {
        let opts = ApplyOptions::default();
        let plain = cm(json!({}));
        assert!(!skips(&plain, None, &opts));
        assert!(skips(
            &cm(json!({RECONCILE_ANNOTATION: "disabled"})),
            None,
            &opts
        ));
        assert!(skips(&cm(json!({SSA_ANNOTATION: "ignore"})), None, &opts));
        assert!(skips(
            &plain,
            Some(&cm(json!({RECONCILE_ANNOTATION: "Disabled"}))),
            &opts
        ));
        let create_only = cm(json!({SSA_ANNOTATION: "IfNotPresent"}));
        assert!(!skips(&create_only, None, &opts));
        assert!(skips(&create_only, Some(&plain), &opts));
    }

    #[test]
    fn recreate_needs_a_live_object_an_immutable_error_and_force() {
        let immutable = RequestError {
            code: 422,
            reason: "Invalid".into(),
            message: "field is immutable".into(),
        };
        let other = RequestError {
            code: 500,
            reason: String::new(),
            message: "boom".into(),
        };
        let mut opts = ApplyOptions::default();
        let plain = cm(json!({}));
        let forced = cm(json!({FORCE_ANNOTATION: "enabled"}));
        assert!(!forces_recreate(&plain, Some(&plain), &immutable, &opts));
        assert!(forces_recreate(&forced, Some(&plain), &immutable, &opts));
        assert!(forces_recreate(&plain, Some(&forced), &immutable, &opts));
        assert!(!forces_recreate(&forced, None, &immutable, &opts));
        opts.force = true;
        assert!(forces_recreate(&plain, Some(&plain), &immutable, &opts));
        assert!(!forces_recreate(&plain, Some(&plain), &other, &opts));
    }

    #[test]
    fn errors_name_the_object_first() {
        let object = ObjectRef {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            namespace: "apps".into(),
            name: "web".into(),
        };
        let source = RequestError {
            code: 422,
            reason: "Invalid".into(),
            message: "spec.replicas: Invalid value".into(),
        };
        let error = ApplyError::DryRun {
            object: Box::new(object.clone()),
            source: source.clone(),
        };
        assert_eq!(
            error.to_string(),
            "Deployment/apps/web dry-run failed (Invalid): spec.replicas: Invalid value"
        );
        assert!(error.is_terminal());
        let error = ApplyError::Apply {
            object: Box::new(object),
            source,
        };
        assert!(
            error
                .to_string()
                .starts_with("Deployment/apps/web apply failed: ")
        );
        assert!(!error.is_terminal(), "a failed apply is retried");
    }

    #[test]
    fn ignored_fields_do_not_count_as_drift_and_keep_their_live_values() {
        let live = serde_json::json!({"metadata": {"resourceVersion": "7"},
            "spec": {"replicas": 5, "template": {"image": "a"}, "paused": true}});
        let dry_run = serde_json::json!({"metadata": {"resourceVersion": "7"},
            "spec": {"replicas": 2, "template": {"image": "a"}}});
        let ignored = ["/spec/replicas".to_owned(), "/spec/paused".to_owned()];
        assert!(drifted_outside(Some(&live), &dry_run, &[]));
        assert!(!drifted_outside(Some(&live), &dry_run, &ignored));
        let changed = serde_json::json!({"metadata": {"resourceVersion": "7"},
            "spec": {"replicas": 2, "template": {"image": "b"}}});
        assert!(drifted_outside(Some(&live), &changed, &ignored));

        let mut body = serde_json::json!({"spec": {"replicas": 2, "template": {"image": "b"},
            "strategy": {"type": "Recreate"}}});
        let ignored = [
            "/spec/replicas".to_owned(),
            "/spec/paused".to_owned(),
            "/spec/strategy".to_owned(),
            "/metadata/annotations/a~1b".to_owned(),
        ];
        let live = serde_json::json!({"metadata": {"annotations": {"a/b": "kept"}},
            "spec": {"replicas": 5, "paused": true}});
        keep_live_values(&mut body, &live, &ignored);
        assert_eq!(
            body,
            serde_json::json!({"metadata": {"annotations": {"a/b": "kept"}},
                "spec": {"replicas": 5, "paused": true, "template": {"image": "b"}}})
        );
    }
}
