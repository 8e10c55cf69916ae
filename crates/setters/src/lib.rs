//! Rewrites image references marked with Flux setter comments (work in progress).
#![forbid(unsafe_code)]
