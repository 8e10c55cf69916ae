//! Flux v1 annotation-driven automation of workloads (work in progress).
#![forbid(unsafe_code)]
