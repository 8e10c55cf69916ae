//! OCIRepository parts shared by its served versions (v1 and v1beta2 have the same spec): the
//! reference to pull, the layer to take, the verification settings and the provider.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{meta::LocalObjectReference, string_enum::string_enum};

/// The pattern an OCIRepository URL must match.
pub const OCI_URL_PATTERN: &str = "^oci://.*$";

/// Which artifact of the repository to pull; precedence: digest, semver, tag (`latest` when
/// all are empty).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositoryRef {
    /// The image digest to pull, `<algorithm>:<hex>`; takes precedence over semver and tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// A semver range the tag must satisfy, picking the highest; takes precedence over tag.
    #[serde(rename = "semver", skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// A regular expression the tags are filtered with before the semver range is applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semver_filter: Option<String>,
    /// The tag to pull; `latest` when no reference is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// Which layer of the artifact becomes the source, and how.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCILayerSelector {
    /// The media type of the layer to take; the first layer when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// `extract` (the default) unpacks the layer, a tarball; `copy` stores it as it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<OCILayerOperation>,
}

string_enum! {
    /// What is done with the selected layer.
    #[derive(Default)]
    pub enum OCILayerOperation {
        /// Unpack the layer, a gzipped tarball, and archive its files as the artifact.
        #[default]
        Extract = "extract",
        /// Store the layer unchanged as the artifact.
        Copy = "copy",
    }
}

string_enum! {
    /// How an OCIRepository authenticates to its registry.
    #[derive(Default)]
    pub enum OCIProvider {
        /// Credentials from `spec.secretRef` or the ServiceAccount's image pull secrets.
        #[default]
        Generic = "generic",
        /// Amazon ECR with the workload's IAM identity.
        Aws = "aws",
        /// Azure Container Registry with the workload's managed identity.
        Azure = "azure",
        /// Google Artifact Registry with the workload's identity.
        Gcp = "gcp",
    }
}

string_enum! {
    /// The signature scheme an artifact is verified with.
    #[derive(Default)]
    pub enum OCIVerificationProvider {
        /// Sigstore cosign signatures.
        #[default]
        Cosign = "cosign",
        /// Notary Project signatures.
        Notation = "notation",
    }
}

/// Signature verification of the pulled artifact.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositoryVerification {
    /// The verification scheme; `cosign` by default.
    #[schemars(extend("default" = "cosign"))]
    pub provider: OCIVerificationProvider,
    /// A Secret with the trusted public keys (cosign) or certificates (notation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Keyless cosign: the OIDC identities whose signatures are trusted; any one must match.
    #[serde(rename = "matchOIDCIdentity", skip_serializing_if = "Option::is_none")]
    pub match_oidc_identity: Option<Vec<OIDCIdentityMatch>>,
    /// A Secret with a Sigstore trusted root (`trusted_root.json`) for keyless verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_root_secret_ref: Option<LocalObjectReference>,
}

/// An OIDC identity a keyless signature must carry, as regular expressions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OIDCIdentityMatch {
    /// The regular expression the OIDC issuer must match.
    pub issuer: String,
    /// The regular expression the identity's subject must match.
    pub subject: String,
}
