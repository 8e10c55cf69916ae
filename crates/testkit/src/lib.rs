//! Fixtures for tether's e2e tests: the shared local control plane, namespaces per test, local
//! git servers and repositories, Flux objects, and HTTP helpers.
#![forbid(unsafe_code)]

pub mod cluster;
pub mod flux;
pub mod git;
pub mod http;
pub mod oci;
pub mod registry;
