//! Talking to a git remote with gix: [`remote_head`] asks only for the refs (handshake and
//! ls-refs); [`checkout`] fetches one ref (depth 1 where possible) and writes its tree into a
//! directory; [`checkout_if_moved`] does both over one connection, so a poller pays one
//! handshake whether the head moved or not (over ssh, a handshake is a process and a key
//! exchange). All run gix's blocking client on tokio's blocking pool under a deadline.

use crate::auth::GitAuth;
use crate::error::GitError;
use crate::reference::{GitReference, Revision, Strategy};
use crate::transport::{self, Target};
use gix::protocol::handshake::Ref;
use gix::remote::Direction;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tether_semver::{Constraints, latest_matching_tag};

/// The local ref a checkout fetches into.
pub(crate) const FETCHED_REF: &str = "refs/tether/fetched";

/// Bounds on what a checkout writes, checked on the commit's tree (object headers only) before
/// anything is written: a hostile repository cannot fill the disk or, through one huge blob,
/// the memory of the checkout. The file limit also bounds the fetch: indexing the received pack
/// inflates each object whole to hash it, so an object whose declared size passes the limit
/// fails the fetch before it is inflated (gix's `gitoxide.objects.allocLimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutLimits {
    /// The largest single file (GitHub refuses files over 100 MB; kustomize reads 16 MiB).
    pub max_file_bytes: u64,
    /// The most files (the Linux kernel has about 90k).
    pub max_files: usize,
    /// The most bytes over all files.
    pub max_total_bytes: u64,
}

impl CheckoutLimits {
    /// What every GitRepository checkout is held to.
    pub const DEFAULT: Self = Self {
        max_file_bytes: 64 << 20,
        max_files: 50_000,
        max_total_bytes: 1 << 30,
    };
}

/// The result of [`checkout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The checked-out commit and its Flux name; `revision.to_string()` is the artifact revision.
    pub revision: Revision,
    /// The directory holding the work tree (and its `.git`).
    pub dir: PathBuf,
    /// The full name of the tag checked out (`refs/tags/<name>`), when the reference was a tag
    /// (`tag`, `semver`, or a `name` under `refs/tags/`); its object is at [`FETCHED_REF`].
    pub tag: Option<String>,
}

/// Resolves `reference` on the remote to a revision without fetching any objects.
///
/// A pinned commit needs no remote call: its revision is known from the reference itself.
pub async fn remote_head(
    url: &str,
    reference: &GitReference,
    auth: &GitAuth,
    timeout: Duration,
) -> Result<Revision, GitError> {
    let target = Target::new(url, auth)?;
    let strategy = reference.strategy();
    if let Strategy::Commit { .. } = strategy {
        return Ok(revision_for_commit(&strategy));
    }
    run_with_deadline(target, timeout, move |target, _| {
        let scratch = tempfile::tempdir().map_err(|e| target.transport_error(e))?;
        let target = &target.with_ssh_log_in(scratch.path());
        let mut repo =
            gix::init_bare(scratch.path().join("repo")).map_err(|e| target.classify(&e))?;
        resolve_by_listing(&mut repo, target, &strategy, scratch.path(), timeout)
    })
    .await
}

/// Whether the repository at `url` has no branch and no tag (created, never pushed to).
pub async fn remote_is_empty(
    url: &str,
    auth: &GitAuth,
    timeout: Duration,
) -> Result<bool, GitError> {
    let target = Target::new(url, auth)?;
    run_with_deadline(target, timeout, move |target, _| {
        let scratch = tempfile::tempdir().map_err(|e| target.transport_error(e))?;
        let target = &target.with_ssh_log_in(scratch.path());
        let mut repo =
            gix::init_bare(scratch.path().join("repo")).map_err(|e| target.classify(&e))?;
        let specs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];
        let refs = list_refs(&mut repo, target, &specs, scratch.path(), timeout)?;
        Ok(refs.is_empty())
    })
    .await
}

/// Fetches `reference` from `url` and checks its tree out into `dest_dir` (created if missing;
/// it must be empty). A `.git` directory with the fetched objects stays inside `dest_dir`.
pub async fn checkout(
    url: &str,
    reference: &GitReference,
    auth: &GitAuth,
    timeout: Duration,
    dest_dir: &Path,
) -> Result<Checkout, GitError> {
    let target = Target::new(url, auth)?;
    let strategy = reference.strategy();
    let dest = dest_dir.to_path_buf();
    run_with_deadline(target, timeout, move |target, interrupt| {
        fetch_and_checkout(target, &strategy, &dest, timeout, interrupt)
    })
    .await
}

/// What [`checkout_if_moved`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The remote is at a revision the caller already has: nothing was fetched.
    UpToDate(Revision),
    /// The remote moved: its tree is checked out.
    CheckedOut(Checkout),
}

/// Like [`checkout`], but asks `is_current` about the remote's revision once the refs are
/// listed, on the same connection, and fetches nothing when it answers yes.
pub async fn checkout_if_moved(
    url: &str,
    reference: &GitReference,
    auth: &GitAuth,
    timeout: Duration,
    dest_dir: &Path,
    is_current: impl Fn(&Revision) -> bool + Send + 'static,
) -> Result<FetchOutcome, GitError> {
    let target = Target::new(url, auth)?;
    let strategy = reference.strategy();
    if let Strategy::Commit { .. } = strategy {
        let revision = revision_for_commit(&strategy);
        if is_current(&revision) {
            return Ok(FetchOutcome::UpToDate(revision));
        }
    }
    let dest = dest_dir.to_path_buf();
    run_with_deadline(target, timeout, move |target, interrupt| {
        fetch_unless_current(target, &strategy, &dest, timeout, interrupt, &is_current)
    })
    .await
}

pub(crate) async fn run_with_deadline<T: Send + 'static>(
    target: Target,
    timeout: Duration,
    work: impl FnOnce(&Target, &AtomicBool) -> Result<T, GitError> + Send + 'static,
) -> Result<T, GitError> {
    let interrupt = Arc::new(AtomicBool::new(false));
    let url = target.display_url.clone();
    let flag = interrupt.clone();
    let task = tokio::task::spawn_blocking(move || work(&target, &flag));
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join_error)) => Err(GitError::Transport {
            url,
            detail: format!("git worker failed: {join_error}"),
        }),
        Err(_) => {
            interrupt.store(true, Ordering::Relaxed);
            Err(GitError::Timeout {
                url,
                after: timeout,
            })
        }
    }
}

fn revision_for_commit(strategy: &Strategy) -> Revision {
    match strategy {
        Strategy::Commit {
            commit,
            name: Some(name),
            ..
        } => Revision::absolute(name, commit.clone()),
        Strategy::Commit {
            commit,
            branch: Some(branch),
            ..
        } => Revision::short(&format!("refs/heads/{branch}"), commit.clone()),
        Strategy::Commit { commit, .. } => Revision::bare(commit.clone()),
        _ => Revision::bare(String::new()),
    }
}

/// The remote ref a non-commit strategy reads, and whether the revision uses its full name.
fn ref_for(strategy: &Strategy) -> Option<(String, bool)> {
    match strategy {
        Strategy::Branch(branch) => Some((format!("refs/heads/{branch}"), false)),
        Strategy::Tag(tag) => Some((format!("refs/tags/{tag}"), false)),
        Strategy::Name(name) => Some((name.clone(), true)),
        Strategy::SemVer(_) | Strategy::Commit { .. } => None,
    }
}

/// Connects, runs the handshake and ls-refs for `specs`, returns the advertised refs.
fn list_refs(
    repo: &mut gix::Repository,
    target: &Target,
    specs: &[&str],
    files: &Path,
    timeout: Duration,
) -> Result<Vec<Ref>, GitError> {
    with_connection(repo, target, specs, files, timeout, |connection| {
        let (ref_map, _) = connection
            .ref_map(gix::progress::Discard, Default::default())
            .map_err(|e| target.classify(&e))?;
        Ok(ref_map.remote_refs)
    })
}

pub(crate) type Connection<'a, 'b, 'r> = gix::remote::Connection<
    'a,
    'b,
    'r,
    Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>,
>;

/// Opens a fetch connection for `specs` with the target's credentials and hands it to `use_it`.
pub(crate) fn with_connection<T>(
    repo: &mut gix::Repository,
    target: &Target,
    specs: &[&str],
    files: &Path,
    timeout: Duration,
    use_it: impl FnOnce(Connection<'_, '_, '_>) -> Result<T, GitError>,
) -> Result<T, GitError> {
    if target.is_ssh {
        transport::configure_ssh(repo, target, files, timeout)?;
    }
    let repo: &gix::Repository = repo;
    let remote = repo
        .remote_at(target.fetch_url.as_str())
        .map_err(|e| target.classify(&e))?
        .with_fetch_tags(gix::remote::fetch::Tags::None)
        .with_refspecs(specs.iter().copied(), Direction::Fetch)
        .map_err(|e| target.classify(&e))?;
    let mut connection = remote
        .connect(Direction::Fetch)
        .map_err(|e| target.classify(&e))?
        .with_credentials(transport::credentials(&target.auth));
    if !target.is_ssh {
        connection.set_transport_options(transport::http_options(repo, target, timeout)?);
    }
    use_it(connection)
}

fn resolve_by_listing(
    repo: &mut gix::Repository,
    target: &Target,
    strategy: &Strategy,
    files: &Path,
    timeout: Duration,
) -> Result<Revision, GitError> {
    if let Strategy::SemVer(constraint) = strategy {
        let refs = list_refs(repo, target, &["+refs/tags/*:refs/tags/*"], files, timeout)?;
        let (tag, commit) = latest_tag(target, &refs, constraint)?;
        return Ok(Revision::short(&format!("refs/tags/{tag}"), commit));
    }
    let Some((full_ref, absolute)) = ref_for(strategy) else {
        return Ok(revision_for_commit(strategy));
    };
    let spec = format!("+{full_ref}:{FETCHED_REF}");
    let refs = list_refs(repo, target, &[spec.as_str()], files, timeout)?;
    let commit = refs
        .iter()
        .find_map(|r| peeled_target(r, &full_ref))
        .ok_or_else(|| GitError::ReferenceNotFound {
            url: target.display_url.clone(),
            reference: full_ref.clone(),
        })?;
    Ok(name_revision(&full_ref, commit, absolute))
}

fn name_revision(full_ref: &str, commit: String, absolute: bool) -> Revision {
    if absolute {
        Revision::absolute(full_ref, commit)
    } else {
        Revision::short(full_ref, commit)
    }
}

/// The commit `r` points at (peeled through annotated tags) when it is named `name`.
fn peeled_target(r: &Ref, name: &str) -> Option<String> {
    match r {
        Ref::Peeled {
            full_ref_name,
            object,
            ..
        }
        | Ref::Direct {
            full_ref_name,
            object,
        }
        | Ref::Symbolic {
            full_ref_name,
            object,
            ..
        } if full_ref_name == name => Some(object.to_string()),
        _ => None,
    }
}

fn latest_tag(
    target: &Target,
    refs: &[Ref],
    constraint: &str,
) -> Result<(String, String), GitError> {
    let parsed = Constraints::parse(constraint).map_err(|reason| GitError::InvalidReference {
        url: target.display_url.clone(),
        reason: format!("semver constraint: {reason}"),
    })?;
    let tags: Vec<(String, String)> = refs
        .iter()
        .filter_map(|r| {
            let (name, _, _) = r.unpack();
            let short = name.to_string().strip_prefix("refs/tags/")?.to_owned();
            Some((
                short.clone(),
                peeled_target(r, &format!("refs/tags/{short}"))?,
            ))
        })
        .collect();
    let best = latest_matching_tag(tags.iter().map(|(tag, _)| tag.as_str()), &parsed).ok_or_else(
        || GitError::NoMatchingTag {
            url: target.display_url.clone(),
            constraint: constraint.to_owned(),
        },
    )?;
    let commit = tags
        .iter()
        .find(|(tag, _)| tag == best)
        .map(|(_, commit)| commit.clone())
        .unwrap_or_default();
    Ok((best.to_owned(), commit))
}

pub(crate) fn fetch_and_checkout(
    target: &Target,
    strategy: &Strategy,
    dest: &Path,
    timeout: Duration,
    interrupt: &AtomicBool,
) -> Result<Checkout, GitError> {
    match fetch_unless_current(target, strategy, dest, timeout, interrupt, &|_| false)? {
        FetchOutcome::CheckedOut(checkout) => Ok(checkout),
        // Unreachable: nothing is current to `|_| false`; kept total rather than panicking.
        FetchOutcome::UpToDate(revision) => Err(GitError::Checkout {
            url: target.display_url.clone(),
            detail: format!("nothing fetched for {revision}"),
        }),
    }
}

fn fetch_unless_current(
    target: &Target,
    strategy: &Strategy,
    dest: &Path,
    timeout: Duration,
    interrupt: &AtomicBool,
    is_current: &dyn Fn(&Revision) -> bool,
) -> Result<FetchOutcome, GitError> {
    let checkout_error = |detail: String| GitError::Checkout {
        url: target.display_url.clone(),
        detail,
    };
    std::fs::create_dir_all(dest).map_err(|e| checkout_error(e.to_string()))?;
    let files = tempfile::tempdir().map_err(|e| checkout_error(e.to_string()))?;
    let target = &target.with_ssh_log_in(files.path());
    let mut repo = gix::init(dest).map_err(|e| checkout_error(e.to_string()))?;
    let limits = CheckoutLimits::DEFAULT;
    limit_object_size(&mut repo, limits.max_file_bytes)
        .map_err(|e| checkout_error(e.to_string()))?;
    let plan = plan_fetch(&mut repo, target, strategy, files.path(), timeout)?;
    if let Some(listed) = &plan.listed
        && is_current(listed)
    {
        return Ok(FetchOutcome::UpToDate(listed.clone()));
    }
    let spec = format!("+{}:{}", plan.remote_ref, plan.local_ref);
    // A single ref not listed yet is named from the fetch's own ref listing.
    let unless_at = |refs: &[Ref]| {
        let commit = refs
            .iter()
            .find_map(|r| peeled_target(r, &plan.remote_ref))?;
        let revision = name_revision(&plan.remote_ref, commit, plan.absolute);
        is_current(&revision).then_some(revision)
    };
    let ask = plan.listed.is_none() && plan.pinned.is_none();
    let skipped = receive(
        &mut repo,
        target,
        &spec,
        plan.shallow,
        files.path(),
        timeout,
        interrupt,
        if ask { Some(&unless_at) } else { None },
    )?;
    if let Some(revision) = skipped {
        return Ok(FetchOutcome::UpToDate(revision));
    }
    let commit = match &plan.pinned {
        Some(commit) => verify_commit(&repo, target, commit)?,
        None => peel_local_ref(&repo, target, &plan.local_ref)?,
    };
    check_tree_limits(&repo, target, &commit, limits)?;
    write_worktree(&repo, &commit, interrupt).map_err(|e| checkout_error(e.to_string()))?;
    let revision = match strategy {
        Strategy::Commit { .. } => revision_for_commit(strategy),
        _ => name_revision(&plan.remote_ref, commit.to_string(), plan.absolute),
    };
    let tag = match strategy {
        Strategy::Commit { .. } => None,
        _ => Some(plan.remote_ref).filter(|r| r.starts_with("refs/tags/")),
    };
    Ok(FetchOutcome::CheckedOut(Checkout {
        revision,
        dir: dest.to_path_buf(),
        tag,
    }))
}

/// What to fetch for a strategy.
struct FetchPlan {
    remote_ref: String,
    local_ref: String,
    shallow: bool,
    absolute: bool,
    pinned: Option<String>,
    /// The revision, when planning listed the refs already (semver).
    listed: Option<Revision>,
}

fn plan_fetch(
    repo: &mut gix::Repository,
    target: &Target,
    strategy: &Strategy,
    files: &Path,
    timeout: Duration,
) -> Result<FetchPlan, GitError> {
    let single = |remote_ref: String, absolute: bool| FetchPlan {
        remote_ref,
        local_ref: FETCHED_REF.to_owned(),
        shallow: true,
        absolute,
        pinned: None,
        listed: None,
    };
    Ok(match strategy {
        Strategy::SemVer(constraint) => {
            let refs = list_refs(repo, target, &["+refs/tags/*:refs/tags/*"], files, timeout)?;
            let (tag, commit) = latest_tag(target, &refs, constraint)?;
            let remote_ref = format!("refs/tags/{tag}");
            FetchPlan {
                listed: Some(Revision::short(&remote_ref, commit)),
                ..single(remote_ref, false)
            }
        }
        // A pinned commit may be anywhere in history, so the fetch is not shallow (as in Flux).
        Strategy::Commit { commit, branch, .. } => FetchPlan {
            remote_ref: branch
                .as_ref()
                .map_or_else(|| "refs/heads/*".to_owned(), |b| format!("refs/heads/{b}")),
            local_ref: if branch.is_some() {
                FETCHED_REF.to_owned()
            } else {
                "refs/tether/heads/*".to_owned()
            },
            shallow: false,
            absolute: false,
            pinned: Some(commit.clone()),
            listed: None,
        },
        other => {
            let (remote_ref, absolute) = ref_for(other).unwrap_or_default();
            single(remote_ref, absolute)
        }
    })
}

/// Given the refs a fetch listed, the revision the caller already has, if the remote is at it.
type UnlessAt<'a> = &'a dyn Fn(&[Ref]) -> Option<Revision>;

/// Fetches `spec`, unless `unless_at` (given the listed refs) names a revision the caller has:
/// then nothing is fetched and that revision is returned.
#[allow(clippy::too_many_arguments)]
fn receive(
    repo: &mut gix::Repository,
    target: &Target,
    spec: &str,
    shallow: bool,
    files: &Path,
    timeout: Duration,
    interrupt: &AtomicBool,
    unless_at: Option<UnlessAt<'_>>,
) -> Result<Option<Revision>, GitError> {
    with_connection(repo, target, &[spec], files, timeout, |connection| {
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|e| target.classify(&e))?;
        if prepare.ref_map().mappings.is_empty() {
            let reference = spec.trim_start_matches('+').split(':').next();
            return Err(GitError::ReferenceNotFound {
                url: target.display_url.clone(),
                reference: reference.unwrap_or_default().to_owned(),
            });
        }
        if let Some(current) = unless_at.and_then(|at| at(&prepare.ref_map().remote_refs)) {
            return Ok(Some(current));
        }
        let prepare = if shallow {
            prepare.with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(NonZeroU32::MIN))
        } else {
            prepare
        };
        prepare
            .receive(gix::progress::Discard, interrupt)
            .map_err(|e| refused_if_too_large(target, &e))?;
        Ok(None)
    })
}

/// Makes `repo` refuse to allocate more than `max_bytes` for one object (or any other buffer
/// sized by what the remote sends), so a huge blob fails the fetch instead of filling memory.
pub(crate) fn limit_object_size(
    repo: &mut gix::Repository,
    max_bytes: u64,
) -> Result<(), gix::Error> {
    let mut config = repo.config_snapshot_mut();
    config
        .set_raw_value("gitoxide.objects.allocLimit", max_bytes.to_string())
        .map_err(gix::Error::from_error)?;
    config.commit().map_err(gix::Error::from_error)?;
    Ok(())
}

/// A fetch that hit the object size limit is refused as a checkout limit; other failures are
/// classified as usual.
fn refused_if_too_large(target: &Target, error: &gix::Error) -> GitError {
    if !error.classify().is_resource_exhausted() {
        return target.classify(error);
    }
    GitError::CheckoutRefused {
        url: target.display_url.clone(),
        detail: format!(
            "the fetched pack holds an object larger than the limit of {} bytes for a file (refused before inflating it)",
            CheckoutLimits::DEFAULT.max_file_bytes
        ),
    }
}

fn peel_local_ref(
    repo: &gix::Repository,
    target: &Target,
    name: &str,
) -> Result<gix::ObjectId, GitError> {
    let mut reference = repo
        .find_reference(name)
        .map_err(|e| target.transport_error(e))?;
    let id = reference
        .peel_to_id()
        .map_err(|e| target.transport_error(e))?;
    let commit = id
        .object()
        .map_err(|e| target.transport_error(e))?
        .peel_to_commit()
        .map_err(|e| target.transport_error(e))?;
    Ok(commit.id)
}

fn verify_commit(
    repo: &gix::Repository,
    target: &Target,
    commit: &str,
) -> Result<gix::ObjectId, GitError> {
    let not_found = || GitError::CommitNotFound {
        url: target.display_url.clone(),
        commit: commit.to_owned(),
    };
    let id =
        gix::ObjectId::from_hex(commit.as_bytes()).map_err(|_| GitError::InvalidReference {
            url: target.display_url.clone(),
            reason: format!("'{commit}' is not a full hex commit id"),
        })?;
    let object = repo.find_object(id).map_err(|_| not_found())?;
    object.try_into_commit().map_err(|_| not_found())?;
    Ok(id)
}

/// Walks the tree of `commit` reading object headers only, and refuses it when it passes
/// `limits` in files or bytes (one file over the limit failed the fetch already); submodules
/// (gitlinks) are checked out separately and not counted here.
fn check_tree_limits(
    repo: &gix::Repository,
    target: &Target,
    commit: &gix::ObjectId,
    limits: CheckoutLimits,
) -> Result<(), GitError> {
    let failed = |e: &dyn std::fmt::Display| target.transport_error(e);
    let refused = |detail: String| GitError::CheckoutRefused {
        url: target.display_url.clone(),
        detail,
    };
    let root = repo
        .find_commit(*commit)
        .map_err(|e| failed(&e))?
        .tree_id()
        .map_err(|e| failed(&e))?
        .detach();
    let (mut files, mut total) = (0usize, 0u64);
    let mut pending = vec![(String::new(), root)];
    while let Some((dir, id)) = pending.pop() {
        let tree = repo.find_tree(id).map_err(|e| failed(&e))?;
        let entries: Vec<(String, gix::ObjectId, bool, bool)> = tree
            .decode()
            .map_err(|e| failed(&e))?
            .entries
            .iter()
            .map(|e| {
                let name = format!("{dir}{}", e.filename);
                (name, e.oid.to_owned(), e.mode.is_tree(), e.mode.is_commit())
            })
            .collect();
        for (path, oid, is_tree, is_gitlink) in entries {
            if is_tree {
                pending.push((format!("{path}/"), oid));
                continue;
            }
            if is_gitlink {
                continue;
            }
            let size = repo.find_header(oid).map_err(|e| failed(&e))?.size();
            files += 1;
            total = total.saturating_add(size);
            if files > limits.max_files {
                return Err(refused(format!(
                    "the tree has more than {} files",
                    limits.max_files
                )));
            }
            if total > limits.max_total_bytes {
                return Err(refused(format!(
                    "the files add up to more than {} bytes",
                    limits.max_total_bytes
                )));
            }
        }
    }
    Ok(())
}

/// Writes the tree of `commit` into the repository's work dir and records it in the index.
fn write_worktree(
    repo: &gix::Repository,
    commit: &gix::ObjectId,
    interrupt: &AtomicBool,
) -> Result<(), gix::Error> {
    let workdir = repo.workdir().ok_or_else(|| {
        gix::Error::from_error(std::io::Error::other("repository has no work dir"))
    })?;
    let tree = repo.find_commit(*commit)?.tree_id()?;
    let mut index = repo.index_from_tree(&tree)?;
    let mut options =
        repo.checkout_options(gix::worktree::stack::state::attributes::Source::IdMapping)?;
    options.destination_is_initially_empty = true;
    let objects = repo
        .objects
        .clone()
        .into_arc()
        .map_err(gix::Error::from_error)?;
    gix::worktree::state::checkout(
        &mut index,
        workdir,
        objects,
        &gix::progress::Discard,
        &gix::progress::Discard,
        interrupt,
        options,
    )?;
    index.write(Default::default())?;
    Ok(())
}
