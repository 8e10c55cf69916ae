//! Bucket parts shared by its served versions (v1 and v1beta2): the storage provider and the
//! Security Token Service settings.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{meta::LocalObjectReference, string_enum::string_enum};

/// The pattern a Bucket's STS endpoint must match.
pub const BUCKET_STS_ENDPOINT_PATTERN: &str = "^(http|https)://.*$";

string_enum! {
    /// Which object storage a Bucket talks to.
    #[derive(Default)]
    pub enum BucketProvider {
        /// Any S3-compatible storage, with static keys from `spec.secretRef`.
        #[default]
        Generic = "generic",
        /// Amazon S3, with workload identity or EC2 credentials.
        Aws = "aws",
        /// Google Cloud Storage, with workload identity.
        Gcp = "gcp",
        /// Azure Blob Storage.
        Azure = "azure",
    }
}

string_enum! {
    /// The Security Token Service a Bucket takes temporary credentials from.
    pub enum BucketSTSProvider {
        /// AWS STS.
        Aws = "aws",
        /// An LDAP identity exchanged at an S3-compatible server's STS.
        Ldap = "ldap",
    }
}

/// A Security Token Service to fetch temporary credentials from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BucketSTSSpec {
    /// Which kind of STS this is.
    pub provider: BucketSTSProvider,
    /// The STS address, `http(s)://...`.
    #[schemars(pattern(BUCKET_STS_ENDPOINT_PATTERN))]
    pub endpoint: String,
    /// A Secret with `username` and `password` (the `ldap` provider only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// A Secret with TLS settings for the STS: `ca.crt`, and `tls.crt` with `tls.key`
    /// (the `ldap` provider only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
}
