//! Domain types shared by every engine, with no Kubernetes client: object identity,
//! inventory, change sets, kstatus health and YAML with Kubernetes semantics.
#![forbid(unsafe_code)]

pub mod changeset;
pub mod health;
pub mod inventory;
pub mod object;
pub mod order;
pub mod time;
pub mod yaml;
