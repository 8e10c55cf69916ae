//! A bare repository under a temp dir, plus a scratch clone used to commit and push through the
//! `git` CLI. Every git invocation runs with system and global config disabled, so the host's
//! settings cannot change what a test sees.

use super::CommitSigner;
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A bare repository `<root>/<name>.git` and a work clone next to it.
///
/// The root is the directory both servers export: the HTTP server's `GIT_PROJECT_ROOT`, and for
/// SSH the bare repository's absolute path goes into the URL.
pub struct GitRepoFixture {
    dir: tempfile::TempDir,
    name: String,
    push_url: Option<String>,
}

impl GitRepoFixture {
    /// Creates an empty bare repository whose HEAD points at `master` (Flux's default branch).
    pub fn new(name: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("tether-git-").tempdir()?;
        let fixture = Self {
            dir,
            name: name.to_owned(),
            push_url: None,
        };
        std::fs::create_dir_all(fixture.projects_root())?;
        let bare = fixture.bare_path();
        run_git(
            &fixture.projects_root(),
            &[
                "init",
                "--bare",
                "--initial-branch=master",
                path_str(&bare)?,
            ],
        )?;
        run_git(&bare, &["config", "http.receivepack", "true"])?;
        run_git(
            &bare,
            &["config", "uploadpack.allowReachableSHA1InWant", "true"],
        )?;
        run_git(
            fixture.dir.path(),
            &["clone", "--quiet", path_str(&bare)?, "work"],
        )?;
        Ok(fixture)
    }

    /// The directory holding the bare repository, to be served as a project root.
    pub fn projects_root(&self) -> PathBuf {
        self.dir.path().join("repos")
    }

    /// The repository name, the path below the project root without `.git`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Absolute path of the bare repository.
    pub fn bare_path(&self) -> PathBuf {
        self.projects_root().join(format!("{}.git", self.name))
    }

    fn work_path(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// Pushes through `url` (for example an HTTP URL with credentials, to exercise receive-pack)
    /// instead of the bare repository's path.
    pub fn push_through(&mut self, url: impl Into<String>) {
        self.push_url = Some(url.into());
    }

    fn push_target(&self) -> anyhow::Result<String> {
        match &self.push_url {
            Some(url) => Ok(url.clone()),
            None => Ok(path_str(&self.bare_path())?.to_owned()),
        }
    }

    /// Writes `files` (path → content, parents created) on top of `branch`'s tip (or of the
    /// current commit when the branch is new), commits with `message`, pushes, and returns the
    /// new commit's SHA.
    pub fn commit(
        &self,
        branch: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> anyhow::Result<String> {
        let sha = self.commit_unpushed(branch, files, message)?;
        self.push(branch)?;
        Ok(sha)
    }

    /// Writes and commits `files` as [`Self::commit`] does, without pushing; returns the SHA.
    pub fn commit_unpushed(
        &self,
        branch: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> anyhow::Result<String> {
        self.switch_to_branch(branch)?;
        let work = self.work_path();
        for (path, content) in files {
            let target = work.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, content).with_context(|| format!("writing {path}"))?;
        }
        run_git(&work, &["add", "--all"])?;
        run_git(
            &work,
            &["commit", "--quiet", "--allow-empty", "-m", message],
        )?;
        self.work_rev_parse("HEAD")
    }

    /// Commits a zero-filled file `path` of `size` bytes (made sparse on disk, so the test
    /// holds none of it in memory) on `branch` and pushes; returns the new commit's SHA.
    pub fn commit_zero_file(
        &self,
        branch: &str,
        path: &str,
        size: u64,
        message: &str,
    ) -> anyhow::Result<String> {
        self.switch_to_branch(branch)?;
        let work = self.work_path();
        let file = work.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::File::create(&file)?.set_len(size)?;
        run_git(&work, &["add", "--all"])?;
        run_git(&work, &["commit", "--quiet", "-m", message])?;
        let sha = self.work_rev_parse("HEAD")?;
        self.push(branch)?;
        Ok(sha)
    }

    /// Commits a symlink `path` → `target` on `branch` and pushes; returns the new commit's SHA.
    pub fn commit_symlink(
        &self,
        branch: &str,
        path: &str,
        target: &str,
        message: &str,
    ) -> anyhow::Result<String> {
        self.switch_to_branch(branch)?;
        let work = self.work_path();
        let link = work.join(path);
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::os::unix::fs::symlink(target, &link)?;
        run_git(&work, &["add", "--all"])?;
        run_git(&work, &["commit", "--quiet", "-m", message])?;
        let sha = self.work_rev_parse("HEAD")?;
        self.push(branch)?;
        Ok(sha)
    }

    /// [`Self::commit`] with the commit signed by `signer` (`git commit -S`).
    pub fn commit_signed(
        &self,
        branch: &str,
        files: &[(&str, &str)],
        message: &str,
        signer: &CommitSigner,
    ) -> anyhow::Result<String> {
        self.switch_to_branch(branch)?;
        let work = self.work_path();
        for (path, content) in files {
            let target = work.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, content).with_context(|| format!("writing {path}"))?;
        }
        run_git(&work, &["add", "--all"])?;
        run_signed_git(
            &work,
            signer,
            &["commit", "--quiet", "--allow-empty", "-S", "-m", message],
        )?;
        let sha = self.work_rev_parse("HEAD")?;
        self.push(branch)?;
        Ok(sha)
    }

    /// Adds the repository at `fetch_from` (a local path the work clone can read) as submodule
    /// `path` on `branch`, records `url` as its URL in `.gitmodules` (what a fetcher uses),
    /// commits and pushes; returns the new commit's SHA.
    pub fn add_submodule(
        &self,
        branch: &str,
        path: &str,
        fetch_from: &Path,
        url: &str,
    ) -> anyhow::Result<String> {
        self.switch_to_branch(branch)?;
        let work = self.work_path();
        run_git(
            &work,
            &[
                "-c",
                "protocol.file.allow=always",
                "submodule",
                "--quiet",
                "add",
                path_str(fetch_from)?,
                path,
            ],
        )?;
        run_git(
            &work,
            &[
                "config",
                "-f",
                ".gitmodules",
                &format!("submodule.{path}.url"),
                url,
            ],
        )?;
        run_git(&work, &["add", ".gitmodules"])?;
        run_git(&work, &["commit", "--quiet", "-m", &format!("add {path}")])?;
        let sha = self.work_rev_parse("HEAD")?;
        self.push(branch)?;
        Ok(sha)
    }

    /// Creates the annotated tag `name` at `target`, signed by `signer` (`git tag -s`); returns
    /// the SHA of the commit it points at.
    pub fn tag_signed(
        &self,
        name: &str,
        target: &str,
        message: &str,
        signer: &CommitSigner,
    ) -> anyhow::Result<String> {
        run_signed_git(
            &self.bare_path(),
            signer,
            &["tag", "-s", "-m", message, name, target],
        )?;
        self.rev_parse(&format!("refs/tags/{name}^{{commit}}"))
    }

    /// Pushes the work clone's current commit to `branch` (the server's hooks run before this
    /// returns).
    pub fn push(&self, branch: &str) -> anyhow::Result<()> {
        let target = self.push_target()?;
        run_git(
            &self.work_path(),
            &[
                "push",
                "--quiet",
                &target,
                &format!("HEAD:refs/heads/{branch}"),
            ],
        )
    }

    /// Installs a `post-receive` hook in the bare repository that, for every pushed ref, POSTs
    /// GitHub's `push` event to `url` signed with `secret` (`X-Hub-Signature-256`), as a forge
    /// calls a webhook; each answer's status code is appended to [`Self::webhook_log`]. Needs
    /// `curl` and `openssl` on the PATH.
    pub fn send_github_push_events(&self, url: &str, secret: &str) -> anyhow::Result<()> {
        for (tool, probe) in [("curl", "--version"), ("openssl", "version")] {
            let found = Command::new(tool).arg(probe).output();
            anyhow::ensure!(
                found.is_ok_and(|o| o.status.success()),
                "the post-receive hook needs {tool}, which is not on the PATH"
            );
        }
        let quote = |text: &str| format!("'{}'", text.replace('\'', r"'\''"));
        let log = self.webhook_log_path();
        let script = GITHUB_PUSH_HOOK
            .replace("@URL@", &quote(url))
            .replace("@SECRET@", &quote(secret))
            .replace("@LOG@", &quote(path_str(&log)?))
            .replace("@REPO@", &quote(&self.name));
        let hook = self.bare_path().join("hooks").join("post-receive");
        std::fs::create_dir_all(hook.parent().context("hooks directory")?)?;
        std::fs::write(&hook, script)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
        Ok(())
    }

    fn webhook_log_path(&self) -> PathBuf {
        self.dir.path().join("webhook.log")
    }

    /// The lines the `post-receive` hook wrote: `<ref> <after> <HTTP status>` per push event.
    pub fn webhook_log(&self) -> String {
        std::fs::read_to_string(self.webhook_log_path()).unwrap_or_default()
    }

    /// Removes `paths` on `branch`, commits and pushes; returns the new commit's SHA.
    pub fn remove(&self, branch: &str, paths: &[&str], message: &str) -> anyhow::Result<String> {
        self.switch_to_branch(branch)?;
        let work = self.work_path();
        let mut args = vec!["rm", "--quiet", "-r", "--"];
        args.extend_from_slice(paths);
        run_git(&work, &args)?;
        run_git(&work, &["commit", "--quiet", "-m", message])?;
        let target = self.push_target()?;
        run_git(
            &work,
            &[
                "push",
                "--quiet",
                &target,
                &format!("HEAD:refs/heads/{branch}"),
            ],
        )?;
        self.work_rev_parse("HEAD")
    }

    fn switch_to_branch(&self, branch: &str) -> anyhow::Result<()> {
        let work = self.work_path();
        let bare = path_str(&self.bare_path())?.to_owned();
        let remote_ref = format!("refs/heads/{branch}");
        let remote_tip = self.ls_remote()?.get(&remote_ref).cloned();
        match remote_tip {
            Some(_) => {
                run_git(&work, &["fetch", "--quiet", &bare, &remote_ref])?;
                run_git(&work, &["checkout", "--quiet", "-B", branch, "FETCH_HEAD"])?;
            }
            None if git(&work, &["rev-parse", "--verify", "--quiet", "HEAD"])?
                .status
                .success() =>
            {
                run_git(&work, &["checkout", "--quiet", "-B", branch])?;
            }
            None => run_git(&work, &["checkout", "--quiet", "--orphan", branch])?,
        }
        Ok(())
    }

    /// Creates tag `name` at `target` (a rev the bare repository knows) and returns the SHA of
    /// the commit it points at. With `annotation`, the tag is annotated with that message.
    pub fn tag(
        &self,
        name: &str,
        target: &str,
        annotation: Option<&str>,
    ) -> anyhow::Result<String> {
        let bare = self.bare_path();
        match annotation {
            Some(message) => run_git(&bare, &["tag", "-a", "-m", message, name, target])?,
            None => run_git(&bare, &["tag", name, target])?,
        }
        self.rev_parse(&format!("refs/tags/{name}^{{commit}}"))
    }

    /// Every ref of the bare repository (peeled tags included as `<tag>^{}`) → object SHA.
    pub fn ls_remote(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let out = run_git_output(
            self.dir.path(),
            &["ls-remote", path_str(&self.bare_path())?],
        )?;
        Ok(out
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .map(|(sha, name)| (name.to_owned(), sha.to_owned()))
            .collect())
    }

    /// The object id `rev` resolves to in the bare repository.
    pub fn rev_parse(&self, rev: &str) -> anyhow::Result<String> {
        Ok(
            run_git_output(&self.bare_path(), &["rev-parse", "--verify", rev])?
                .trim()
                .to_owned(),
        )
    }

    fn work_rev_parse(&self, rev: &str) -> anyhow::Result<String> {
        Ok(
            run_git_output(&self.work_path(), &["rev-parse", "--verify", rev])?
                .trim()
                .to_owned(),
        )
    }

    /// The full message of the commit `rev` in the bare repository.
    pub fn message(&self, rev: &str) -> anyhow::Result<String> {
        run_git_output(&self.bare_path(), &["log", "-1", "--format=%B", rev])
    }

    /// The content of `path` at `rev` in the bare repository.
    pub fn show(&self, rev: &str, path: &str) -> anyhow::Result<String> {
        run_git_output(&self.bare_path(), &["show", &format!("{rev}:{path}")])
    }
}

/// The `post-receive` hook of [`GitRepoFixture::send_github_push_events`]: git feeds it
/// `<before> <after> <ref>` lines; the body is a subset of GitHub's push event (what Flux's
/// Receiver reads: nothing but the signature and the event header).
const GITHUB_PUSH_HOOK: &str = r#"#!/bin/sh
url=@URL@
secret=@SECRET@
log=@LOG@
repo=@REPO@
while read -r before after ref; do
  body=$(printf '{"ref":"%s","before":"%s","after":"%s","forced":false,"repository":{"name":"%s","full_name":"tether/%s"},"pusher":{"name":"tether test"}}' "$ref" "$before" "$after" "$repo" "$repo")
  signature=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
  status=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 10 \
    -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-GitHub-Delivery: $after" -H "X-Hub-Signature-256: sha256=$signature" \
    --data-binary "$body" "$url")
  echo "$ref $after $status" >>"$log"
done
"#;

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .with_context(|| format!("path {} is not UTF-8", path.display()))
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<Output> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "tether test")
        .env("GIT_AUTHOR_EMAIL", "test@tether.invalid")
        .env("GIT_COMMITTER_NAME", "tether test")
        .env("GIT_COMMITTER_EMAIL", "test@tether.invalid")
        .output()
        .context("running git")
}

fn run_git_output(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = git(dir, args)?;
    if !out.status.success() {
        bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Runs git with `signer`'s settings (`-c gpg.format=...`, `user.signingKey`, `GNUPGHOME`).
fn run_signed_git(dir: &Path, signer: &CommitSigner, args: &[&str]) -> anyhow::Result<()> {
    let (settings, env) = signer.git_settings();
    let mut command = Command::new("git");
    for setting in &settings {
        command.args(["-c", setting]);
    }
    let out = command
        .args(args)
        .current_dir(dir)
        .envs(env)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "tether test")
        .env("GIT_AUTHOR_EMAIL", "test@tether.invalid")
        .env("GIT_COMMITTER_NAME", "tether test")
        .env("GIT_COMMITTER_EMAIL", "test@tether.invalid")
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn run_git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    run_git_output(dir, args).map(drop)
}
