//! tether's source engine: git fetch and checkout with gix (over HTTP with basic or bearer auth,
//! or over ssh with a deploy key), Flux's reference precedence and revision strings, and the
//! artifact store that packs checkouts into tarballs the way source-controller does; for
//! image automation, a working clone that commits edits and pushes them back; and Helm chart
//! repositories: indexes over HTTP(S) read with bounded memory, chart downloads, OCI charts;
//! OpenPGP/SSH signature verification of checked-out commits and tags; submodules, includes and
//! sparse checkouts; and S3-compatible buckets, mirrored with only changed objects downloaded.
#![forbid(unsafe_code)]

pub mod artifact;
pub mod auth;
pub mod bucket;
pub mod commit;
pub mod deploy_key;
pub mod error;
pub mod fetch;
pub mod helm_index;
pub mod helm_oci;
pub mod helm_repo;
pub mod history;
pub mod include;
mod pack;
pub mod paths;
pub mod push;
pub mod reference;
pub mod semver_tag;
mod sign;
pub mod sourceignore;
pub mod sparse;
pub mod submodule;
mod transport;
pub mod verify;
pub mod workdir;
mod write_back;

pub use artifact::{
    Artifact, ArtifactError, ArtifactOwner, ArtifactStore, ExtractLimits, extract_tarball,
    extract_tarball_within,
};
pub use auth::GitAuth;
pub use commit::{Author, CommitError, CommitOptions, SigningKey, SigningKeyError};
pub use deploy_key::{DeployKey, DeployKeyError};
pub use error::{GitError, sanitize_url};
pub use fetch::{Checkout, CheckoutLimits, FetchOutcome, checkout, checkout_if_moved, remote_head};
pub use helm_index::{ChartLookupError, ChartVersion, HelmIndex, HelmIndexError, IndexLimits};
pub use helm_oci::{OciChartError, OciChartPull};
pub use helm_repo::{
    BasicAuth, CacheValidator, ChartDownload, FetchedIndex, HelmRepoClient, HelmRepoError,
    HelmRepoOptions, IndexFetch,
};
pub use history::{HistoryQuery, Since, commits_between};
pub use paths::join_within;
pub use push::{PushError, PushOutcome, RefUpdate, TagMove, move_tag};
pub use reference::{GitReference, Revision, Strategy};
pub use verify::{TrustedKeys, Verification, VerificationError, VerifyMode, verify_checkout};
pub use workdir::{CloneSpec, WorkingClone};
pub use write_back::{Edit, Edited, WriteBackError, WriteBackFailure, Written, write_back};
