//! Chooses the latest image tag under a policy (work in progress).
#![forbid(unsafe_code)]
