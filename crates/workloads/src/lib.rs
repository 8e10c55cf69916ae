//! Flux v1 (fluxd) workload automation as a pure library: reading `fluxcd.io/` policy
//! annotations ([`policy`]), finding workloads in a repository checkout ([`locate_workloads`]),
//! editing manifests in place the way fluxd's kubeyaml did ([`set_container_image`],
//! [`set_annotations`], [`update_policies`]), and planning and applying image releases
//! ([`release`]).
//!
//! ```
//! use tether_workloads::{ResourceId, set_container_image, workloads_in_text};
//! use std::path::Path;
//!
//! let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    fluxcd.io/automated: \"true\"\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.25 # pinned\n";
//! let found = workloads_in_text(text, Path::new("web.yaml")).unwrap();
//! assert_eq!(found[0].id.to_string(), "default:deployment/web");
//! assert!(found[0].policy.automated);
//! let id: ResourceId = "default:deployment/web".parse().unwrap();
//! let edited = set_container_image(text, &id, "app", "nginx:1.27").unwrap();
//! assert!(edited.contains("image: nginx:1.27 # pinned"));
//! ```
#![forbid(unsafe_code)]

mod edit;
mod id;
mod image_ref;
mod locate;
mod manifest;
pub mod policy;
pub mod release;
mod yaml_tree;

pub use edit::{EditError, set_annotations, set_container_image, update_policies};
pub use id::{CLUSTER_SCOPE, DEFAULT_NAMESPACE, InvalidId, ResourceId};
pub use image_ref::{ImageRef, InvalidImageRef};
pub use locate::{LocateError, locate_workloads};
pub use manifest::{Container, ManifestError, WORKLOAD_KINDS, Workload, workloads_in_text};
pub use policy::{AnnotationChange, PolicyUpdate, WorkloadPolicy};
pub use yaml_tree::SyntaxError;
