//! Signature verification of a checkout's Git objects, with source-controller's semantics
//! (fluxcd/pkg `git/signature`, `GitRepository.spec.verify`): the trusted keys of a Secret
//! (`*.sshpub` entries are `authorized_keys`-style SSH keys, every other entry an armored
//! OpenPGP key ring), the commit and tag objects read raw from the checkout's `.git`, their
//! signatures split off as git does (a commit's `gpgsig` header, a tag's trailing armored
//! block), and OpenPGP (rPGP) or SSHSIG (namespace `git`) verification of the payload. Results
//! are typed; the messages are Flux's. Objects larger than [`MAX_SIGNED_OBJECT`] are refused
//! unread.

use crate::fetch::{Checkout, FETCHED_REF};
use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::{KeyDetails, Timestamp};
use std::collections::BTreeMap;
use std::fmt;

/// The Secret data key suffix of OpenPGP public keys.
pub const PGP_KEY_SUFFIX: &str = ".asc";
/// The Secret data key suffix of SSH public keys (`authorized_keys` format).
pub const SSH_KEY_SUFFIX: &str = ".sshpub";
/// The SSHSIG namespace git signs commits and tags in.
pub const SSH_NAMESPACE: &str = "git";
/// The largest commit or tag object read for verification (git objects of signed commits are a
/// few KiB; a larger one is hostile or broken).
pub const MAX_SIGNED_OBJECT: u64 = 1024 * 1024;

const PGP_SIGNATURE_BEGIN: &str = "-----BEGIN PGP SIGNATURE-----";
const SSH_SIGNATURE_BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
const X509_SIGNATURE_BEGIN: &str = "-----BEGIN SIGNED MESSAGE-----";
/// The armor lines git recognises at the start of a tag's signature block.
const TAG_SIGNATURE_BEGINS: [&str; 4] = [
    PGP_SIGNATURE_BEGIN,
    "-----BEGIN PGP MESSAGE-----",
    SSH_SIGNATURE_BEGIN,
    X509_SIGNATURE_BEGIN,
];

/// The public keys a GitRepository's `spec.verify.secretRef` trusts.
#[derive(Clone, Default)]
pub struct TrustedKeys {
    key_rings: Vec<String>,
    authorized_keys: Vec<String>,
}

impl TrustedKeys {
    /// Sorts a Secret's entries as source-controller does: `*.sshpub` are SSH keys, `*.asc`
    /// and (as Flux's fallback) every other entry OpenPGP key rings.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Self {
        let mut keys = Self::default();
        for (name, value) in data {
            let text = String::from_utf8_lossy(value).into_owned();
            if name.ends_with(SSH_KEY_SUFFIX) {
                keys.authorized_keys.push(text);
            } else {
                keys.key_rings.push(text);
            }
        }
        keys
    }
}

/// What to verify: the checked-out commit, the tag object the reference names, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyMode {
    pub head: bool,
    pub tag: bool,
}

/// Which kind of Git object a signature was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Commit,
    Tag,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Commit => "commit",
            Self::Tag => "tag",
        })
    }
}

/// Why a signature did not verify (fluxcd/pkg's texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// An OpenPGP signature, and the Secret holds no OpenPGP key.
    #[error(
        "PGP signature detected but no PGP public keys found in secret (keys with {PGP_KEY_SUFFIX} suffix)"
    )]
    NoPgpKeys,
    /// An SSH signature, and the Secret holds no `*.sshpub` entry.
    #[error(
        "SSH signature detected but no SSH public keys found in secret (keys with {SSH_KEY_SUFFIX} suffix)"
    )]
    NoSshKeys,
    /// No signature (`empty`), or one that is neither OpenPGP nor SSH (`x509`, `unknown`).
    #[error("unsupported signature type: {0}")]
    UnsupportedType(&'static str),
    /// No key ring of the Secret could be read.
    #[error("unable to verify Git {object}: unable to read armored key ring: {detail}")]
    KeyRing { object: ObjectKind, detail: String },
    /// No key of any key ring verifies the signature.
    #[error(
        "unable to verify Git {object}: unable to verify payload with any of the given key rings: no matching key"
    )]
    NoMatchingPgpKey { object: ObjectKind },
    /// No `*.sshpub` entry could be read.
    #[error(
        "unable to verify Git {object} SSH signature: unable to parse authorized keys: unable to parse authorized key: {detail}"
    )]
    AuthorizedKeys { object: ObjectKind, detail: String },
    /// The SSH signature is not a valid SSHSIG armor.
    #[error(
        "unable to verify Git {object} SSH signature: unable to unarmor SSH signature: {detail}"
    )]
    SshArmor { object: ObjectKind, detail: String },
    /// No authorized key verifies the SSH signature.
    #[error(
        "unable to verify Git {object} SSH signature: unable to verify payload with any of the given authorized keys: no matching key ({detail})"
    )]
    NoMatchingSshKey { object: ObjectKind, detail: String },
}

/// Why a checkout failed verification; each names the object, as source-controller does.
#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    /// Tag verification was asked for, and the reference is not a tag.
    #[error("cannot verify tag object's signature if a tag reference is not specified")]
    NoTagReference,
    /// The tag is lightweight or carries no signature.
    #[error("cannot verify signature of tag '{tag}' since it is not signed")]
    UnsignedTag { tag: String },
    /// The tag's signature did not verify.
    #[error("signature verification of tag '{tag}' failed: {source}")]
    Tag { tag: String, source: SignatureError },
    /// The commit's signature did not verify.
    #[error("signature verification of commit '{commit}' failed: {source}")]
    Commit {
        commit: String,
        source: SignatureError,
    },
    /// The objects could not be read from the checkout.
    #[error("reading {object} '{id}' from the checkout failed: {detail}")]
    Read {
        object: ObjectKind,
        id: String,
        detail: String,
    },
}

impl VerificationError {
    /// Flux's condition reason for this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoTagReference => "InvalidVerificationMode",
            Self::UnsignedTag { .. } => "InvalidGitObject",
            Self::Tag { .. } => "InvalidTagSignature",
            Self::Commit { .. } | Self::Read { .. } => "InvalidCommitSignature",
        }
    }

    /// Only a spec change helps (tag verification of a non-tag reference).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::NoTagReference)
    }
}

/// One verified object: what it is (`<sha>` or `<tag>@<sha>`) and the key that signed it (an
/// OpenPGP key ID, or an SSH key's `SHA256:` fingerprint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedObject {
    pub name: String,
    pub key: String,
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    pub tag: Option<VerifiedObject>,
    pub commit: Option<VerifiedObject>,
}

impl fmt::Display for Verification {
    /// Flux's `SourceVerified` message: `verified signature of` and a line per object.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("verified signature of")?;
        if let Some(tag) = &self.tag {
            write!(f, "\n\t- tag '{}' with key '{}'", tag.name, tag.key)?;
        }
        if let Some(commit) = &self.commit {
            write!(
                f,
                "\n\t- commit '{}' with key '{}'",
                commit.name, commit.key
            )?;
        }
        Ok(())
    }
}

/// Verifies what `mode` asks for in `checkout` (the tag first, as Flux does) with `keys`.
pub fn verify_checkout(
    checkout: &Checkout,
    mode: VerifyMode,
    keys: &TrustedKeys,
) -> Result<Verification, VerificationError> {
    let repo = gix::open(checkout.dir.join(".git")).map_err(|e| VerificationError::Read {
        object: ObjectKind::Commit,
        id: checkout.revision.commit.clone(),
        detail: e.to_string(),
    })?;
    let mut verification = Verification::default();
    if mode.tag {
        let full_ref = checkout
            .tag
            .as_deref()
            .ok_or(VerificationError::NoTagReference)?;
        let short = full_ref.strip_prefix("refs/tags/").unwrap_or(full_ref);
        let (id, raw) =
            fetched_tag_object(&repo)?.ok_or_else(|| VerificationError::UnsignedTag {
                tag: short.to_owned(),
            })?;
        let name = format!("{short}@{id}");
        let (payload, signature) = split_tag(&raw);
        if signature.is_empty() {
            return Err(VerificationError::UnsignedTag { tag: name });
        }
        let key =
            verify_signature(ObjectKind::Tag, &signature, &payload, keys).map_err(|source| {
                VerificationError::Tag {
                    tag: name.clone(),
                    source,
                }
            })?;
        verification.tag = Some(VerifiedObject { name, key });
    }
    if mode.head {
        let commit = &checkout.revision.commit;
        let raw = read_object(&repo, commit, ObjectKind::Commit)?;
        let (payload, signature) = split_commit(&raw);
        let key =
            verify_signature(ObjectKind::Commit, &signature, &payload, keys).map_err(|source| {
                VerificationError::Commit {
                    commit: commit.clone(),
                    source,
                }
            })?;
        verification.commit = Some(VerifiedObject {
            name: commit.clone(),
            key,
        });
    }
    Ok(verification)
}

/// The annotated tag object the fetched ref points at (`None` for a lightweight tag).
fn fetched_tag_object(
    repo: &gix::Repository,
) -> Result<Option<(String, Vec<u8>)>, VerificationError> {
    let read_error = |detail: String| VerificationError::Read {
        object: ObjectKind::Tag,
        id: FETCHED_REF.to_owned(),
        detail,
    };
    let reference = repo
        .find_reference(FETCHED_REF)
        .map_err(|e| read_error(e.to_string()))?;
    let Some(id) = reference.target().try_id().map(|id| id.to_owned()) else {
        return Ok(None);
    };
    let header = repo
        .find_header(id)
        .map_err(|e| read_error(e.to_string()))?;
    if header.kind() != gix::object::Kind::Tag {
        return Ok(None);
    }
    let raw = read_object(repo, &id.to_string(), ObjectKind::Tag)?;
    Ok(Some((id.to_string(), raw)))
}

/// The raw content of object `id`, refused unread when larger than [`MAX_SIGNED_OBJECT`].
fn read_object(
    repo: &gix::Repository,
    id: &str,
    object: ObjectKind,
) -> Result<Vec<u8>, VerificationError> {
    let read_error = |detail: String| VerificationError::Read {
        object,
        id: id.to_owned(),
        detail,
    };
    let oid = gix::ObjectId::from_hex(id.as_bytes()).map_err(|e| read_error(e.to_string()))?;
    let header = repo
        .find_header(oid)
        .map_err(|e| read_error(e.to_string()))?;
    if header.size() > MAX_SIGNED_OBJECT {
        return Err(read_error(format!(
            "the object is {} bytes, more than the {MAX_SIGNED_OBJECT}-byte limit",
            header.size()
        )));
    }
    let found = repo
        .find_object(oid)
        .map_err(|e| read_error(e.to_string()))?;
    Ok(found.data.clone())
}

/// A commit object split as git does for `verify-commit`: the object without its `gpgsig`
/// (and `gpgsig-sha256`) header, and that header's value (empty when unsigned).
pub fn split_commit(raw: &[u8]) -> (Vec<u8>, String) {
    let body_start = find_subslice(raw, b"\n\n").map_or(raw.len(), |at| at + 1);
    let (headers, body) = raw.split_at(body_start);
    let mut payload = Vec::with_capacity(raw.len());
    let mut signature = String::new();
    let mut in_signature = false;
    for line in headers.split_inclusive(|b| *b == b'\n') {
        if in_signature && line.starts_with(b" ") {
            signature.push_str(&String::from_utf8_lossy(&line[1..]));
            continue;
        }
        in_signature = false;
        let header = line.split(|b| *b == b' ').next().unwrap_or_default();
        if header == b"gpgsig" || header == b"gpgsig-sha256" {
            in_signature = true;
            let value = line.get(header.len() + 1..).unwrap_or_default();
            signature.push_str(&String::from_utf8_lossy(value));
            continue;
        }
        payload.extend_from_slice(line);
    }
    payload.extend_from_slice(body);
    (payload, signature)
}

/// A tag object split as git does: everything before the last armored signature block that
/// starts a line of the message, and that block (empty when unsigned).
pub fn split_tag(raw: &[u8]) -> (Vec<u8>, String) {
    let body_start = find_subslice(raw, b"\n\n").map_or(raw.len(), |at| at + 2);
    let mut start = None;
    let mut offset = body_start;
    for line in raw[body_start..].split_inclusive(|b| *b == b'\n') {
        if TAG_SIGNATURE_BEGINS
            .iter()
            .any(|begin| line.starts_with(begin.as_bytes()))
        {
            start = Some(offset);
        }
        offset += line.len();
    }
    match start {
        Some(at) => (
            raw[..at].to_vec(),
            String::from_utf8_lossy(&raw[at..]).into_owned(),
        ),
        None => (raw.to_vec(), String::new()),
    }
}

fn find_subslice(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// fluxcd/pkg's signature type names: `openpgp`, `ssh`, `x509`, `empty`, `unknown`.
pub fn signature_type(signature: &str) -> &'static str {
    let trimmed = signature.trim();
    if trimmed.starts_with(PGP_SIGNATURE_BEGIN) {
        "openpgp"
    } else if trimmed.starts_with(SSH_SIGNATURE_BEGIN) {
        "ssh"
    } else if trimmed.starts_with(X509_SIGNATURE_BEGIN) {
        "x509"
    } else if signature.is_empty() {
        "empty"
    } else {
        "unknown"
    }
}

/// Verifies `signature` over `payload` with the keys its type calls for; returns the key.
pub fn verify_signature(
    object: ObjectKind,
    signature: &str,
    payload: &[u8],
    keys: &TrustedKeys,
) -> Result<String, SignatureError> {
    match signature_type(signature) {
        "openpgp" if keys.key_rings.is_empty() => Err(SignatureError::NoPgpKeys),
        "openpgp" => verify_pgp(object, signature.trim(), payload, &keys.key_rings),
        "ssh" if keys.authorized_keys.is_empty() => Err(SignatureError::NoSshKeys),
        "ssh" => verify_ssh(object, signature.trim(), payload, &keys.authorized_keys),
        other => Err(SignatureError::UnsupportedType(other)),
    }
}

/// Tries every key (and signing subkey) of every readable key ring; returns the primary key's
/// ID (16 upper-case hex digits) of the first that verifies. A ring that cannot be read is an
/// error only when no ring can be.
fn verify_pgp(
    object: ObjectKind,
    signature: &str,
    payload: &[u8],
    key_rings: &[String],
) -> Result<String, SignatureError> {
    let signature = DetachedSignature::from_string(signature)
        .ok()
        .map(|(signature, _)| signature);
    let mut first_read_error = None;
    let mut any_ring_read = false;
    for ring in key_rings {
        let keys = match read_key_ring(ring) {
            Ok(keys) => keys,
            Err(detail) => {
                first_read_error.get_or_insert(detail);
                continue;
            }
        };
        any_ring_read = true;
        let Some(signature) = &signature else {
            continue;
        };
        let now = Timestamp::now().as_secs();
        for key in keys.iter().filter(|key| key.verify_bindings().is_ok()) {
            let by_primary = || signature.verify(key, payload).is_ok();
            let by_subkey = || {
                key.public_subkeys.iter().any(|subkey| {
                    signature.verify(subkey, payload).is_ok() && subkey_valid_at(subkey, now)
                })
            };
            let valid = primary_valid_at(key, now) && !expired(&signature.signature, 0, now);
            if valid && (by_primary() || by_subkey()) {
                return Ok(upper_hex(key.primary_key.legacy_key_id().as_ref()));
            }
        }
    }
    match first_read_error {
        Some(detail) if !any_ring_read => Err(SignatureError::KeyRing { object, detail }),
        _ => Err(SignatureError::NoMatchingPgpKey { object }),
    }
}

/// Whether `signature` (or the key it binds, when `key_created` is the key's creation time)
/// has expired by `now`: OpenPGP expiration times count from the creation of what they bound.
fn expired(signature: &pgp::packet::Signature, key_created: u32, now: u32) -> bool {
    let created = signature.created().map_or(0, |c| c.as_secs());
    let past = |from: u32, after: Option<pgp::types::Duration>| {
        after
            .map(|d| d.as_secs())
            .filter(|&secs| secs > 0)
            .is_some_and(|secs| u64::from(from) + u64::from(secs) <= u64::from(now))
    };
    past(created, signature.signature_expiration_time())
        || (key_created > 0 && past(key_created, signature.key_expiration_time()))
}

/// go-crypto's checks on the signing entity, which Flux's verification inherits: a revoked
/// primary key, or one whose newest self-signature says it expired (or expired itself),
/// verifies nothing.
fn primary_valid_at(key: &SignedPublicKey, now: u32) -> bool {
    if !key.details.revocation_signatures.is_empty() {
        return false;
    }
    let created = key.primary_key.created_at().as_secs();
    let self_signatures = key
        .details
        .users
        .iter()
        .flat_map(|user| user.signatures.iter())
        .chain(key.details.direct_signatures.iter());
    let newest = self_signatures.max_by_key(|s| s.created().map_or(0, |c| c.as_secs()));
    newest.is_none_or(|signature| !expired(signature, created, now))
}

/// The same for a signing subkey: its newest binding must not be a revocation, nor say that the
/// subkey expired.
fn subkey_valid_at(subkey: &pgp::composed::SignedPublicSubKey, now: u32) -> bool {
    let created = subkey.key.created_at().as_secs();
    let newest = subkey
        .signatures
        .iter()
        .max_by_key(|s| s.created().map_or(0, |c| c.as_secs()));
    let revoked = subkey
        .signatures
        .iter()
        .any(|s| s.typ() == Some(pgp::packet::SignatureType::SubkeyRevocation));
    !revoked && newest.is_none_or(|signature| !expired(signature, created, now))
}

/// The public keys of one armored key ring; at least one, as Go's `ReadArmoredKeyRing` wants.
fn read_key_ring(ring: &str) -> Result<Vec<SignedPublicKey>, String> {
    let (keys, _) = SignedPublicKey::from_string_many(ring)
        .map_err(|_| "openpgp: invalid argument: no armored data found".to_owned())?;
    let keys: Vec<SignedPublicKey> = keys.filter_map(Result::ok).collect();
    if keys.is_empty() {
        return Err("openpgp: invalid data: no public keys found".to_owned());
    }
    Ok(keys)
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Tries every key of every `authorized_keys` entry; returns the `SHA256:` fingerprint of the
/// first that verifies in namespace `git`.
fn verify_ssh(
    object: ObjectKind,
    signature: &str,
    payload: &[u8],
    authorized_keys: &[String],
) -> Result<String, SignatureError> {
    let signature = ssh_key::SshSig::from_pem(signature).map_err(|e| SignatureError::SshArmor {
        object,
        detail: e.to_string(),
    })?;
    let mut first_read_error = None;
    let mut any_read = false;
    let mut causes: Vec<String> = Vec::new();
    for entries in authorized_keys {
        let keys = match parse_authorized_keys(entries) {
            Ok(keys) => keys,
            Err(detail) => {
                first_read_error.get_or_insert(detail);
                continue;
            }
        };
        any_read = true;
        for key in keys {
            match key.verify(SSH_NAMESPACE, payload, &signature) {
                Ok(()) => return Ok(key.fingerprint(ssh_key::HashAlg::Sha256).to_string()),
                Err(error) => {
                    let cause = ssh_cause(&error);
                    if !causes.contains(&cause) {
                        causes.push(cause);
                    }
                }
            }
        }
    }
    match first_read_error {
        Some(detail) if !any_read => Err(SignatureError::AuthorizedKeys { object, detail }),
        _ => Err(SignatureError::NoMatchingSshKey {
            object,
            detail: causes.join("; "),
        }),
    }
}

fn ssh_cause(error: &ssh_key::Error) -> String {
    match error {
        ssh_key::Error::PublicKey => "public key does not match".to_owned(),
        ssh_key::Error::Namespace => "namespace does not match".to_owned(),
        other => other.to_string(),
    }
}

/// The keys of an `authorized_keys` text; any unreadable line fails the whole text, as Flux.
fn parse_authorized_keys(text: &str) -> Result<Vec<ssh_key::PublicKey>, String> {
    ssh_key::AuthorizedKeys::new(text)
        .map(|entry| {
            entry
                .map(|entry| entry.public_key().clone())
                .map_err(|e| e.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED_COMMIT: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A <a@x> 1 +0000\n\
committer A <a@x> 1 +0000\n\
gpgsig -----BEGIN SSH SIGNATURE-----\n \
U1NIU0lH\n \
-----END SSH SIGNATURE-----\n\
\n\
subject\n\nbody gpgsig line\n";

    #[test]
    fn a_commit_is_split_into_the_object_without_gpgsig_and_the_signature() {
        let (payload, signature) = split_commit(SIGNED_COMMIT);
        assert_eq!(
            String::from_utf8_lossy(&payload),
            "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\n\
committer A <a@x> 1 +0000\n\nsubject\n\nbody gpgsig line\n"
        );
        assert_eq!(
            signature,
            "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"
        );
        assert_eq!(signature_type(&signature), "ssh");
    }

    #[test]
    fn an_unsigned_commit_has_an_empty_signature_of_type_empty() {
        let raw = b"tree 4b82\nauthor A <a@x> 1 +0000\n\nmsg\n";
        let (payload, signature) = split_commit(raw);
        assert_eq!(payload, raw);
        assert_eq!(signature_type(&signature), "empty");
        let error = verify_signature(
            ObjectKind::Commit,
            &signature,
            &payload,
            &TrustedKeys::default(),
        )
        .expect_err("unsigned");
        assert_eq!(error.to_string(), "unsupported signature type: empty");
    }

    #[test]
    fn a_tag_signature_is_the_last_armored_block_of_its_message() {
        let raw = b"object 4b82\ntype commit\ntag v1\ntagger A <a@x> 1 +0000\n\n\
release\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
        let (payload, signature) = split_tag(raw);
        assert!(payload.ends_with(b"\n\nrelease\n"), "{payload:?}");
        assert_eq!(signature_type(&signature), "openpgp");
    }

    #[test]
    fn secret_entries_are_sorted_by_suffix_with_pgp_as_the_fallback() {
        let data = BTreeMap::from([
            ("a.sshpub".to_owned(), b"ssh-ed25519 AAAA".to_vec()),
            ("b.asc".to_owned(), b"ring".to_vec()),
            ("author.pub".to_owned(), b"other".to_vec()),
        ]);
        let keys = TrustedKeys::from_secret_data(&data);
        assert_eq!(keys.authorized_keys.len(), 1);
        assert_eq!(keys.key_rings.len(), 2);
    }

    #[test]
    fn a_pgp_signature_without_pgp_keys_names_the_missing_suffix() {
        let keys = TrustedKeys {
            key_rings: vec![],
            authorized_keys: vec!["ssh-ed25519 AAAA".into()],
        };
        let error = verify_signature(ObjectKind::Commit, PGP_SIGNATURE_BEGIN, b"x", &keys)
            .expect_err("no pgp keys");
        assert_eq!(
            error.to_string(),
            "PGP signature detected but no PGP public keys found in secret (keys with .asc suffix)"
        );
    }

    #[test]
    fn an_unreadable_key_ring_is_named_when_no_ring_can_be_read() {
        let keys = TrustedKeys {
            key_rings: vec!["not a key".into()],
            authorized_keys: vec![],
        };
        let signature =
            "-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJ\n-----END PGP SIGNATURE-----";
        let error = verify_signature(ObjectKind::Commit, signature, b"x", &keys)
            .expect_err("no readable ring");
        assert_eq!(
            error.to_string(),
            "unable to verify Git commit: unable to read armored key ring: \
             openpgp: invalid argument: no armored data found"
        );
    }
}
