//! What a push sends besides its commands: the objects the remote lacks, written as a pack.
//!
//! The remote is assumed to hold everything reachable from the commits it advertises (and from
//! the commit the working clone was made from). New commits are walked back until such a
//! commit; their trees and blobs are sent unless the boundary commits' trees already hold them.
//! Commits the clone does not have (beyond its shallow boundary) are neither walked nor sent.

use gix::ObjectId;
use std::collections::HashSet;

/// Ids of the objects to send so that the remote, having `present` commits, can reach `head`.
pub(crate) fn objects_to_send(
    repo: &gix::Repository,
    head: ObjectId,
    present: &HashSet<ObjectId>,
) -> gix::Result<Vec<ObjectId>> {
    let (new_commits, boundary) = walk_new_commits(repo, head, present);
    let mut known = HashSet::new();
    for commit in &boundary {
        let tree = repo.find_commit(*commit)?.tree_id()?.detach();
        collect_tree(repo, tree, &mut known)?;
    }
    let mut out = Vec::new();
    for commit in new_commits {
        out.push(commit);
        let tree = repo.find_commit(commit)?.tree_id()?.detach();
        add_new_tree(repo, tree, &mut known, &mut out)?;
    }
    Ok(out)
}

/// Commits reachable from `head` and not from `present`, newest first, plus the `present`
/// commits the walk ran into (those the clone has locally).
fn walk_new_commits(
    repo: &gix::Repository,
    head: ObjectId,
    present: &HashSet<ObjectId>,
) -> (Vec<ObjectId>, Vec<ObjectId>) {
    let mut new_commits = Vec::new();
    let mut boundary = Vec::new();
    let mut seen = HashSet::new();
    let mut queue = std::collections::VecDeque::from([head]);
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        let Ok(commit) = repo.find_commit(id) else {
            continue;
        };
        if present.contains(&id) {
            boundary.push(id);
            continue;
        }
        new_commits.push(id);
        queue.extend(commit.parent_ids().map(gix::Id::detach));
    }
    (new_commits, boundary)
}

/// Adds `tree` and everything below it to `known`.
fn collect_tree(
    repo: &gix::Repository,
    tree: ObjectId,
    known: &mut HashSet<ObjectId>,
) -> gix::Result<()> {
    if !known.insert(tree) {
        return Ok(());
    }
    let object = repo.find_tree(tree)?;
    for entry in object.decode()?.entries.iter() {
        if entry.mode.is_tree() {
            collect_tree(repo, entry.oid.to_owned(), known)?;
        } else if !entry.mode.is_commit() {
            known.insert(entry.oid.to_owned());
        }
    }
    Ok(())
}

/// Appends `tree` and the objects below it that are not `known` to `out`, and marks them known.
fn add_new_tree(
    repo: &gix::Repository,
    tree: ObjectId,
    known: &mut HashSet<ObjectId>,
    out: &mut Vec<ObjectId>,
) -> gix::Result<()> {
    if !known.insert(tree) {
        return Ok(());
    }
    out.push(tree);
    let object = repo.find_tree(tree)?;
    for entry in object.decode()?.entries.iter() {
        let id = entry.oid.to_owned();
        if entry.mode.is_tree() {
            add_new_tree(repo, id, known, out)?;
        } else if !entry.mode.is_commit() && known.insert(id) {
            out.push(id);
        }
    }
    Ok(())
}

/// A version 2 pack holding `ids` as whole (undeltified) objects.
pub(crate) fn write_pack(repo: &gix::Repository, ids: &[ObjectId]) -> gix::Result<Vec<u8>> {
    use gix_pack::data::output;
    let mut entries = Vec::with_capacity(ids.len());
    for id in ids {
        let object = repo.find_object(*id)?;
        let data = gix::objs::Data::new(&object.data, object.kind, repo.object_hash());
        let count = output::Count::from_data(*id, None);
        entries.push(output::Entry::from_data(
            &count,
            &data,
            gix_zlib::Compression::DEFAULT,
        )?);
    }
    let count = u32::try_from(entries.len()).map_err(gix::Error::from_error)?;
    let mut pack = Vec::new();
    let writer = output::bytes::FromEntriesIter::new(
        std::iter::once(Ok(entries)),
        &mut pack,
        count,
        gix_pack::data::Version::V2,
        repo.object_hash(),
    );
    for written in writer {
        written?;
    }
    Ok(pack)
}
