//! Flux's `Setters` image update strategy as a pure library: walk the YAML files under an update
//! path, find scalars marked `# {"$imagepolicy": "<ns>:<name>[:tag|:name|:digest]"}`, and set
//! them to the policies' latest images, changing only the bytes of each marked scalar. The
//! [`UpdateResult`] has the shape of image-automation-controller's `update.Result`, and
//! [`commit_message`] renders `spec.git.commit.messageTemplate` over it as Flux does.
//!
//! ```
//! use tether_setters::{ImageRef, PolicyRef, Setters, update_text};
//!
//! let policies = [PolicyRef {
//!     namespace: "flux-system".into(),
//!     name: "podinfo".into(),
//!     latest: Some(ImageRef { name: "ghcr.io/stefanprodan/podinfo".into(), tag: "5.0.3".into(), digest: String::new() }),
//! }];
//! let setters = Setters::from_policies(&policies).unwrap();
//! let yaml = "image: ghcr.io/stefanprodan/podinfo:5.0.0 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n";
//! let out = update_text(yaml, &setters).unwrap();
//! assert_eq!(out.text, "image: ghcr.io/stefanprodan/podinfo:5.0.3 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n");
//! ```
#![forbid(unsafe_code)]

mod document;
mod marker;
mod message;
mod policy;
mod result;
mod scalar;
mod walk;

pub use document::{DocumentError, TextUpdate, update_text};
pub use marker::{SCREENING_TOKEN, SETTER_SHORTHAND, setter_name};
pub use message::{
    AutomationObject, DEFAULT_MESSAGE_TEMPLATE, MessageError, commit_message, template_data,
};
pub use policy::{ImageRef, PolicyRef, Setters};
pub use result::{Change, ObjectChanges, ObjectIdentifier, UpdateResult};
pub use walk::update_with_setters;

/// Why an update could not run. Files that merely fail to parse are not errors (they are
/// reported in [`UpdateResult::problem_files`], as Flux skips them).
#[derive(Debug, thiserror::Error)]
pub enum SettersError {
    /// A policy's latest image is not a valid reference.
    #[error("image policy {policy}: encountered invalid image ref {image:?}: {reason}")]
    InvalidImageRef {
        /// `<namespace>/<name>` of the policy.
        policy: String,
        /// The reference as the policy reports it.
        image: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The update path leaves the repository (through `..` or a symlink).
    #[error("update path {path:?} escapes the repository root")]
    PathEscapes {
        /// The update path as given.
        path: String,
    },
    /// A file or directory could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, `walking`, `resolving`).
        action: &'static str,
        /// The path involved.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
