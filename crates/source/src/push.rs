//! Pushing a working clone's commit to a branch (and an optional refspec) over HTTP or ssh.
//!
//! Hand-written on purpose: gix 0.90 has no push. gix-transport does connect to the
//! `git-receive-pack` service with the same credentials as fetch, and gix-pack writes packs, so
//! this module adds only the receive-pack exchange (protocol v0/v1): read the ref advertisement,
//! send `<old> <new> <ref>` commands with the `report-status` capability, send a pack of the
//! objects the remote lacks, and read the per-ref report. Updates are never forced: if a
//! destination ref is not an ancestor of the new commit, the push is rejected before anything is
//! sent, and the `<old>` value makes the server refuse if the ref moved in the meantime.

use crate::error::GitError;
use crate::pack;
use crate::transport::{self, Target};
use gix::ObjectId;
use gix::protocol::transport::client::blocking_io::{ExtendedBufRead, Transport};
use gix::protocol::transport::client::{MessageKind, TransportWithoutIO, WriteMode};
use gix::protocol::transport::{Protocol, Service};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a push failed. Messages name the URL (without credentials) and the cause.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Connecting, authenticating or talking to the remote failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// No push branch is set and the checkout reference is not a branch.
    #[error("no branch to push to in '{url}': set the push branch or check out a branch")]
    NoDestination { url: String },
    /// The refspec cannot be used (forced updates and unknown sources are refused).
    #[error("invalid push refspec '{refspec}' for '{url}': {reason}")]
    InvalidRefspec {
        url: String,
        refspec: String,
        reason: String,
    },
    /// The remote ref is not where the new commit was based on (someone pushed in between), or
    /// the server refused the update. Fetch, re-apply the change on the new tip and push again.
    #[error("push of '{reference}' to '{url}' rejected: {reason}")]
    Rejected {
        url: String,
        reference: String,
        reason: String,
        /// The remote ref's commit when it was advertised, if it existed.
        remote_commit: Option<String>,
    },
    /// The server could not unpack what was sent.
    #[error("'{url}' failed to unpack the pushed objects: {reason}")]
    Unpack { url: String, reason: String },
    /// The server's answer did not follow the protocol.
    #[error("push to '{url}' failed: {detail}")]
    Protocol { url: String, detail: String },
    /// The local repository could not be read to build the pack.
    #[error("push to '{url}' failed reading the local repository: {detail}")]
    Repository { url: String, detail: String },
}

impl PushError {
    /// True when retrying without a spec change cannot help.
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Git(error) => error.is_terminal(),
            Self::NoDestination { .. } | Self::InvalidRefspec { .. } => true,
            _ => false,
        }
    }
}

/// One ref the push changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// Full ref name, e.g. `refs/heads/main`.
    pub reference: String,
    /// The remote's commit before the push; `None` when the ref was created.
    pub old: Option<String>,
    pub new: String,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// The commit the destinations point at now.
    pub commit: String,
    /// Refs that changed; empty when every destination was already at `commit`.
    pub updates: Vec<RefUpdate>,
}

/// What to push where, taken by the blocking worker.
pub(crate) struct PushPlan {
    pub dir: PathBuf,
    pub head: ObjectId,
    /// The commit the clone was made from; the remote has it.
    pub base: ObjectId,
    /// Full destination ref names.
    pub destinations: Vec<String>,
    pub timeout: Duration,
}

/// The full ref a Flux `git.push.refspec` writes to. Its source must name what the working
/// clone commits on: `HEAD`, the push branch (short or full name); a `+` (force) is refused.
pub(crate) fn refspec_destination(refspec: &str, push_branch: &str) -> Result<String, String> {
    if refspec.starts_with('+') {
        return Err("forced updates are not supported".into());
    }
    let (source, destination) = refspec
        .split_once(':')
        .ok_or("expected '<source>:<destination>'")?;
    let is_ours = source == "HEAD"
        || source == push_branch
        || source.strip_prefix("refs/heads/") == Some(push_branch);
    if !is_ours {
        return Err(format!("source '{source}' must be HEAD or the push branch"));
    }
    full_branch_ref(destination)
}

/// `refs/...` stays as it is; a short name is a branch.
pub(crate) fn full_branch_ref(name: &str) -> Result<String, String> {
    let full = if name.starts_with("refs/") {
        name.to_owned()
    } else {
        format!("refs/heads/{name}")
    };
    let valid = !name.is_empty()
        && !full.ends_with('/')
        && !full.contains(['*', ' ', '\0'])
        && gix::refs::FullName::try_from(full.as_str()).is_ok();
    if valid {
        Ok(full)
    } else {
        Err(format!("'{name}' is not a valid ref name"))
    }
}

/// Runs the push on the blocking pool under `plan.timeout`.
pub(crate) async fn push(target: Target, plan: PushPlan) -> Result<PushOutcome, PushError> {
    let url = target.display_url.clone();
    let timeout = plan.timeout;
    let task = tokio::task::spawn_blocking(move || push_blocking(&target, &plan));
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join_error)) => Err(PushError::Git(GitError::Transport {
            url,
            detail: format!("git worker failed: {join_error}"),
        })),
        Err(_) => Err(PushError::Git(GitError::Timeout {
            url,
            after: timeout,
        })),
    }
}

fn push_blocking(target: &Target, plan: &PushPlan) -> Result<PushOutcome, PushError> {
    let files = tempfile::tempdir().map_err(|e| target.transport_error(e))?;
    let target = &target.with_ssh_log_in(files.path());
    let url = target.display_url.clone();
    let local = |detail: String| PushError::Repository {
        url: url.clone(),
        detail,
    };
    let mut repo = gix::open(&plan.dir).map_err(|e| local(e.to_string()))?;
    let mut connection = connect(&mut repo, target, files.path(), plan.timeout)?;
    let handshake = gix::protocol::handshake(
        &mut connection,
        Service::ReceivePack,
        transport::credentials(&target.auth),
        Vec::new(),
        &mut gix::progress::Discard,
    )
    .map_err(|e| target.classify(&e))?;
    if !handshake.capabilities.contains("report-status") {
        return Err(PushError::Protocol {
            url,
            detail: "the server does not offer report-status".into(),
        });
    }
    let advertised = advertised_refs(handshake.refs.as_deref().unwrap_or_default());
    let updates = plan_updates(&repo, &url, &advertised, plan)?;
    let outcome = PushOutcome {
        commit: plan.head.to_string(),
        updates: updates.clone(),
    };
    if updates.is_empty() {
        return Ok(outcome);
    }
    let mut present: HashSet<ObjectId> = advertised.values().copied().collect();
    present.insert(plan.base);
    let objects =
        pack::objects_to_send(&repo, plan.head, &present).map_err(|e| local(e.to_string()))?;
    let pack = pack::write_pack(&repo, &objects).map_err(|e| local(e.to_string()))?;
    let request = Request {
        updates: &updates,
        pack: &pack,
        advertised: &advertised,
    };
    send(&mut connection, &handshake.capabilities, target, &request)?;
    Ok(outcome)
}

/// Ref updates and the pack they need, sent once the handshake is done.
struct Request<'a> {
    updates: &'a [RefUpdate],
    pack: &'a [u8],
    advertised: &'a HashMap<String, ObjectId>,
}

/// Sends the commands and the pack, then checks the server's report for every ref.
fn send(
    connection: &mut Box<dyn Transport + Send>,
    capabilities: &gix::protocol::transport::client::Capabilities,
    target: &Target,
    request: &Request<'_>,
) -> Result<(), PushError> {
    let url = &target.display_url;
    let sideband = capabilities.contains("side-band-64k");
    let mut wanted = vec!["report-status"];
    wanted.extend(
        ["side-band-64k", "quiet"]
            .into_iter()
            .filter(|c| capabilities.contains(c)),
    );
    if request.updates.len() > 1 && capabilities.contains("atomic") {
        wanted.push("atomic");
    }
    let body = encode_commands(request.updates, &wanted, request.pack)
        .map_err(|e| target.transport_error(e))?;
    let reply = exchange(connection, &body, sideband).map_err(|e| target.transport_error(e))?;
    let report = parse_report_status(&reply.report).map_err(|detail| PushError::Protocol {
        url: url.clone(),
        detail: with_remote_messages(detail, &reply.messages, &target.auth),
    })?;
    let report = ReportStatus {
        unpack: report
            .unpack
            .map_err(|reason| with_remote_messages(reason, &reply.messages, &target.auth)),
        refs: report
            .refs
            .into_iter()
            .map(|(name, status)| {
                let status = status
                    .map_err(|reason| with_remote_messages(reason, &reply.messages, &target.auth));
                (name, status)
            })
            .collect(),
    };
    check_report(url, request.updates, request.advertised, &report)
}

/// An annotated tag to (re)point on a remote: fluxd's sync marker (`flux-sync`, message
/// `Sync pointer`), moved by force to each synced commit.
#[derive(Debug, Clone)]
pub struct TagMove {
    /// The tag's short name.
    pub tag: String,
    /// The commit it points at (the remote has it).
    pub commit: String,
    /// The tag message.
    pub message: String,
    /// The tagger.
    pub tagger: crate::Author,
}

/// Creates an annotated tag object for `tag_move` and points `refs/tags/<tag>` on `url` at it,
/// replacing whatever the tag pointed at (a tag is a marker, not history: this is the one
/// forced update). Nothing is sent when the remote's tag already points at `commit`. Returns
/// the update made, if any.
pub async fn move_tag(
    url: &str,
    auth: &crate::GitAuth,
    timeout: Duration,
    tag_move: TagMove,
) -> Result<Option<RefUpdate>, PushError> {
    let target = Target::new(url, auth)?;
    let display = target.display_url.clone();
    let task = tokio::task::spawn_blocking(move || move_tag_blocking(&target, &tag_move, timeout));
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join_error)) => Err(PushError::Git(GitError::Transport {
            url: display,
            detail: format!("git worker failed: {join_error}"),
        })),
        Err(_) => Err(PushError::Git(GitError::Timeout {
            url: display,
            after: timeout,
        })),
    }
}

fn move_tag_blocking(
    target: &Target,
    tag_move: &TagMove,
    timeout: Duration,
) -> Result<Option<RefUpdate>, PushError> {
    let files = tempfile::tempdir().map_err(|e| target.transport_error(e))?;
    let target = &target.with_ssh_log_in(files.path());
    let url = target.display_url.clone();
    let local = |detail: String| PushError::Repository {
        url: url.clone(),
        detail,
    };
    let reference = format!("refs/tags/{}", tag_move.tag);
    if gix::refs::FullName::try_from(reference.as_str()).is_err() {
        return Err(PushError::InvalidRefspec {
            url: url.clone(),
            refspec: tag_move.tag.clone(),
            reason: "not a valid tag name".into(),
        });
    }
    let commit = ObjectId::from_hex(tag_move.commit.as_bytes())
        .map_err(|e| local(format!("invalid commit id '{}': {e}", tag_move.commit)))?;
    let mut repo = gix::init_bare(files.path().join("repo")).map_err(|e| local(e.to_string()))?;
    let options = crate::CommitOptions {
        author: tag_move.tagger.clone(),
        message: String::new(),
        time: std::time::SystemTime::now(),
        paths: None,
        signing_key: None,
    };
    let tagger =
        crate::commit::signature(files.path(), &options).map_err(|e| local(e.to_string()))?;
    let tag = gix::objs::Tag {
        target: commit,
        target_kind: gix::objs::Kind::Commit,
        name: tag_move.tag.as_str().into(),
        tagger: Some(tagger),
        message: format!("{}\n", tag_move.message).into(),
        signature: None,
    };
    let tag_id = repo
        .write_object(&tag)
        .map_err(|e| local(e.to_string()))?
        .detach();
    let mut connection = connect(&mut repo, target, files.path(), timeout)?;
    let handshake = gix::protocol::handshake(
        &mut connection,
        Service::ReceivePack,
        transport::credentials(&target.auth),
        Vec::new(),
        &mut gix::progress::Discard,
    )
    .map_err(|e| target.classify(&e))?;
    let refs = handshake.refs.as_deref().unwrap_or_default();
    let (current, peeled) = advertised_tag(refs, &reference);
    if peeled == Some(commit) {
        return Ok(None);
    }
    let update = RefUpdate {
        reference,
        old: current.map(|id| id.to_string()),
        new: tag_id.to_string(),
    };
    let pack = pack::write_pack(&repo, &[tag_id]).map_err(|e| local(e.to_string()))?;
    let advertised = advertised_refs(refs);
    let request = Request {
        updates: std::slice::from_ref(&update),
        pack: &pack,
        advertised: &advertised,
    };
    send(&mut connection, &handshake.capabilities, target, &request)?;
    Ok(Some(update))
}

/// The object `reference` points at on the remote and, for an annotated tag, the commit it
/// peels to.
fn advertised_tag(
    refs: &[gix::protocol::handshake::Ref],
    reference: &str,
) -> (Option<ObjectId>, Option<ObjectId>) {
    refs.iter()
        .map(gix::protocol::handshake::Ref::unpack)
        .find(|(name, _, _)| *name == reference)
        .map_or((None, None), |(_, target, peeled)| {
            let target = target.map(ToOwned::to_owned);
            (target, peeled.map(ToOwned::to_owned).or(target))
        })
}

/// A transport to the remote with the target's credentials: ssh through the configured `ssh`
/// program, HTTP with the bearer token, CA bundle and basic-auth account set up front.
fn connect(
    repo: &mut gix::Repository,
    target: &Target,
    files: &Path,
    timeout: Duration,
) -> Result<Box<dyn Transport + Send>, GitError> {
    if target.is_ssh {
        transport::configure_ssh(repo, target, files, timeout)?;
    }
    let ssh = if target.is_ssh {
        repo.ssh_connect_options()
            .map_err(|e| target.classify(&e))?
    } else {
        Default::default()
    };
    let options = gix::protocol::transport::client::blocking_io::connect::Options {
        version: Protocol::V1,
        ssh,
        trace: false,
    };
    let mut connection = gix::protocol::transport::client::blocking_io::connect::connect(
        target.fetch_url.as_str(),
        options,
    )
    .map_err(|e| target.classify(&e))?;
    if !target.is_ssh {
        let http = transport::http_options(repo, target, timeout)?;
        connection
            .configure(http.as_ref())
            .map_err(|e| target.classify(&e))?;
    }
    Ok(connection)
}

/// Ref name → the object it points at, from the receive-pack advertisement.
fn advertised_refs(refs: &[gix::protocol::handshake::Ref]) -> HashMap<String, ObjectId> {
    refs.iter()
        .filter_map(|r| {
            let (name, target, peeled) = r.unpack();
            let id = peeled.or(target)?;
            Some((name.to_string(), id.to_owned()))
        })
        .collect()
}

/// The ref updates to request: destinations not yet at `plan.head`. A destination the new
/// commit does not descend from is rejected here, before anything is sent.
fn plan_updates(
    repo: &gix::Repository,
    url: &str,
    advertised: &HashMap<String, ObjectId>,
    plan: &PushPlan,
) -> Result<Vec<RefUpdate>, PushError> {
    let mut updates = Vec::new();
    for destination in &plan.destinations {
        let old = advertised.get(destination).copied();
        if old == Some(plan.head) {
            continue;
        }
        if let Some(old) = old
            && !is_ancestor(repo, old, plan.head)
        {
            return Err(PushError::Rejected {
                url: url.to_owned(),
                reference: destination.clone(),
                reason: format!(
                    "non-fast-forward: the remote is at {old}, which commit {} does not build on; \
                     fetch the new tip, re-apply the change and push again",
                    plan.head
                ),
                remote_commit: Some(old.to_string()),
            });
        }
        updates.push(RefUpdate {
            reference: destination.clone(),
            old: old.map(|id| id.to_string()),
            new: plan.head.to_string(),
        });
    }
    Ok(updates)
}

/// Whether `ancestor` is `head` or one of its ancestors among the commits the clone holds.
fn is_ancestor(repo: &gix::Repository, ancestor: ObjectId, head: ObjectId) -> bool {
    const MAX_COMMITS: usize = 100_000;
    let mut seen = HashSet::new();
    let mut queue = std::collections::VecDeque::from([head]);
    while let Some(id) = queue.pop_front() {
        if id == ancestor {
            return true;
        }
        if seen.len() >= MAX_COMMITS || !seen.insert(id) {
            continue;
        }
        if let Ok(commit) = repo.find_commit(id) {
            queue.extend(commit.parent_ids().map(gix::Id::detach));
        }
    }
    false
}

/// The request body: one pkt-line per update (capabilities after a NUL on the first), a flush,
/// then the pack.
fn encode_commands(
    updates: &[RefUpdate],
    capabilities: &[&str],
    pack: &[u8],
) -> std::io::Result<Vec<u8>> {
    use gix::protocol::transport::packetline::blocking_io::encode;
    const ZERO: &str = "0000000000000000000000000000000000000000";
    let mut body = Vec::new();
    for (index, update) in updates.iter().enumerate() {
        let old = update.old.as_deref().unwrap_or(ZERO);
        let mut line = format!("{old} {} {}", update.new, update.reference).into_bytes();
        if index == 0 {
            line.push(0);
            line.extend_from_slice(capabilities.join(" ").as_bytes());
        }
        line.push(b'\n');
        encode::data_to_write(&line, &mut body)?;
    }
    encode::flush_to_write(&mut body)?;
    body.extend_from_slice(pack);
    Ok(body)
}

/// What receive-pack answered: its report-status lines and, with side-band, what it (or its
/// hooks) printed.
struct Reply {
    report: Vec<Vec<u8>>,
    messages: Vec<String>,
}

/// Sends `request` and reads the report up to the closing flush. With `sideband`, the report
/// arrives pkt-line encoded in band 1 and messages in bands 2 and 3.
fn exchange(
    connection: &mut Box<dyn Transport + Send>,
    request: &[u8],
    sideband: bool,
) -> std::io::Result<Reply> {
    let writer = connection
        .request(
            WriteMode::OneLfTerminatedLinePerWriteCall,
            MessageKind::Flush,
            false,
        )
        .map_err(std::io::Error::other)?;
    let (mut raw, mut reader) = writer.into_parts();
    raw.write_all(request)?;
    raw.flush()?;
    drop(raw);
    reader.reset(Protocol::V1);
    if !sideband {
        let mut report = Vec::new();
        while let Some(line) = reader.readline() {
            let line = line?.map_err(std::io::Error::other)?;
            match line.as_slice() {
                Some(data) => report.push(data.to_vec()),
                None => break,
            }
        }
        return Ok(Reply {
            report,
            messages: Vec::new(),
        });
    }
    let messages = Arc::new(Mutex::new(Vec::new()));
    let sink = messages.clone();
    reader.set_progress_handler(Some(Box::new(move |_is_error: bool, text: &[u8]| {
        if let Ok(mut messages) = sink.lock() {
            messages.extend(message_lines(text));
        }
        ControlFlow::Continue(())
    })));
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut data)?;
    drop(reader);
    let report = split_pkt_lines(&data).map_err(std::io::Error::other)?;
    let messages = messages.lock().map(|m| m.clone()).unwrap_or_default();
    Ok(Reply { report, messages })
}

/// The non-empty lines of a side-band message.
fn message_lines(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The data of the pkt-lines in `data`, up to a flush.
fn split_pkt_lines(mut data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    use gix::protocol::transport::packetline::{PacketLineRef, decode};
    let mut lines = Vec::new();
    while !data.is_empty() {
        match decode::streaming(data).map_err(|e| format!("malformed report-status: {e}"))? {
            decode::Stream::Complete {
                line,
                bytes_consumed,
            } => {
                match line {
                    PacketLineRef::Data(bytes) => lines.push(bytes.to_vec()),
                    PacketLineRef::Flush => break,
                    _ => return Err("unexpected delimiter in report-status".into()),
                }
                data = &data[bytes_consumed..];
            }
            decode::Stream::Incomplete { .. } => {
                return Err("the report-status ended in the middle of a line".into());
            }
        }
    }
    Ok(lines)
}

/// `reason` followed by what the remote printed, with secrets scrubbed.
fn with_remote_messages(reason: String, messages: &[String], auth: &crate::GitAuth) -> String {
    if messages.is_empty() {
        return reason;
    }
    let text = format!("{reason} (remote: {})", messages.join("; "));
    crate::error::redact(&text, &auth.secret_values())
}

/// The server's report: whether it unpacked the pack, and `ok` or the reason per ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportStatus {
    pub unpack: Result<(), String>,
    pub refs: Vec<(String, Result<(), String>)>,
}

/// Parses report-status lines (`unpack ok|<error>`, then `ok <ref>` / `ng <ref> <reason>`).
pub(crate) fn parse_report_status(lines: &[Vec<u8>]) -> Result<ReportStatus, String> {
    let text = |line: &[u8]| {
        String::from_utf8_lossy(line)
            .trim_end_matches('\n')
            .to_owned()
    };
    let (first, rest) = lines
        .split_first()
        .ok_or("the server sent no report-status")?;
    let first = text(first);
    let unpack = match first.strip_prefix("unpack ") {
        Some("ok") => Ok(()),
        Some(error) => Err(error.to_owned()),
        None => return Err(format!("expected 'unpack <status>', got {first:?}")),
    };
    let mut refs = Vec::new();
    for line in rest {
        let line = text(line);
        if let Some(name) = line.strip_prefix("ok ") {
            refs.push((name.to_owned(), Ok(())));
        } else if let Some(rest) = line.strip_prefix("ng ") {
            let (name, reason) = rest.split_once(' ').unwrap_or((rest, "rejected"));
            refs.push((name.to_owned(), Err(reason.to_owned())));
        } else {
            return Err(format!("unexpected report-status line {line:?}"));
        }
    }
    Ok(ReportStatus { unpack, refs })
}

/// Turns the report into the error for the first ref that did not update, if any.
fn check_report(
    url: &str,
    updates: &[RefUpdate],
    advertised: &HashMap<String, ObjectId>,
    report: &ReportStatus,
) -> Result<(), PushError> {
    if let Err(reason) = &report.unpack {
        return Err(PushError::Unpack {
            url: url.to_owned(),
            reason: reason.clone(),
        });
    }
    for update in updates {
        match report
            .refs
            .iter()
            .find(|(name, _)| *name == update.reference)
        {
            Some((_, Ok(()))) => {}
            Some((_, Err(reason))) => {
                return Err(PushError::Rejected {
                    url: url.to_owned(),
                    reference: update.reference.clone(),
                    reason: reason.clone(),
                    remote_commit: advertised.get(&update.reference).map(ToString::to_string),
                });
            }
            None => {
                return Err(PushError::Protocol {
                    url: url.to_owned(),
                    detail: format!("the server did not report on '{}'", update.reference),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<Vec<u8>> {
        text.iter().map(|l| l.as_bytes().to_vec()).collect()
    }

    #[test]
    fn report_status_ok_and_ng() {
        let report = parse_report_status(&lines(&[
            "unpack ok\n",
            "ok refs/heads/main\n",
            "ng refs/heads/auto non-fast-forward\n",
        ]))
        .expect("valid");
        assert_eq!(report.unpack, Ok(()));
        assert_eq!(
            report.refs,
            vec![
                ("refs/heads/main".to_owned(), Ok(())),
                (
                    "refs/heads/auto".to_owned(),
                    Err("non-fast-forward".to_owned())
                ),
            ]
        );
    }

    #[test]
    fn report_status_unpack_error_and_garbage() {
        let report =
            parse_report_status(&lines(&["unpack index-pack abnormal exit\n"])).expect("valid");
        assert_eq!(report.unpack, Err("index-pack abnormal exit".to_owned()));
        assert!(parse_report_status(&[]).is_err());
        assert!(parse_report_status(&lines(&["hello\n"])).is_err());
        assert!(parse_report_status(&lines(&["unpack ok", "what refs/heads/x"])).is_err());
    }

    #[test]
    fn rejected_ref_becomes_a_typed_rejection() {
        let updates = vec![RefUpdate {
            reference: "refs/heads/main".into(),
            old: Some("1".repeat(40)),
            new: "2".repeat(40),
        }];
        let report = parse_report_status(&lines(&[
            "unpack ok",
            "ng refs/heads/main failed to update ref",
        ]))
        .expect("valid");
        let error = check_report("http://h/r.git", &updates, &HashMap::new(), &report)
            .expect_err("rejected");
        assert!(matches!(error, PushError::Rejected { .. }), "{error:?}");
        assert!(error.to_string().contains("http://h/r.git"), "{error}");
        let missing = parse_report_status(&lines(&["unpack ok"])).expect("valid");
        let error = check_report("u", &updates, &HashMap::new(), &missing).expect_err("no report");
        assert!(matches!(error, PushError::Protocol { .. }), "{error:?}");
    }

    #[test]
    fn commands_are_pkt_lines_with_capabilities_on_the_first() {
        let updates = vec![
            RefUpdate {
                reference: "refs/heads/new".into(),
                old: None,
                new: "a".repeat(40),
            },
            RefUpdate {
                reference: "refs/heads/main".into(),
                old: Some("b".repeat(40)),
                new: "a".repeat(40),
            },
        ];
        let body =
            encode_commands(&updates, &["report-status", "atomic"], b"PACK").expect("encoded");
        let zero = "0".repeat(40);
        let first = format!(
            "{zero} {} refs/heads/new\0report-status atomic\n",
            "a".repeat(40)
        );
        let second = format!("{} {} refs/heads/main\n", "b".repeat(40), "a".repeat(40));
        let expected = format!(
            "{:04x}{first}{:04x}{second}0000PACK",
            first.len() + 4,
            second.len() + 4
        );
        assert_eq!(String::from_utf8_lossy(&body), expected);
    }

    #[test]
    fn sideband_report_is_split_into_lines() {
        let data = b"000eunpack ok\n0017ok refs/heads/main\n0000";
        assert_eq!(
            split_pkt_lines(data).expect("valid"),
            lines(&["unpack ok\n", "ok refs/heads/main\n"])
        );
        assert!(split_pkt_lines(b"000eunpack").is_err());
        assert!(split_pkt_lines(b"zzzz").is_err());
        assert_eq!(
            message_lines(b"hook: protected\r\nsecond\n\n"),
            vec!["hook: protected".to_owned(), "second".to_owned()]
        );
    }

    #[test]
    fn remote_messages_are_appended_and_scrubbed() {
        let auth = crate::GitAuth {
            password: Some("hunter2-pw".into()),
            ..crate::GitAuth::default()
        };
        let text = with_remote_messages(
            "pre-receive hook declined".into(),
            &["denied for hunter2-pw".to_owned()],
            &auth,
        );
        assert_eq!(text, "pre-receive hook declined (remote: denied for ***)");
        assert_eq!(with_remote_messages("x".into(), &[], &auth), "x");
    }

    #[test]
    fn refspec_destinations() {
        let dest = |spec: &str| refspec_destination(spec, "auto");
        assert_eq!(dest("HEAD:refs/heads/pr").as_deref(), Ok("refs/heads/pr"));
        assert_eq!(dest("auto:review").as_deref(), Ok("refs/heads/review"));
        assert_eq!(
            dest("refs/heads/auto:refs/for/main").as_deref(),
            Ok("refs/for/main")
        );
        assert!(dest("+HEAD:refs/heads/pr").is_err());
        assert!(dest("main:refs/heads/pr").is_err());
        assert!(dest("HEAD").is_err());
        assert!(dest("HEAD:refs/heads/a b").is_err());
    }

    #[test]
    fn full_branch_refs() {
        assert_eq!(full_branch_ref("main").as_deref(), Ok("refs/heads/main"));
        assert_eq!(
            full_branch_ref("refs/heads/x").as_deref(),
            Ok("refs/heads/x")
        );
        assert!(full_branch_ref("").is_err());
        assert!(full_branch_ref("a..b").is_err());
    }
}
