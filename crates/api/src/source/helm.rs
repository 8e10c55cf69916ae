//! HelmRepository and HelmChart parts shared by their served versions (v1 and v1beta2): the
//! repository type and authentication provider, the chart's source reference, its reconcile
//! strategy and its signature verification.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::oci::OIDCIdentityMatch;
use crate::{meta::LocalObjectReference, string_enum::string_enum};

/// The pattern a HelmRepository URL must match.
pub const HELM_REPOSITORY_URL_PATTERN: &str = "^(http|https|oci)://.*$";

/// The version constraint a HelmChart uses when none is given: the latest version.
pub const DEFAULT_CHART_VERSION: &str = "*";

string_enum! {
    /// What a HelmRepository URL points at.
    #[derive(Default)]
    pub enum HelmRepositoryType {
        /// A Helm repository served over HTTP(S), with an `index.yaml`.
        #[default]
        Default = "default",
        /// An OCI registry holding charts as OCI artifacts (`oci://` URLs).
        Oci = "oci",
    }
}

string_enum! {
    /// How an OCI HelmRepository authenticates to its registry.
    #[derive(Default)]
    pub enum HelmRepositoryProvider {
        /// Credentials from `spec.secretRef` (or none).
        #[default]
        Generic = "generic",
        /// Amazon ECR with the controller's IAM identity.
        Aws = "aws",
        /// Azure Container Registry with a managed identity.
        Azure = "azure",
        /// Google Artifact Registry with the workload identity.
        Gcp = "gcp",
    }
}

string_enum! {
    /// What makes a HelmChart produce a new artifact.
    #[derive(Default)]
    pub enum ReconcileStrategy {
        /// A new chart version (the default).
        #[default]
        ChartVersion = "ChartVersion",
        /// A new revision of the source (for Git and Bucket sources, any new commit or object).
        Revision = "Revision",
    }
}

string_enum! {
    /// The kinds of source a HelmChart can take its chart from.
    pub enum HelmChartSourceKind {
        /// A Helm repository (HTTP(S) or OCI).
        HelmRepository = "HelmRepository",
        /// A Git repository holding the chart directory.
        GitRepository = "GitRepository",
        /// An S3-compatible bucket holding the chart directory.
        Bucket = "Bucket",
    }
}

/// The source a HelmChart takes its chart from, in the HelmChart's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalHelmChartSourceReference {
    /// API version of the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: HelmChartSourceKind,
    /// Name of the source.
    pub name: String,
}

string_enum! {
    /// The signature scheme of an OCI chart.
    #[derive(Default)]
    pub enum HelmChartVerificationProvider {
        /// Sigstore cosign signatures (keyed or keyless).
        #[default]
        Cosign = "cosign",
        /// Notary Project (notation) signatures.
        Notation = "notation",
    }
}

/// Signature verification of a chart pulled from an OCI HelmRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartVerification {
    /// The verification scheme; `cosign` by default.
    #[schemars(extend("default" = "cosign"))]
    pub provider: HelmChartVerificationProvider,
    /// A Secret with the trusted public keys (cosign) or certificates and trust policy
    /// (notation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Keyless cosign: the OIDC identities whose signatures are trusted; any one must match.
    #[serde(rename = "matchOIDCIdentity", skip_serializing_if = "Option::is_none")]
    pub match_oidc_identity: Option<Vec<OIDCIdentityMatch>>,
}
