//! End-to-end git tests against real servers on loopback: the testkit's smart-HTTP server (git
//! http-backend behind basic auth) and an OpenSSH sshd with a generated deploy key.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tether_source::{
    FetchOutcome, GitAuth, GitError, GitReference, checkout, checkout_if_moved, remote_head,
};
use tether_testkit::git::{GitRepoFixture, HttpGitServer, SshGitServer, closed_loopback_port};

const USER: &str = "flux";
const PASSWORD: &str = "s3cret-Pa55word";
const TIMEOUT: Duration = Duration::from_secs(30);

fn basic_auth(password: &str) -> GitAuth {
    let data: BTreeMap<String, Vec<u8>> = [
        ("username".to_owned(), USER.as_bytes().to_vec()),
        ("password".to_owned(), password.as_bytes().to_vec()),
    ]
    .into_iter()
    .collect();
    GitAuth::from_secret_data(&data).expect("valid secret")
}

fn ssh_auth(server: &SshGitServer, known_hosts: String) -> anyhow::Result<GitAuth> {
    Ok(GitAuth {
        identity: Some(server.private_key_pem()?),
        known_hosts: Some(known_hosts),
        ..GitAuth::default()
    })
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

#[tokio::test]
async fn http_clone_with_right_credentials() -> anyhow::Result<()> {
    let s = http_setup()?;
    let sha = s.repo.commit(
        "master",
        &[("deploy/app.yaml", "kind: ConfigMap\n")],
        "first",
    )?;
    let dir = tempfile::tempdir()?;
    let out = checkout(
        &s.url,
        &GitReference::default(),
        &basic_auth(PASSWORD),
        TIMEOUT,
        dir.path(),
    )
    .await?;
    assert_eq!(out.revision.to_string(), format!("master@sha1:{sha}"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("deploy/app.yaml"))?,
        "kind: ConfigMap\n"
    );
    Ok(())
}

#[tokio::test]
async fn http_wrong_credentials_fail_without_leaking_the_password() -> anyhow::Result<()> {
    let s = http_setup()?;
    s.repo.commit("master", &[("a", "a")], "first")?;
    let dir = tempfile::tempdir()?;
    let wrong = "wrong-Pa55word-42";
    let url_with_password = s
        .server
        .repo_url_with_credentials(s.repo.name(), USER, wrong);
    for url in [s.url.as_str(), url_with_password.as_str()] {
        let auth = if url == s.url {
            basic_auth(wrong)
        } else {
            GitAuth::default()
        };
        let error = checkout(url, &GitReference::default(), &auth, TIMEOUT, dir.path())
            .await
            .expect_err("wrong password must fail");
        let message = error.to_string();
        assert!(
            matches!(error, GitError::AuthenticationFailed { .. }),
            "{error:?}"
        );
        assert!(message.contains(&s.url.replace("http://", "")), "{message}");
        assert!(message.contains("authentication"), "{message}");
        assert!(!message.contains(wrong), "{message}");
        assert!(!format!("{error:?}").contains(wrong));
        let _ = std::fs::remove_dir_all(dir.path());
    }
    Ok(())
}

#[tokio::test]
async fn ssh_clone_with_deploy_key() -> anyhow::Result<()> {
    let repo = GitRepoFixture::new("infra")?;
    let sha = repo.commit("main", &[("k.yaml", "ok\n")], "first")?;
    let server = SshGitServer::start()?;
    let auth = ssh_auth(&server, server.known_hosts()?)?;
    let url = server.repo_url(&repo.bare_path());
    let dir = tempfile::tempdir()?;
    let out = checkout(
        &url,
        &GitReference::branch("main"),
        &auth,
        TIMEOUT,
        dir.path(),
    )
    .await?;
    assert_eq!(out.revision.to_string(), format!("main@sha1:{sha}"));
    assert_eq!(std::fs::read_to_string(dir.path().join("k.yaml"))?, "ok\n");
    let head = remote_head(&url, &GitReference::branch("main"), &auth, TIMEOUT).await?;
    assert_eq!(head, out.revision);
    Ok(())
}

#[tokio::test]
async fn ssh_unknown_host_key_fails_clearly() -> anyhow::Result<()> {
    let repo = GitRepoFixture::new("infra")?;
    repo.commit("master", &[("k", "v")], "first")?;
    let server = SshGitServer::start()?;
    let auth = ssh_auth(&server, server.foreign_known_hosts()?)?;
    let url = server.repo_url(&repo.bare_path());
    let error = remote_head(&url, &GitReference::default(), &auth, TIMEOUT)
        .await
        .expect_err("foreign host key must fail");
    assert!(
        matches!(error, GitError::HostKeyMismatch { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains(&url), "{error}");
    Ok(())
}

#[tokio::test]
async fn ssh_unauthorized_key_fails_as_authentication() -> anyhow::Result<()> {
    let repo = GitRepoFixture::new("infra")?;
    repo.commit("master", &[("k", "v")], "first")?;
    let server = SshGitServer::start()?;
    let auth = GitAuth {
        identity: Some(server.unauthorized_key_pem()?),
        known_hosts: Some(server.known_hosts()?),
        ..GitAuth::default()
    };
    let url = server.repo_url(&repo.bare_path());
    let error = remote_head(&url, &GitReference::default(), &auth, TIMEOUT)
        .await
        .expect_err("unauthorized key must fail");
    assert!(
        matches!(error, GitError::AuthenticationFailed { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains("PRIVATE KEY"));
    Ok(())
}

#[tokio::test]
async fn unreachable_server_fails_quickly() -> anyhow::Result<()> {
    let port = closed_loopback_port()?;
    let url = format!("http://127.0.0.1:{port}/app.git");
    let started = Instant::now();
    let error = remote_head(&url, &GitReference::default(), &GitAuth::default(), TIMEOUT)
        .await
        .expect_err("closed port must fail");
    assert!(matches!(error, GitError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains(&url), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let server = SshGitServer::start()?;
    let auth = ssh_auth(&server, server.known_hosts()?)?;
    let ssh_url = format!("ssh://git@127.0.0.1:{port}/srv/app.git");
    let started = Instant::now();
    let error = remote_head(&ssh_url, &GitReference::default(), &auth, TIMEOUT)
        .await
        .expect_err("closed ssh port must fail");
    assert!(matches!(error, GitError::Unreachable { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}

#[tokio::test]
async fn silent_server_times_out() -> anyhow::Result<()> {
    // Accepts connections (the kernel backlog does) but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/app.git", listener.local_addr()?);
    let started = Instant::now();
    let error = remote_head(
        &url,
        &GitReference::default(),
        &GitAuth::default(),
        Duration::from_secs(2),
    )
    .await
    .expect_err("silent server must time out");
    assert!(matches!(error, GitError::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    drop(listener);
    Ok(())
}

#[tokio::test]
async fn missing_branch_is_reported() -> anyhow::Result<()> {
    let s = http_setup()?;
    s.repo.commit("master", &[("a", "a")], "first")?;
    let auth = basic_auth(PASSWORD);
    let error = remote_head(&s.url, &GitReference::branch("nope"), &auth, TIMEOUT)
        .await
        .expect_err("missing branch");
    assert!(
        matches!(error, GitError::ReferenceNotFound { .. }),
        "{error:?}"
    );
    let dir = tempfile::tempdir()?;
    let error = checkout(
        &s.url,
        &GitReference::branch("nope"),
        &auth,
        TIMEOUT,
        dir.path(),
    )
    .await
    .expect_err("missing branch");
    assert!(error.to_string().contains("refs/heads/nope"), "{error}");
    Ok(())
}

#[tokio::test]
async fn reference_precedence_gives_flux_revisions() -> anyhow::Result<()> {
    let s = http_setup()?;
    let auth = basic_auth(PASSWORD);
    let c1 = s.repo.commit("master", &[("v", "1")], "one")?;
    s.repo.tag("v1.0.0", &c1, Some("release 1.0.0"))?;
    let c2 = s.repo.commit("master", &[("v", "2")], "two")?;
    s.repo.tag("v1.1.0", &c2, None)?;
    let c3 = s.repo.commit("master", &[("v", "3")], "three")?;
    s.repo.tag("v2.0.0-rc.1", &c3, None)?;
    let dev = s.repo.commit("dev", &[("v", "dev")], "dev")?;

    let cases: Vec<(GitReference, String, &str)> = vec![
        (GitReference::default(), format!("master@sha1:{c3}"), "3"),
        (
            GitReference::branch("dev"),
            format!("dev@sha1:{dev}"),
            "dev",
        ),
        (
            GitReference::tag("v1.0.0"),
            format!("v1.0.0@sha1:{c1}"),
            "1",
        ),
        (
            GitReference::semver("^1.0.0"),
            format!("v1.1.0@sha1:{c2}"),
            "2",
        ),
        (
            GitReference::name("refs/heads/dev"),
            format!("refs/heads/dev@sha1:{dev}"),
            "dev",
        ),
        (
            GitReference::name("refs/tags/v1.0.0"),
            format!("refs/tags/v1.0.0@sha1:{c1}"),
            "1",
        ),
        (GitReference::commit(&c1), format!("sha1:{c1}"), "1"),
        (
            GitReference {
                branch: Some("master".into()),
                commit: Some(c2.clone()),
                ..GitReference::default()
            },
            format!("master@sha1:{c2}"),
            "2",
        ),
        (
            GitReference {
                tag: Some("v1.0.0".into()),
                semver: Some(">=1.1.0 <2.0.0".into()),
                branch: Some("dev".into()),
                ..GitReference::default()
            },
            format!("v1.1.0@sha1:{c2}"),
            "2",
        ),
    ];
    for (reference, expected, content) in cases {
        let dir = tempfile::tempdir()?;
        let out = checkout(&s.url, &reference, &auth, TIMEOUT, dir.path()).await?;
        assert_eq!(out.revision.to_string(), expected, "{reference:?}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("v"))?,
            content,
            "{reference:?}"
        );
        let head = remote_head(&s.url, &reference, &auth, TIMEOUT).await?;
        assert_eq!(head.to_string(), expected, "remote_head {reference:?}");
        // At the revision the caller has, nothing is fetched or written.
        let unfetched = tempfile::tempdir()?;
        let have = expected.clone();
        let outcome = checkout_if_moved(&s.url, &reference, &auth, TIMEOUT, unfetched.path(), {
            move |revision| revision.to_string() == have
        })
        .await?;
        match outcome {
            FetchOutcome::UpToDate(revision) => assert_eq!(revision.to_string(), expected),
            other => panic!("{reference:?}: expected up to date, got {other:?}"),
        }
        assert!(!unfetched.path().join("v").exists(), "{reference:?}");
        // At another revision, it is checked out as `checkout` does.
        let fetched = tempfile::tempdir()?;
        let outcome = checkout_if_moved(&s.url, &reference, &auth, TIMEOUT, fetched.path(), {
            |revision| revision.to_string() == "master@sha1:0000"
        })
        .await?;
        let FetchOutcome::CheckedOut(out) = outcome else {
            panic!("{reference:?}: expected a checkout, got {outcome:?}");
        };
        assert_eq!(out.revision.to_string(), expected, "{reference:?}");
        assert_eq!(
            std::fs::read_to_string(fetched.path().join("v"))?,
            content,
            "{reference:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn remote_head_sees_a_push_over_http() -> anyhow::Result<()> {
    let mut s = http_setup()?;
    let auth = basic_auth(PASSWORD);
    let first = s.repo.commit("master", &[("a", "1")], "one")?;
    let head = remote_head(&s.url, &GitReference::default(), &auth, TIMEOUT).await?;
    assert_eq!(head.commit, first);
    s.repo.push_through(
        s.server
            .repo_url_with_credentials(s.repo.name(), USER, PASSWORD),
    );
    let second = s.repo.commit("master", &[("a", "2")], "two")?;
    assert_eq!(s.repo.rev_parse("refs/heads/master")?, second);
    let head = remote_head(&s.url, &GitReference::default(), &auth, TIMEOUT).await?;
    assert_eq!(head.to_string(), format!("master@sha1:{second}"));
    let had = format!("master@sha1:{first}");
    let dir = tempfile::tempdir()?;
    let outcome = checkout_if_moved(
        &s.url,
        &GitReference::default(),
        &auth,
        TIMEOUT,
        dir.path(),
        move |revision| revision.to_string() == had,
    )
    .await?;
    let FetchOutcome::CheckedOut(out) = outcome else {
        panic!("the head moved, yet nothing was fetched: {outcome:?}");
    };
    assert_eq!(out.revision.commit, second);
    assert_eq!(std::fs::read_to_string(dir.path().join("a"))?, "2");
    Ok(())
}

#[tokio::test]
async fn ssh_identity_with_passphrase() -> anyhow::Result<()> {
    let repo = GitRepoFixture::new("infra")?;
    let sha = repo.commit("master", &[("k", "v")], "first")?;
    let server = SshGitServer::start()?;
    let passphrase = "correct horse battery";
    let auth = GitAuth {
        identity: Some(server.authorize_key_with_passphrase(passphrase)?),
        known_hosts: Some(server.known_hosts()?),
        password: Some(passphrase.to_owned()),
        ..GitAuth::default()
    };
    let url = server.repo_url(&repo.bare_path());
    let head = remote_head(&url, &GitReference::default(), &auth, TIMEOUT).await?;
    assert_eq!(head.to_string(), format!("master@sha1:{sha}"));
    Ok(())
}

#[tokio::test]
async fn submodules_are_checked_out_at_the_recorded_commit() -> anyhow::Result<()> {
    let app = http_setup()?;
    let lib = http_setup()?;
    lib.repo
        .commit("master", &[("lib.yaml", "version: 1\n")], "lib v1")?;
    app.repo
        .commit("master", &[("app.yaml", "app: 1\n")], "app")?;
    app.repo
        .add_submodule("master", "vendor/lib", &lib.repo.bare_path(), &lib.url)?;
    // A later lib commit is not what the superproject records.
    lib.repo
        .commit("master", &[("lib.yaml", "version: 2\n")], "lib v2")?;
    let dir = tempfile::tempdir()?;
    let reference = GitReference::default();
    let out = checkout(
        &app.url,
        &reference,
        &basic_auth(PASSWORD),
        TIMEOUT,
        dir.path(),
    )
    .await?;
    assert!(!dir.path().join("vendor/lib/lib.yaml").exists());
    tether_source::submodule::checkout_submodules(&out, &app.url, &basic_auth(PASSWORD), TIMEOUT)
        .await?;
    assert_eq!(
        std::fs::read_to_string(dir.path().join("vendor/lib/lib.yaml"))?,
        "version: 1\n"
    );
    Ok(())
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_huge_file_or_too_many_files_are_refused_before_anything_is_written() -> anyhow::Result<()>
{
    let size: u64 = std::env::var("TETHER_BIG_FILE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128 << 20);
    let big = http_setup()?;
    big.repo
        .commit_zero_file("master", "assets/big.bin", size, "zeros")?;
    let before = peak_rss_kib();
    let dir = tempfile::tempdir()?;
    let reference = GitReference::default();
    let started = Instant::now();
    let slow = Duration::from_secs(600);
    let error = checkout(
        &big.url,
        &reference,
        &basic_auth(PASSWORD),
        slow,
        dir.path(),
    )
    .await
    .expect_err("a file over the limit");
    println!("{size}-byte file refused after {:?}", started.elapsed());
    assert_eq!(
        error.to_string(),
        format!(
            "checkout of '{}' refused: the fetched pack holds an object larger than the limit of {} bytes for a file (refused before inflating it)",
            big.url,
            tether_source::CheckoutLimits::DEFAULT.max_file_bytes
        )
    );
    assert!(!dir.path().join("assets").exists());
    let after_big = peak_rss_kib();
    // The blob was never inflated: memory grew by far less than the file limit.
    let limit_kib = tether_source::CheckoutLimits::DEFAULT.max_file_bytes / 1024;
    assert!(
        after_big.saturating_sub(before) < limit_kib / 2,
        "peak RSS grew from {before} KiB to {after_big} KiB refusing the {size}-byte file"
    );

    let many = http_setup()?;
    let names: Vec<String> = (0..100_000)
        .map(|i| format!("m/{}/{i}.yaml", i % 100))
        .collect();
    let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "")).collect();
    many.repo.commit("master", &files, "100k files")?;
    let dir = tempfile::tempdir()?;
    let error = checkout(
        &many.url,
        &reference,
        &basic_auth(PASSWORD),
        TIMEOUT,
        dir.path(),
    )
    .await
    .expect_err("100k files");
    assert_eq!(
        error.to_string(),
        format!(
            "checkout of '{}' refused: the tree has more than {} files",
            many.url,
            tether_source::CheckoutLimits::DEFAULT.max_files
        )
    );
    println!(
        "peak RSS: {before} KiB before, {after_big} KiB after the {size}-byte file, {} KiB after 100k files",
        peak_rss_kib()
    );
    Ok(())
}
