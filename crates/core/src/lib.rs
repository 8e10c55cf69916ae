//! Domain types shared by every engine, with no Kubernetes client: object identity,
//! inventory, change sets, kstatus health, YAML with Kubernetes semantics, and Go's JSON strings.
#![forbid(unsafe_code)]

pub mod changeset;
pub mod gojson;
pub mod health;
pub mod inventory;
pub mod object;
pub mod order;
pub mod time;
pub mod yaml;
