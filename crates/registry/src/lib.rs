//! Scans container registries through the OCI distribution API (work in progress).
#![forbid(unsafe_code)]
