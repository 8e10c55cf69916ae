//! Fixtures for tether's e2e tests: the shared local control plane, namespaces per test, local
//! git servers and repositories.
#![forbid(unsafe_code)]

pub mod cluster;
pub mod git;
pub mod registry;
