//! Fixtures for tether's e2e tests: the shared local control plane, namespaces per test, local
//! git servers and repositories, Flux objects, HTTP helpers, the OCI registry, Helm chart
//! repositories (nginx), test charts, the Go-built sops and age with gpg keys, an S3 server,
//! the Go-built flux CLI, a NATS server and an OIDC token issuer.
#![forbid(unsafe_code)]

pub mod chartrepo;
pub mod charts;
pub mod cluster;
pub mod flux;
pub mod fluxcli;
pub mod git;
pub mod http;
pub mod nats;
pub mod oci;
pub mod oidc;
pub mod registry;
pub mod s3;
pub mod sops;
