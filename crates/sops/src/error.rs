//! The one error type of the crate. No variant ever carries a decrypted value, a data key or a
//! secret key: only names, paths inside the document and the causes of failures.

/// Why a SOPS document could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document is larger than the limit.
    #[error("document of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the document.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The document is not valid in its format.
    #[error("failed to load encrypted {format} data: {reason}")]
    Syntax {
        /// The format it was read as.
        format: &'static str,
        /// What is wrong (never a value of the document).
        reason: String,
    },
    /// The document has no `sops` metadata.
    #[error("sops metadata not found")]
    MetadataNotFound,
    /// The metadata is malformed.
    #[error("invalid sops metadata: {0}")]
    Metadata(String),
    /// No key group could be opened with the keys given.
    #[error("cannot get sops data key: {0}")]
    DataKey(String),
    /// The key groups use only key services this crate does not implement.
    #[error("cannot get sops data key: {0} not supported yet (only age and OpenPGP keys are)")]
    UnsupportedKeyService(String),
    /// An imported key is malformed.
    #[error("invalid {kind} key: {reason}")]
    InvalidKey {
        /// `age` or `OpenPGP`.
        kind: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A value could not be decrypted (wrong data key or tampered ciphertext).
    #[error("error decrypting sops tree: could not decrypt value at '{path}': {reason}")]
    Value {
        /// The value's path in the document, keys joined by `:`.
        path: String,
        /// Why (never the value).
        reason: &'static str,
    },
    /// The MAC stored in the document does not match its values.
    #[error("failed to verify sops data integrity: {0}")]
    Mac(&'static str),
    /// The decrypted tree cannot be written in the output format.
    #[error("failed to emit decrypted {format} data: {reason}")]
    Emit {
        /// The output format.
        format: &'static str,
        /// Why.
        reason: String,
    },
}

impl Error {
    pub(crate) fn syntax(format: &'static str, reason: impl Into<String>) -> Self {
        Error::Syntax {
            format,
            reason: reason.into(),
        }
    }
}
