//! Signature verification of real checkouts: commits and tags signed by git with Debian's gpg
//! and with ssh-keygen (`gpg.format=ssh`), served by the testkit's smart-HTTP server, checked
//! out by tether and verified against the keys a GitRepository's `verify` Secret would hold.

use std::collections::BTreeMap;
use std::time::Duration;
use tether_source::verify::{SignatureError, VerificationError};
use tether_source::{
    Checkout, GitAuth, GitReference, TrustedKeys, VerifyMode, checkout, verify_checkout,
};
use tether_testkit::git::{GitRepoFixture, HttpGitServer, SshSigningKey};
use tether_testkit::sops::{GpgKey, gpg_key, gpg_key_with};

const USER: &str = "flux";
const PASSWORD: &str = "verify-Pa55word";
const TIMEOUT: Duration = Duration::from_secs(30);
const HEAD: VerifyMode = VerifyMode {
    head: true,
    tag: false,
};
const TAG: VerifyMode = VerifyMode {
    head: false,
    tag: true,
};
const TAG_AND_HEAD: VerifyMode = VerifyMode {
    head: true,
    tag: true,
};

struct Setup {
    repo: GitRepoFixture,
    _server: HttpGitServer,
    url: String,
}

fn setup() -> anyhow::Result<Setup> {
    let repo = GitRepoFixture::new("signed")?;
    let server = HttpGitServer::start(&repo.projects_root(), USER, PASSWORD)?;
    let url = server.repo_url(repo.name());
    Ok(Setup {
        repo,
        _server: server,
        url,
    })
}

fn auth() -> GitAuth {
    let data: BTreeMap<String, Vec<u8>> = [
        ("username".to_owned(), USER.as_bytes().to_vec()),
        ("password".to_owned(), PASSWORD.as_bytes().to_vec()),
    ]
    .into_iter()
    .collect();
    GitAuth::from_secret_data(&data).expect("valid secret")
}

async fn checkout_ref(
    s: &Setup,
    reference: GitReference,
) -> anyhow::Result<(tempfile::TempDir, Checkout)> {
    let dir = tempfile::tempdir()?;
    let out = checkout(&s.url, &reference, &auth(), TIMEOUT, dir.path()).await?;
    Ok((dir, out))
}

fn branch(name: &str) -> GitReference {
    GitReference {
        branch: Some(name.to_owned()),
        ..GitReference::default()
    }
}

fn tag(name: &str) -> GitReference {
    GitReference {
        tag: Some(name.to_owned()),
        ..GitReference::default()
    }
}

fn keys(entries: &[(&str, &str)]) -> TrustedKeys {
    let data: BTreeMap<String, Vec<u8>> = entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect();
    TrustedKeys::from_secret_data(&data)
}

/// Flux's key ID of a v4 key: the last 16 hex digits of its fingerprint.
fn key_id(key: &GpgKey) -> String {
    key.fingerprint[key.fingerprint.len() - 16..].to_ascii_uppercase()
}

fn ssh_fingerprint(key: &SshSigningKey) -> anyhow::Result<String> {
    let out = std::process::Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(key.private_key().with_extension("pub"))
        .output()?;
    let listing = String::from_utf8(out.stdout)?;
    Ok(listing
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test]
async fn a_gpg_signed_commit_verifies_only_with_its_key_and_an_unsigned_one_never()
-> anyhow::Result<()> {
    let s = setup()?;
    let signer = gpg_key("tether-signer")?;
    let stranger = gpg_key("tether-stranger")?;
    let signed = s.repo.commit_signed(
        "master",
        &[("deploy/a.yaml", "a: 1\n")],
        "signed",
        &signer.signer(),
    )?;
    let (_dir, out) = checkout_ref(&s, branch("master")).await?;
    assert_eq!(out.revision.commit, signed);

    let trusted = keys(&[("author.asc", &signer.public_armored)]);
    let verification = verify_checkout(&out, HEAD, &trusted)?;
    assert_eq!(
        verification.to_string(),
        format!(
            "verified signature of\n\t- commit '{signed}' with key '{}'",
            key_id(&signer)
        )
    );
    // Flux's fallback: an entry without the `.asc` suffix is a key ring too.
    let fallback = keys(&[("pubring", &signer.public_armored)]);
    assert!(verify_checkout(&out, HEAD, &fallback).is_ok());

    let wrong = keys(&[("other.asc", &stranger.public_armored)]);
    let error = verify_checkout(&out, HEAD, &wrong).expect_err("signed by someone else");
    assert_eq!(
        error.to_string(),
        format!(
            "signature verification of commit '{signed}' failed: unable to verify Git commit: \
             unable to verify payload with any of the given key rings: no matching key"
        )
    );
    assert_eq!(error.reason(), "InvalidCommitSignature");

    let unsigned = s
        .repo
        .commit("master", &[("deploy/a.yaml", "a: 2\n")], "unsigned")?;
    let (_dir, out) = checkout_ref(&s, branch("master")).await?;
    let error = verify_checkout(&out, HEAD, &trusted).expect_err("unsigned");
    assert_eq!(
        error.to_string(),
        format!(
            "signature verification of commit '{unsigned}' failed: unsupported signature type: empty"
        )
    );
    Ok(())
}

#[tokio::test]
async fn an_ssh_signed_commit_verifies_with_its_authorized_key() -> anyhow::Result<()> {
    let s = setup()?;
    let signer = SshSigningKey::generate("signer@tether.test")?;
    let stranger = SshSigningKey::generate("stranger@tether.test")?;
    let signed = s.repo.commit_signed(
        "master",
        &[("deploy/a.yaml", "a: 1\n")],
        "ssh signed",
        &signer.signer(),
    )?;
    let (_dir, out) = checkout_ref(&s, branch("master")).await?;

    let authorized = format!(
        "# team keys\n{}\nrestrict {}\n",
        stranger.public_key, signer.public_key
    );
    let trusted = keys(&[("team.sshpub", &authorized)]);
    let verification = verify_checkout(&out, HEAD, &trusted)?;
    assert_eq!(
        verification.to_string(),
        format!(
            "verified signature of\n\t- commit '{signed}' with key '{}'",
            ssh_fingerprint(&signer)?
        )
    );

    let wrong = keys(&[("other.sshpub", &stranger.public_key)]);
    let error = verify_checkout(&out, HEAD, &wrong).expect_err("signed by someone else");
    assert!(
        matches!(
            &error,
            VerificationError::Commit {
                source: SignatureError::NoMatchingSshKey { .. },
                ..
            }
        ),
        "{error}"
    );

    let gpg_only = gpg_key("tether-gpg-only")?;
    let error = verify_checkout(&out, HEAD, &keys(&[("a.asc", &gpg_only.public_armored)]))
        .expect_err("no ssh keys");
    assert_eq!(
        error.to_string(),
        format!(
            "signature verification of commit '{signed}' failed: SSH signature detected but no \
             SSH public keys found in secret (keys with .sshpub suffix)"
        )
    );
    Ok(())
}

#[tokio::test]
async fn tag_modes_verify_the_tag_object_and_refuse_what_is_not_a_signed_tag() -> anyhow::Result<()>
{
    let s = setup()?;
    let signer = gpg_key("tether-tagger")?;
    let ssh_signer = SshSigningKey::generate("tagger@tether.test")?;
    let unsigned_commit = s
        .repo
        .commit("master", &[("deploy/a.yaml", "a: 1\n")], "unsigned")?;
    s.repo
        .tag_signed("v1.0.0", &unsigned_commit, "release", &signer.signer())?;
    s.repo.tag_signed(
        "v1.1.0",
        &unsigned_commit,
        "ssh release",
        &ssh_signer.signer(),
    )?;
    s.repo.tag("v0.9.0", &unsigned_commit, None)?;
    let trusted = keys(&[
        ("tagger.asc", &signer.public_armored),
        ("tagger.sshpub", &ssh_signer.public_key),
    ]);

    let (_dir, out) = checkout_ref(&s, tag("v1.0.0")).await?;
    let tag_object = s.repo.rev_parse("refs/tags/v1.0.0")?;
    let verification = verify_checkout(&out, TAG, &trusted)?;
    assert_eq!(
        verification.to_string(),
        format!(
            "verified signature of\n\t- tag 'v1.0.0@{tag_object}' with key '{}'",
            key_id(&signer)
        )
    );
    let error = verify_checkout(&out, TAG_AND_HEAD, &trusted).expect_err("commit unsigned");
    assert!(matches!(error, VerificationError::Commit { .. }), "{error}");

    let (_dir, out) = checkout_ref(&s, tag("v1.1.0")).await?;
    let verification = verify_checkout(&out, TAG, &trusted)?;
    assert!(
        verification
            .to_string()
            .ends_with(&format!("with key '{}'", ssh_fingerprint(&ssh_signer)?)),
        "{verification}"
    );

    let (_dir, out) = checkout_ref(&s, tag("v0.9.0")).await?;
    let error = verify_checkout(&out, TAG, &trusted).expect_err("lightweight");
    assert_eq!(
        error.to_string(),
        "cannot verify signature of tag 'v0.9.0' since it is not signed"
    );
    assert_eq!(error.reason(), "InvalidGitObject");

    let (_dir, out) = checkout_ref(&s, branch("master")).await?;
    let error = verify_checkout(&out, TAG, &trusted).expect_err("not a tag");
    assert_eq!(
        error.to_string(),
        "cannot verify tag object's signature if a tag reference is not specified"
    );
    assert!(error.is_terminal());
    Ok(())
}

/// go-crypto's rules, which Flux inherits: a key that expired, or was revoked, verifies nothing,
/// even a signature it made while it was valid.
#[tokio::test]
async fn an_expired_or_revoked_gpg_key_verifies_nothing() -> anyhow::Result<()> {
    let s = setup()?;
    // Made on 2020-01-01, valid for a day: the commit it signs is from that day.
    let expired = gpg_key_with("tether-expired", "1d", Some("20200101T000000"))?;
    let old = s.repo.commit_signed(
        "master",
        &[("deploy/a.yaml", "a: 1\n")],
        "signed in 2020",
        &expired.signer(),
    )?;
    let (_dir, out) = checkout_ref(&s, branch("master")).await?;
    assert_eq!(out.revision.commit, old);
    let trusted = keys(&[("author.asc", &expired.public_armored)]);
    let error = verify_checkout(&out, HEAD, &trusted).expect_err("the key expired");
    assert!(
        error
            .to_string()
            .ends_with("unable to verify payload with any of the given key rings: no matching key"),
        "{error}"
    );

    let revoked = gpg_key("tether-revoked")?;
    let signed = s.repo.commit_signed(
        "master",
        &[("deploy/a.yaml", "a: 2\n")],
        "signed before the revocation",
        &revoked.signer(),
    )?;
    let (_dir, out) = checkout_ref(&s, branch("master")).await?;
    assert_eq!(out.revision.commit, signed);
    let before = keys(&[("author.asc", &revoked.public_armored)]);
    assert!(
        verify_checkout(&out, HEAD, &before).is_ok(),
        "valid before the revocation"
    );
    let after = keys(&[("author.asc", &revoked.revoke()?)]);
    let error = verify_checkout(&out, HEAD, &after).expect_err("the key was revoked");
    assert_eq!(error.reason(), "InvalidCommitSignature");
    Ok(())
}
