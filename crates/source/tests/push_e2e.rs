//! End-to-end commit and push against real git servers on loopback: the testkit's smart-HTTP
//! server (git http-backend behind basic auth) and an OpenSSH sshd with a deploy key. What the
//! server ends up with is checked with the git CLI (clone, log, fsck).

use anyhow::{Context, bail};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};
use tether_source::{
    Author, CloneSpec, CommitError, CommitOptions, GitAuth, GitError, GitReference, PushError,
    SigningKey, WorkingClone,
};
use tether_testkit::git::{GitRepoFixture, HttpGitServer, SshGitServer};

const USER: &str = "flux";
const PASSWORD: &str = "s3cret-Pa55word";
const TIMEOUT: Duration = Duration::from_secs(30);
const COMMIT_TIME: u64 = 1_700_000_000;

fn basic_auth(password: &str) -> GitAuth {
    GitAuth {
        username: Some(USER.to_owned()),
        password: Some(password.to_owned()),
        ..GitAuth::default()
    }
}

fn spec(url: &str, branch: &str, push_branch: Option<&str>, auth: GitAuth) -> CloneSpec {
    CloneSpec {
        url: url.to_owned(),
        checkout: GitReference::branch(branch),
        push_branch: push_branch.map(str::to_owned),
        auth,
        timeout: TIMEOUT,
    }
}

fn commit_options(message: &str) -> CommitOptions {
    CommitOptions {
        author: Author {
            name: "Image Bot".into(),
            email: "bot@example.com".into(),
        },
        message: message.into(),
        time: UNIX_EPOCH + Duration::from_secs(COMMIT_TIME),
        paths: None,
        signing_key: None,
    }
}

/// Runs the git CLI with host config switched off and returns its trimmed stdout.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    run(dir, "git", args, &[])
}

/// Runs `program` in `dir` with extra `env` and host git config switched off; trimmed stdout.
fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &Path)]) -> anyhow::Result<String> {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// A fresh `git clone` of the fixture's bare repository at `branch`, after `git fsck`.
fn clone_with_cli(repo: &GitRepoFixture, branch: &str) -> anyhow::Result<tempfile::TempDir> {
    let bare = repo.bare_path();
    git(&bare, &["fsck", "--strict", "--no-dangling"])?;
    let dir = tempfile::tempdir()?;
    let bare = bare.to_str().context("utf-8 path")?;
    git(
        dir.path(),
        &["clone", "--quiet", "--branch", branch, bare, "clone"],
    )?;
    Ok(dir)
}

fn write(clone: &WorkingClone, path: &str, content: &str) -> anyhow::Result<()> {
    let full = clone.dir().join(path);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(full, content)?;
    Ok(())
}

struct HttpSetup {
    repo: GitRepoFixture,
    server: HttpGitServer,
    url: String,
}

fn http_setup() -> anyhow::Result<HttpSetup> {
    let repo = GitRepoFixture::new("app")?;
    let server = HttpGitServer::start(&repo.projects_root(), USER, PASSWORD)?;
    let url = server.repo_url(repo.name());
    Ok(HttpSetup { repo, server, url })
}

/// A repository never pushed to: the clone is an empty work tree, the first commit is a root
/// commit and the push creates the branch (Flux's bootstrap into a new repository). A branch
/// missing from a repository that has others is still not found.
#[tokio::test]
async fn an_empty_repository_gets_a_root_commit_and_its_first_branch() -> anyhow::Result<()> {
    let s = http_setup()?;
    let dir = tempfile::tempdir()?;
    let mut clone =
        WorkingClone::clone_into(spec(&s.url, "main", None, basic_auth(PASSWORD)), dir.path())
            .await?;
    assert_eq!(clone.base().commit, "");
    write(&clone, "clusters/dev/app.yaml", "kind: ConfigMap\n")?;
    let commit = clone
        .commit(&commit_options("First"))?
        .context("a change was made")?;
    let outcome = clone.push(None).await?;
    assert_eq!(outcome.updates.len(), 1);
    assert_eq!(outcome.updates[0].old, None);
    let cli = clone_with_cli(&s.repo, "main")?;
    let work = cli.path().join("clone");
    assert_eq!(git(&work, &["rev-parse", "HEAD"])?, commit);
    assert_eq!(git(&work, &["rev-list", "--count", "HEAD"])?, "1");
    assert_eq!(
        std::fs::read_to_string(work.join("clusters/dev/app.yaml"))?,
        "kind: ConfigMap\n"
    );
    let other = tempfile::tempdir()?;
    let missing = WorkingClone::clone_into(
        spec(&s.url, "other", None, basic_auth(PASSWORD)),
        other.path(),
    )
    .await;
    assert!(
        matches!(missing, Err(GitError::ReferenceNotFound { .. })),
        "{missing:?}"
    );
    Ok(())
}

#[tokio::test]
async fn http_commit_and_push_with_basic_auth() -> anyhow::Result<()> {
    let s = http_setup()?;
    let first = s.repo.commit(
        "master",
        &[
            ("deploy/app.yaml", "image: app:1.0\n"),
            ("deploy/old.yaml", "old\n"),
            ("README", "hi\n"),
        ],
        "first",
    )?;
    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(
        spec(&s.url, "master", None, basic_auth(PASSWORD)),
        dir.path(),
    )
    .await?;
    assert_eq!(clone.base().commit, first);
    write(&clone, "deploy/app.yaml", "image: app:1.1\n")?;
    write(&clone, "deploy/new/extra.yaml", "new\n")?;
    std::fs::remove_file(clone.dir().join("deploy/old.yaml"))?;
    let commit = clone
        .commit(&commit_options("Update app to 1.1"))?
        .context("a change was made")?;
    let outcome = clone.push(None).await?;
    assert_eq!(outcome.commit, commit);
    assert_eq!(outcome.updates.len(), 1);
    assert_eq!(outcome.updates[0].reference, "refs/heads/master");
    assert_eq!(outcome.updates[0].old.as_deref(), Some(first.as_str()));

    let cli = clone_with_cli(&s.repo, "master")?;
    let work = cli.path().join("clone");
    assert_eq!(git(&work, &["rev-parse", "HEAD"])?, commit);
    assert_eq!(git(&work, &["rev-parse", "HEAD^"])?, first);
    assert_eq!(
        git(&work, &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%at|%s"])?,
        format!(
            "Image Bot <bot@example.com>|Image Bot <bot@example.com>|{COMMIT_TIME}|Update app to 1.1"
        )
    );
    assert_eq!(
        std::fs::read_to_string(work.join("deploy/app.yaml"))?,
        "image: app:1.1\n"
    );
    assert_eq!(
        std::fs::read_to_string(work.join("deploy/new/extra.yaml"))?,
        "new\n"
    );
    assert!(!work.join("deploy/old.yaml").exists());
    assert_eq!(std::fs::read_to_string(work.join("README"))?, "hi\n");
    Ok(())
}

#[tokio::test]
async fn ssh_commit_and_push_with_deploy_key() -> anyhow::Result<()> {
    let repo = GitRepoFixture::new("infra")?;
    let first = repo.commit("main", &[("k.yaml", "tag: 1\n")], "first")?;
    let server = SshGitServer::start()?;
    let auth = GitAuth {
        identity: Some(server.private_key_pem()?),
        known_hosts: Some(server.known_hosts()?),
        ..GitAuth::default()
    };
    let url = server.repo_url(&repo.bare_path());
    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(spec(&url, "main", None, auth), dir.path()).await?;
    write(&clone, "k.yaml", "tag: 2\n")?;
    let commit = clone
        .commit(&commit_options("ssh update"))?
        .context("a change was made")?;
    let outcome = clone.push(None).await?;
    assert_eq!(outcome.updates.len(), 1);
    assert_eq!(repo.rev_parse("refs/heads/main")?, commit);
    let cli = clone_with_cli(&repo, "main")?;
    let work = cli.path().join("clone");
    assert_eq!(git(&work, &["rev-parse", "HEAD^"])?, first);
    assert_eq!(
        git(&work, &["log", "-1", "--format=%an <%ae>|%s"])?,
        "Image Bot <bot@example.com>|ssh update"
    );
    assert_eq!(std::fs::read_to_string(work.join("k.yaml"))?, "tag: 2\n");
    Ok(())
}

#[tokio::test]
async fn push_creates_a_missing_branch_and_the_refspec_destination() -> anyhow::Result<()> {
    let s = http_setup()?;
    let first = s
        .repo
        .commit("master", &[("app.yaml", "v: 1\n")], "first")?;
    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(
        spec(
            &s.url,
            "master",
            Some("image-updates"),
            basic_auth(PASSWORD),
        ),
        dir.path(),
    )
    .await?;
    assert_eq!(clone.base().commit, first);
    write(&clone, "app.yaml", "v: 2\n")?;
    let commit = clone
        .commit(&commit_options("on a new branch"))?
        .context("a change was made")?;
    let outcome = clone.push(Some("HEAD:refs/heads/review")).await?;
    let created: Vec<_> = outcome
        .updates
        .iter()
        .map(|u| (u.reference.as_str(), u.old.as_deref()))
        .collect();
    assert_eq!(
        created,
        vec![
            ("refs/heads/image-updates", None),
            ("refs/heads/review", None)
        ]
    );
    let refs = s.repo.ls_remote()?;
    assert_eq!(refs.get("refs/heads/image-updates"), Some(&commit));
    assert_eq!(refs.get("refs/heads/review"), Some(&commit));
    assert_eq!(refs.get("refs/heads/master"), Some(&first));
    assert_eq!(s.repo.show("image-updates", "app.yaml")?, "v: 2\n");
    clone_with_cli(&s.repo, "image-updates")?;

    // The branch exists now: a new clone builds on it rather than on the checkout branch.
    let dir = tempfile::tempdir()?;
    let again = WorkingClone::clone_into(
        spec(
            &s.url,
            "master",
            Some("image-updates"),
            basic_auth(PASSWORD),
        ),
        dir.path(),
    )
    .await?;
    assert_eq!(again.base().commit, commit);
    Ok(())
}

#[tokio::test]
async fn nothing_changed_makes_no_commit_and_pushes_nothing() -> anyhow::Result<()> {
    let s = http_setup()?;
    let first = s
        .repo
        .commit("master", &[("app.yaml", "v: 1\n")], "first")?;
    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(
        spec(&s.url, "master", None, basic_auth(PASSWORD)),
        dir.path(),
    )
    .await?;
    // Rewriting a file with the same content is no change.
    write(&clone, "app.yaml", "v: 1\n")?;
    assert_eq!(clone.commit(&commit_options("nothing"))?, None);
    assert_eq!(clone.head(), first);
    let outcome = clone.push(None).await?;
    assert!(outcome.updates.is_empty(), "{outcome:?}");
    assert_eq!(s.repo.rev_parse("refs/heads/master")?, first);
    Ok(())
}

#[tokio::test]
async fn commit_limited_to_paths_leaves_other_edits_out() -> anyhow::Result<()> {
    let s = http_setup()?;
    s.repo
        .commit("master", &[("a/x.yaml", "1\n"), ("b.yaml", "1\n")], "first")?;
    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(
        spec(&s.url, "master", None, basic_auth(PASSWORD)),
        dir.path(),
    )
    .await?;
    write(&clone, "a/x.yaml", "2\n")?;
    write(&clone, "b.yaml", "2\n")?;
    let options = CommitOptions {
        paths: Some(vec!["a".into()]),
        ..commit_options("only a")
    };
    let commit = clone.commit(&options)?.context("a changed")?;
    clone.push(None).await?;
    assert_eq!(s.repo.show(&commit, "a/x.yaml")?, "2\n");
    assert_eq!(s.repo.show(&commit, "b.yaml")?, "1\n");
    Ok(())
}

#[tokio::test]
async fn racing_push_is_rejected_then_retry_keeps_the_other_commit() -> anyhow::Result<()> {
    let mut s = http_setup()?;
    s.repo.push_through(
        s.server
            .repo_url_with_credentials(s.repo.name(), USER, PASSWORD),
    );
    let first = s
        .repo
        .commit("master", &[("app.yaml", "v: 1\n")], "first")?;
    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(
        spec(&s.url, "master", None, basic_auth(PASSWORD)),
        dir.path(),
    )
    .await?;
    write(&clone, "app.yaml", "v: 2\n")?;
    clone
        .commit(&commit_options("ours"))?
        .context("a change was made")?;

    let theirs = s
        .repo
        .commit("master", &[("other.yaml", "theirs\n")], "theirs")?;
    let error = clone.push(None).await.expect_err("remote moved");
    match &error {
        PushError::Rejected {
            reference,
            remote_commit,
            ..
        } => {
            assert_eq!(reference, "refs/heads/master");
            assert_eq!(remote_commit.as_deref(), Some(theirs.as_str()));
        }
        other => bail!("expected a rejection, got {other:?}"),
    }
    assert!(error.to_string().contains(&s.url), "{error}");
    assert_eq!(s.repo.rev_parse("refs/heads/master")?, theirs);

    let base = clone.reset_to_remote().await?.clone();
    assert_eq!(base.commit, theirs);
    assert_eq!(
        std::fs::read_to_string(clone.dir().join("other.yaml"))?,
        "theirs\n"
    );
    assert_eq!(
        std::fs::read_to_string(clone.dir().join("app.yaml"))?,
        "v: 1\n"
    );
    write(&clone, "app.yaml", "v: 2\n")?;
    let ours = clone
        .commit(&commit_options("ours, again"))?
        .context("a change was made")?;
    clone.push(None).await?;

    let cli = clone_with_cli(&s.repo, "master")?;
    let work = cli.path().join("clone");
    assert_eq!(
        git(&work, &["log", "--format=%H", "master"])?,
        [ours.as_str(), theirs.as_str(), first.as_str()].join("\n")
    );
    assert_eq!(std::fs::read_to_string(work.join("app.yaml"))?, "v: 2\n");
    assert_eq!(
        std::fs::read_to_string(work.join("other.yaml"))?,
        "theirs\n"
    );
    Ok(())
}

#[tokio::test]
async fn wrong_credentials_fail_clearly_without_the_password() -> anyhow::Result<()> {
    let s = http_setup()?;
    s.repo
        .commit("master", &[("app.yaml", "v: 1\n")], "first")?;
    let wrong = "wrong-Pa55word-42";
    let dir = tempfile::tempdir()?;
    let error =
        WorkingClone::clone_into(spec(&s.url, "master", None, basic_auth(wrong)), dir.path())
            .await
            .expect_err("wrong password");
    assert!(
        matches!(error, GitError::AuthenticationFailed { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains(wrong), "{error}");

    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(
        spec(&s.url, "master", None, basic_auth(PASSWORD)),
        dir.path(),
    )
    .await?;
    write(&clone, "app.yaml", "v: 2\n")?;
    clone.commit(&commit_options("x"))?.context("changed")?;
    clone.set_auth(basic_auth(wrong));
    let error = clone.push(None).await.expect_err("wrong password");
    let message = error.to_string();
    assert!(
        matches!(error, PushError::Git(GitError::AuthenticationFailed { .. })),
        "{error:?}"
    );
    assert!(message.contains(&s.url.replace("http://", "")), "{message}");
    assert!(!message.contains(wrong), "{message}");
    assert!(!format!("{error:?}").contains(wrong));
    Ok(())
}

#[tokio::test]
async fn forced_refspec_is_refused() -> anyhow::Result<()> {
    let s = http_setup()?;
    s.repo
        .commit("master", &[("app.yaml", "v: 1\n")], "first")?;
    let dir = tempfile::tempdir()?;
    let clone = WorkingClone::clone_into(
        spec(&s.url, "master", None, basic_auth(PASSWORD)),
        dir.path(),
    )
    .await?;
    let error = clone
        .push(Some("+HEAD:refs/heads/other"))
        .await
        .expect_err("forced push");
    assert!(
        matches!(error, PushError::InvalidRefspec { .. }),
        "{error:?}"
    );
    assert!(error.is_terminal());
    assert!(!s.repo.ls_remote()?.contains_key("refs/heads/other"));
    Ok(())
}

/// A throwaway GnuPG home with one ed25519 signing key protected by `passphrase`.
struct GpgHome {
    dir: tempfile::TempDir,
}

impl GpgHome {
    fn with_key(passphrase: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("gpg").tempdir()?;
        let home = Self { dir };
        home.gpg(&[
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            passphrase,
            "--quick-gen-key",
            "Image Bot <bot@example.com>",
            "ed25519",
            "sign",
            "never",
        ])?;
        Ok(home)
    }

    fn gpg(&self, args: &[&str]) -> anyhow::Result<String> {
        run(
            self.dir.path(),
            "gpg",
            args,
            &[("GNUPGHOME", self.dir.path())],
        )
    }

    fn armored_secret_key(&self, passphrase: &str) -> anyhow::Result<String> {
        self.gpg(&[
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            passphrase,
            "--armor",
            "--export-secret-keys",
            "bot@example.com",
        ])
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = run(
            self.dir.path(),
            "gpgconf",
            &["--kill", "gpg-agent"],
            &[("GNUPGHOME", self.dir.path())],
        );
    }
}

#[tokio::test]
async fn signed_commit_verifies_with_git_and_gpg() -> anyhow::Result<()> {
    let passphrase = "sign-Pa55phrase";
    let gpg = GpgHome::with_key(passphrase)?;
    let key = SigningKey {
        armored_key: gpg.armored_secret_key(passphrase)?,
        passphrase: Some(passphrase.to_owned()),
    };
    let s = http_setup()?;
    s.repo
        .commit("master", &[("app.yaml", "v: 1\n")], "first")?;
    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(
        spec(&s.url, "master", None, basic_auth(PASSWORD)),
        dir.path(),
    )
    .await?;
    write(&clone, "app.yaml", "v: 2\n")?;

    let wrong = CommitOptions {
        signing_key: Some(SigningKey {
            passphrase: Some("not-the-Pa55phrase".into()),
            ..key.clone()
        }),
        ..commit_options("signed")
    };
    let error = clone.commit(&wrong).expect_err("wrong passphrase");
    assert!(matches!(error, CommitError::Signing { .. }), "{error:?}");
    assert!(!error.to_string().contains("Pa55phrase"), "{error}");

    let options = CommitOptions {
        signing_key: Some(key),
        ..commit_options("signed")
    };
    let commit = clone.commit(&options)?.context("a change was made")?;
    clone.push(None).await?;
    let cli = clone_with_cli(&s.repo, "master")?;
    let work = cli.path().join("clone");
    let env = [("GNUPGHOME", gpg.dir.path())];
    run(&work, "git", &["verify-commit", &commit], &env)?;
    assert_eq!(
        run(&work, "git", &["log", "-1", "--format=%G?"], &env)?,
        "G"
    );
    Ok(())
}

#[tokio::test]
async fn server_side_rejection_carries_the_hook_message() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let s = http_setup()?;
    let first = s
        .repo
        .commit("master", &[("app.yaml", "v: 1\n")], "first")?;
    let hook = s.repo.bare_path().join("hooks/pre-receive");
    std::fs::create_dir_all(hook.parent().context("hooks dir")?)?;
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'master is protected by policy' >&2\nexit 1\n",
    )?;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(
        spec(&s.url, "master", None, basic_auth(PASSWORD)),
        dir.path(),
    )
    .await?;
    write(&clone, "app.yaml", "v: 2\n")?;
    clone.commit(&commit_options("x"))?.context("changed")?;
    let error = clone.push(None).await.expect_err("hook refuses");
    let PushError::Rejected {
        reference, reason, ..
    } = &error
    else {
        bail!("expected a rejection, got {error:?}");
    };
    assert_eq!(reference, "refs/heads/master");
    assert!(reason.contains("pre-receive hook declined"), "{reason}");
    assert!(reason.contains("master is protected by policy"), "{reason}");
    assert_eq!(s.repo.rev_parse("refs/heads/master")?, first);
    Ok(())
}

#[tokio::test]
async fn tag_checkout_needs_a_push_branch() -> anyhow::Result<()> {
    let s = http_setup()?;
    let first = s
        .repo
        .commit("master", &[("app.yaml", "v: 1\n")], "first")?;
    s.repo.tag("v1.0.0", &first, None)?;
    let from_tag = |push_branch: Option<&str>| CloneSpec {
        checkout: GitReference::tag("v1.0.0"),
        ..spec(&s.url, "unused", push_branch, basic_auth(PASSWORD))
    };
    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(from_tag(None), dir.path()).await?;
    write(&clone, "app.yaml", "v: 2\n")?;
    clone.commit(&commit_options("x"))?.context("changed")?;
    let error = clone.push(None).await.expect_err("no branch");
    assert!(
        matches!(error, PushError::NoDestination { .. }),
        "{error:?}"
    );
    assert!(error.is_terminal());

    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(from_tag(Some("release-bump")), dir.path()).await?;
    assert_eq!(clone.base().commit, first);
    write(&clone, "app.yaml", "v: 2\n")?;
    let commit = clone.commit(&commit_options("bump"))?.context("changed")?;
    clone.push(None).await?;
    assert_eq!(s.repo.rev_parse("refs/heads/release-bump")?, commit);
    assert_eq!(s.repo.rev_parse("refs/heads/master")?, first);
    Ok(())
}

#[tokio::test]
async fn commit_keeps_file_modes_and_respects_gitignore() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let s = http_setup()?;
    s.repo.commit(
        "master",
        &[("keep.log", "1\n")],
        "tracked before the ignore rule",
    )?;
    s.repo.commit(
        "master",
        &[(".gitignore", "*.log\n"), ("run.sh", "echo 1\n")],
        "second",
    )?;
    let dir = tempfile::tempdir()?;
    let mut clone = WorkingClone::clone_into(
        spec(&s.url, "master", None, basic_auth(PASSWORD)),
        dir.path(),
    )
    .await?;
    let script = clone.dir().join("run.sh");
    std::fs::write(&script, "echo 2\n")?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    std::os::unix::fs::symlink("run.sh", clone.dir().join("latest"))?;
    write(&clone, "debug.log", "ignored\n")?;
    write(&clone, "keep.log", "2\n")?;
    let commit = clone.commit(&commit_options("modes"))?.context("changed")?;
    clone.push(None).await?;
    let tree = git(&s.repo.bare_path(), &["ls-tree", &commit])?;
    let entries: Vec<(&str, &str)> = tree
        .lines()
        .filter_map(|line| {
            let (meta, name) = line.split_once('\t')?;
            Some((name, meta.split_whitespace().next()?))
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            (".gitignore", "100644"),
            ("keep.log", "100644"),
            ("latest", "120000"),
            ("run.sh", "100755"),
        ]
    );
    assert_eq!(s.repo.show(&commit, "keep.log")?, "2\n");
    assert_eq!(s.repo.show(&commit, "latest")?, "run.sh");
    Ok(())
}
