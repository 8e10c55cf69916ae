//! Go text/template engine (work in progress).
#![forbid(unsafe_code)]
