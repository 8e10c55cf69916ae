//! A branch's recent history, fetched to a bounded depth: [`commits_between`] answers fluxd's
//! `SyncStatus` question, `git rev-list <since>..<until> -- <paths>` — the commits of `until`
//! that the sync marker does not contain yet, newest first — without keeping a mirror.

use crate::auth::GitAuth;
use crate::error::GitError;
use crate::fetch::CheckoutLimits;
use crate::fetch::{limit_object_size, run_with_deadline, with_connection};
use crate::transport::Target;
use gix::ObjectId;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Where the local copies of the fetched refs go.
const BRANCH_REF: &str = "refs/tether/history/branch";
const SINCE_REF: &str = "refs/tether/history/since";

/// What [`commits_between`] looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// The branch whose history is fetched.
    pub branch: String,
    /// The commits already covered: a tag name (`flux-sync`), a commit id, or `None` when
    /// nothing is (then every commit of `until` counts, up to the bound).
    pub since: Option<Since>,
    /// The commit asked about: a full id or a prefix of one (fluxctl sends seven characters).
    pub until: String,
    /// Only commits that change one of these paths count (all commits when empty).
    pub paths: Vec<String>,
    /// How many commits of the branch are fetched and walked at most.
    pub max_commits: NonZeroU32,
}

/// The sync marker a [`HistoryQuery`] starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// A tag on the remote; a tag that does not exist there marks nothing as covered.
    Tag(String),
    /// A commit the caller knows.
    Commit(String),
}

/// The commits reachable from `query.until` and not from `query.since` that touch
/// `query.paths`, newest first, out of the newest `query.max_commits` of the branch.
pub async fn commits_between(
    url: &str,
    auth: &GitAuth,
    timeout: Duration,
    query: HistoryQuery,
) -> Result<Vec<String>, GitError> {
    let target = Target::new(url, auth)?;
    run_with_deadline(target, timeout, move |target, interrupt| {
        walk_between(target, &query, timeout, interrupt)
    })
    .await
}

fn walk_between(
    target: &Target,
    query: &HistoryQuery,
    timeout: Duration,
    interrupt: &AtomicBool,
) -> Result<Vec<String>, GitError> {
    let scratch = tempfile::tempdir().map_err(|e| target.transport_error(e))?;
    let target = &target.with_ssh_log_in(scratch.path());
    let mut repo = gix::init_bare(scratch.path().join("repo")).map_err(|e| target.classify(&e))?;
    limit_object_size(&mut repo, CheckoutLimits::DEFAULT.max_file_bytes)
        .map_err(|e| target.transport_error(e))?;
    let mut specs = vec![format!("+refs/heads/{}:{BRANCH_REF}", query.branch)];
    if let Some(Since::Tag(tag)) = &query.since {
        specs.push(format!("+refs/tags/{tag}:{SINCE_REF}"));
    }
    fetch_shallow(
        &mut repo,
        target,
        &specs,
        query.max_commits,
        scratch.path(),
        timeout,
        interrupt,
    )?;
    let not_found = |reference: &str| GitError::ReferenceNotFound {
        url: target.display_url.clone(),
        reference: reference.to_owned(),
    };
    let branch = peel_ref(&repo, BRANCH_REF).ok_or_else(|| not_found(&query.branch))?;
    let until = find_on_branch(&repo, branch, &query.until, query.max_commits)
        .ok_or_else(|| not_found(&query.until))?;
    let since = match &query.since {
        Some(Since::Tag(_)) => peel_ref(&repo, SINCE_REF),
        Some(Since::Commit(commit)) => ObjectId::from_hex(commit.as_bytes())
            .ok()
            .filter(|id| repo.find_commit(*id).is_ok()),
        None => None,
    };
    let walk = repo
        .rev_walk([until])
        .with_hidden(since)
        .all()
        .map_err(|e| target.transport_error(e))?;
    let mut commits = Vec::new();
    for info in walk.take(query.max_commits.get() as usize) {
        let info = info.map_err(|e| target.transport_error(e))?;
        if touches(&repo, info.id, &info.parent_ids, &query.paths) {
            commits.push(info.id.to_string());
        }
    }
    Ok(commits)
}

/// Fetches `specs` to `depth` commits; a spec the remote lacks (a sync tag never pushed) is
/// left out, the branch is required.
fn fetch_shallow(
    repo: &mut gix::Repository,
    target: &Target,
    specs: &[String],
    depth: NonZeroU32,
    files: &Path,
    timeout: Duration,
    interrupt: &AtomicBool,
) -> Result<(), GitError> {
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    with_connection(repo, target, &specs, files, timeout, |connection| {
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|e| target.classify(&e))?;
        let has_branch = prepare
            .ref_map()
            .mappings
            .iter()
            .any(|m| m.local.as_ref().is_some_and(|l| l == BRANCH_REF));
        if !has_branch {
            return Err(GitError::ReferenceNotFound {
                url: target.display_url.clone(),
                reference: specs[0]
                    .trim_start_matches('+')
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        prepare
            .with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(depth))
            .receive(gix::progress::Discard, interrupt)
            .map_err(|e| target.classify(&e))?;
        Ok(())
    })
}

/// The commit a local ref points to, peeled through an annotated tag.
fn peel_ref(repo: &gix::Repository, name: &str) -> Option<ObjectId> {
    let mut reference = repo.find_reference(name).ok()?;
    let id = reference.peel_to_id().ok()?;
    Some(id.object().ok()?.peel_to_commit().ok()?.id)
}

/// The commit among the newest `max` of the branch whose id is `id` or starts with it.
fn find_on_branch(
    repo: &gix::Repository,
    tip: ObjectId,
    id: &str,
    max: NonZeroU32,
) -> Option<ObjectId> {
    let prefix = id.to_ascii_lowercase();
    if prefix.len() < 4 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    repo.rev_walk([tip])
        .all()
        .ok()?
        .take(max.get() as usize)
        .filter_map(Result::ok)
        .map(|info| info.id)
        .find(|commit| commit.to_string().starts_with(&prefix))
}

/// Whether `commit` changes one of `paths` as `git rev-list -- <paths>` decides it: compared
/// with each parent (a merge the same as one of its parents there does not count); a commit
/// without known parents (the root, or the shallow boundary) counts when a path exists in it.
fn touches(
    repo: &gix::Repository,
    commit: ObjectId,
    parents: &[ObjectId],
    paths: &[String],
) -> bool {
    let paths: Vec<&str> = paths
        .iter()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if paths.is_empty() {
        return true;
    }
    let entries = |id: ObjectId| -> Vec<Option<ObjectId>> {
        paths.iter().map(|path| entry_at(repo, id, path)).collect()
    };
    let own = entries(commit);
    if parents.is_empty() || repo.find_commit(parents[0]).is_err() {
        return own.iter().any(Option::is_some);
    }
    parents.iter().all(|parent| entries(*parent) != own)
}

/// The id of the tree entry at `path` in `commit`, if there is one.
fn entry_at(repo: &gix::Repository, commit: ObjectId, path: &str) -> Option<ObjectId> {
    let tree = repo.find_commit(commit).ok()?.tree().ok()?;
    let entry = tree.lookup_entry_by_path(path).ok()??;
    Some(entry.object_id())
}
