//! Flux's post-build variable substitution (`spec.postBuild` of a Kustomization), as a pure
//! library: variables merged from `substituteFrom` sources and `substitute`, and expanded in each
//! built object the way kustomize-controller does it.
#![forbid(unsafe_code)]

pub mod envsubst;
