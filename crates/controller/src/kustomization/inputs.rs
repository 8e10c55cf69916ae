//! Everything a Kustomization reads from the cluster before building: its dependencies'
//! readiness, its source's artifact (from the shared source caches), and the post-build
//! variables from ConfigMaps and Secrets.

use crate::context::Context;
use crate::failure::Failure;
use crate::key::ObjectKey;
use crate::sources::ArtifactSource;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use std::sync::Arc;
use tether_api::kustomize::v1::{Kustomization, SourceKind, SubstituteKind};
use tether_api::meta::Artifact;
use tether_api::meta::conditions::reasons;
use tether_api::meta::conditions::{READY, is_true};
use tether_api::source::v1::{Bucket, ExternalArtifact, GitRepository, OCIRepository};
use tether_postbuild::{VariableSource, Variables};

/// Fails when a `dependsOn` entry is missing or not Ready at its current generation, or, for an
/// entry with a `readyExpr`, when the expression does not hold. A dependency built from the
/// same source must also have applied `artifact`'s revision (Flux: "revision is not up to
/// date"), so a dependent never applies a revision its dependency has not applied yet.
pub fn check_dependencies(
    ks: &Kustomization,
    ctx: &Context,
    artifact: &Artifact,
) -> Result<(), Failure> {
    let own_namespace = ks.namespace().unwrap_or_default();
    for dependency in ks.spec.depends_on.iter().flatten() {
        let namespace = dependency
            .namespace
            .clone()
            .unwrap_or_else(|| own_namespace.clone());
        let key = ObjectRef::<Kustomization>::new(&dependency.name).within(&namespace);
        let name = format!("{namespace}/{}", dependency.name);
        let Some(found) = ctx.kustomizations.get(&key) else {
            return Err(Failure::new(
                reasons::DEPENDENCY_NOT_READY,
                format!("unable to get '{name}' dependency: Kustomization not found"),
            ));
        };
        if let Some(expression) = dependency.ready_expr.as_deref().filter(|e| !e.is_empty()) {
            crate::dependency_expr::ready_by_expr(
                expression,
                ks,
                found.as_ref(),
                &dependency.name,
                &name,
            )?;
            continue;
        }
        if !dependency_ready(&found) {
            return Err(Failure::new(
                reasons::DEPENDENCY_NOT_READY,
                format!("dependency '{name}' is not ready"),
            ));
        }
        if !applied_revision_of(ks, &found, artifact) {
            return Err(Failure::new(
                reasons::DEPENDENCY_NOT_READY,
                format!("dependency '{name}' revision is not up to date"),
            ));
        }
    }
    Ok(())
}

/// Whether `dependency`, when it shares `ks`'s source, last applied that source's `artifact`.
/// A dependency with another source is not compared.
fn applied_revision_of(
    ks: &Kustomization,
    dependency: &Kustomization,
    artifact: &Artifact,
) -> bool {
    if source_key(dependency) != source_key(ks) {
        return true;
    }
    let applied = dependency
        .status
        .as_ref()
        .and_then(|s| s.last_applied_revision.as_deref())
        .unwrap_or_default();
    artifact.has_revision(applied)
}

fn dependency_ready(dependency: &Kustomization) -> bool {
    let Some(status) = &dependency.status else {
        return false;
    };
    status.observed_generation == dependency.meta().generation
        && status
            .conditions
            .as_ref()
            .is_some_and(|c| is_true(c, READY))
}

/// Refuses a source in another namespace under `--no-cross-namespace-refs`, in Flux's words.
pub fn check_source_access(ks: &Kustomization, ctx: &Context) -> Result<(), Failure> {
    if !ctx.options.no_cross_namespace_refs
        || source_namespace(ks) == ks.namespace().unwrap_or_default()
    {
        return Ok(());
    }
    Err(Failure::access_denied(format!(
        "can't access '{}', cross-namespace references have been blocked",
        shown_source(ks)
    )))
}

/// The artifact of the Kustomization's source. The source comes from the cache; one the cache
/// does not hold (yet: at start-up a Kustomization may be reconciled before the source cache
/// has its first list) is read from the API server before it is reported missing.
pub async fn source_artifact(ks: &Kustomization, ctx: &Context) -> Result<Artifact, Failure> {
    match ks.spec.source_ref.kind {
        SourceKind::GitRepository => artifact_from::<GitRepository>(ks, ctx).await,
        SourceKind::OciRepository => artifact_from::<OCIRepository>(ks, ctx).await,
        SourceKind::Bucket => artifact_from::<Bucket>(ks, ctx).await,
        SourceKind::ExternalArtifact => artifact_from::<ExternalArtifact>(ks, ctx).await,
    }
}

/// [`source_artifact`] from the cache alone.
pub fn cached_source_artifact(ks: &Kustomization, ctx: &Context) -> Result<Artifact, Failure> {
    let shown = shown_source(ks);
    match ks.spec.source_ref.kind {
        SourceKind::GitRepository => cached_artifact::<GitRepository>(ks, ctx, &shown),
        SourceKind::OciRepository => cached_artifact::<OCIRepository>(ks, ctx, &shown),
        SourceKind::Bucket => cached_artifact::<Bucket>(ks, ctx, &shown),
        SourceKind::ExternalArtifact => cached_artifact::<ExternalArtifact>(ks, ctx, &shown),
    }
}

async fn artifact_from<K: ArtifactSource>(
    ks: &Kustomization,
    ctx: &Context,
) -> Result<Artifact, Failure> {
    let shown = shown_source(ks);
    let source = match cached_source::<K>(ks, ctx) {
        Some(source) => source,
        None => {
            let api = Api::<K>::namespaced(ctx.client.clone(), &source_namespace(ks));
            match api.get_opt(&ks.spec.source_ref.name).await {
                Ok(Some(source)) => Arc::new(source),
                Ok(None) => return Err(source_not_found(&shown)),
                Err(error) => {
                    return Err(Failure::source_unavailable(format!(
                        "Source '{shown}' cannot be read: {error}"
                    )));
                }
            }
        }
    };
    artifact_of(source.as_ref(), &shown)
}

fn cached_artifact<K: ArtifactSource>(
    ks: &Kustomization,
    ctx: &Context,
    shown: &str,
) -> Result<Artifact, Failure> {
    let source = cached_source::<K>(ks, ctx).ok_or_else(|| source_not_found(shown))?;
    artifact_of(source.as_ref(), shown)
}

/// The source as the cache holds it (or the trigger watch saw it, if newer).
fn cached_source<K: ArtifactSource>(ks: &Kustomization, ctx: &Context) -> Option<Arc<K>> {
    let namespace = source_namespace(ks);
    let name = &ks.spec.source_ref.name;
    let stored = K::store(ctx).get(&ObjectRef::new(name).within(&namespace));
    K::newest(ctx).newest(stored, &namespace, name)
}

fn source_namespace(ks: &Kustomization) -> String {
    ks.spec
        .source_ref
        .namespace
        .clone()
        .unwrap_or_else(|| ks.namespace().unwrap_or_default())
}

/// The key of the Kustomization's source: what its health waits are cancelled by, and how
/// Flux names the source in its messages (`GitRepository/<namespace>/<name>`).
pub fn source_key(ks: &Kustomization) -> ObjectKey {
    let source = &ks.spec.source_ref;
    ObjectKey::new(
        tether_api::source::GROUP,
        source_kind_name(&source.kind),
        &source_namespace(ks),
        &source.name,
    )
}

fn shown_source(ks: &Kustomization) -> String {
    source_key(ks).to_string()
}

fn source_not_found(shown: &str) -> Failure {
    Failure::source_unavailable(format!("Source '{shown}' not found"))
}

/// The source's artifact, or why there is none.
fn artifact_of<K: ArtifactSource>(source: &K, shown: &str) -> Result<Artifact, Failure> {
    if let Some(artifact) = source.artifact() {
        return Ok(artifact.clone());
    }
    let message = format!("Source '{shown}' is not ready, artifact not found");
    if source.first_fetch_pending() {
        Err(Failure::source_first_fetch_pending(message))
    } else {
        Err(Failure::source_unavailable(message))
    }
}

pub fn source_kind_name(kind: &SourceKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{kind:?}"))
}

/// The variables of `spec.postBuild`, reading `substituteFrom` in order.
pub async fn substitution_variables(
    ks: &Kustomization,
    client: &kube::Client,
) -> Result<Option<Variables>, Failure> {
    let Some(post_build) = &ks.spec.post_build else {
        return Ok(None);
    };
    let namespace = ks.namespace().unwrap_or_default();
    let mut sources = Vec::new();
    for reference in post_build.substitute_from.iter().flatten() {
        let secret = matches!(reference.kind, SubstituteKind::Secret);
        let kind = if secret { "Secret" } else { "ConfigMap" };
        let optional = reference.optional == Some(true);
        let source = if secret {
            read_secret(client, &namespace, &reference.name).await
        } else {
            read_config_map(client, &namespace, &reference.name).await
        };
        match source {
            Ok(Some(source)) => sources.push(source),
            Ok(None) if optional => {}
            Ok(None) => {
                return Err(Failure::build(format!(
                    "substitute from '{kind}/{}' failed: {} \"{}\" not found",
                    reference.name,
                    if secret { "secrets" } else { "configmaps" },
                    reference.name
                )));
            }
            Err(error) => {
                return Err(Failure::build(format!(
                    "substitute from '{kind}/{}' failed: {error}",
                    reference.name
                )));
            }
        }
    }
    resolve_variables(&sources, post_build)
}

/// The inline `postBuild.substitute` variables alone: no Secret or ConfigMap is read (Flux's
/// `build --dry-run`).
pub fn substitution_variables_inline(ks: &Kustomization) -> Result<Option<Variables>, Failure> {
    match &ks.spec.post_build {
        Some(post_build) => resolve_variables(&[], post_build),
        None => Ok(None),
    }
}

fn resolve_variables(
    sources: &[VariableSource],
    post_build: &tether_api::kustomize::v1::PostBuild,
) -> Result<Option<Variables>, Failure> {
    let inline = post_build
        .substitute
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()));
    Variables::resolve(sources, inline)
        .map(Some)
        .map_err(|e| Failure::build(e.to_string()))
}

async fn read_config_map(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<VariableSource>, kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    Ok(api
        .get_opt(name)
        .await?
        .map(|cm| VariableSource::config_map(name, cm.data.unwrap_or_default())))
}

async fn read_secret(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<VariableSource>, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    Ok(api.get_opt(name).await?.map(|secret| {
        let data = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0));
        VariableSource::secret(name, data)
    }))
}
