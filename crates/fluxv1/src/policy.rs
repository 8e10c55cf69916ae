//! `fluxctl automate`, `deautomate`, `lock`, `unlock` and `policy`: annotation changes on
//! workloads, written in place and pushed as one commit with fluxd's message.

use std::path::Path;

use tether_imagepolicy::TagPattern;
use tether_workloads::release::message;
use tether_workloads::{PolicyUpdate, ResourceId, update_policies};

use crate::error::Error;
use crate::repo::{
    CommitSettings, Committed, Repository, edit_commit_push, require_workload, workloads_in,
};
use tether_source::{Edit, Edited};

/// Applies each `(workload, update)` to the workload's manifest and pushes one commit whose
/// message is fluxd's policy summary (under `cause`, when given). Reports the workloads whose
/// manifest changed; no commit when none did. Tag patterns are checked before anything is
/// written.
pub async fn set_policy(
    repo: &Repository,
    updates: &[(ResourceId, PolicyUpdate)],
    cause: Option<&str>,
    settings: &CommitSettings,
) -> Result<Committed<Vec<ResourceId>>, Error> {
    for (id, update) in updates {
        check_patterns(id, update)?;
    }
    let mut edit = PolicyEdit {
        repo,
        updates,
        cause,
    };
    edit_commit_push(repo, settings, &mut edit).await
}

struct PolicyEdit<'a> {
    repo: &'a Repository,
    updates: &'a [(ResourceId, PolicyUpdate)],
    cause: Option<&'a str>,
}

impl Edit for PolicyEdit<'_> {
    type Report = Vec<ResourceId>;
    type Error = Error;

    async fn apply(&mut self, root: &Path) -> Result<Edited<Vec<ResourceId>>, Error> {
        let found = workloads_in(self.repo, root)?;
        let mut changed = Vec::new();
        for (id, update) in self.updates {
            let workload = require_workload(self.repo, &found.workloads, id)?;
            let edited = match found.update_generated_policies(root, workload, update) {
                Some(generated) => generated?,
                None => update_file(root, &workload.file, found.git_id(id), update)?,
            };
            if edited {
                changed.push((id.clone(), update.clone()));
            }
        }
        let message = (!changed.is_empty()).then(|| message::policy_change(&changed, self.cause));
        Ok(Edited {
            message,
            report: changed.into_iter().map(|(id, _)| id).collect(),
        })
    }
}

/// Rewrites the policies of `id` in `file`; whether the text changed.
fn update_file(
    root: &Path,
    file: &Path,
    id: &ResourceId,
    update: &PolicyUpdate,
) -> Result<bool, Error> {
    let path = root.join(file);
    let io_error = |source| Error::Io {
        file: file.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(&path).map_err(io_error)?;
    let edited = update_policies(&text, id, update).map_err(|source| Error::Edit {
        workload: id.clone(),
        file: file.to_path_buf(),
        source: Box::new(source),
    })?;
    if edited == text {
        return Ok(false);
    }
    std::fs::write(&path, edited).map_err(io_error)?;
    Ok(true)
}

/// Refuses tag patterns that do not parse (fluxd's policy update did too).
fn check_patterns(id: &ResourceId, update: &PolicyUpdate) -> Result<(), Error> {
    for (policy, value) in &update.add {
        let container = match policy.as_str() {
            "tag_all" => "*",
            other => match other.strip_prefix("tag.") {
                Some(container) => container,
                None => continue,
            },
        };
        TagPattern::parse(value).map_err(|e| Error::Pattern {
            workload: id.clone(),
            container: container.to_owned(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_patterns_are_refused_before_editing() {
        let id: ResourceId = "default:deployment/web".parse().expect("valid");
        let bad = PolicyUpdate::default().tag("app", "regexp:(");
        let error = check_patterns(&id, &bad).expect_err("invalid regexp");
        assert!(
            error
                .to_string()
                .starts_with("default:deployment/web: container app:"),
            "{error}"
        );
        assert!(check_patterns(&id, &PolicyUpdate::default().tag_all("1.*")).is_ok());
        assert!(check_patterns(&id, &PolicyUpdate::lock(Some("me"), Some("why"))).is_ok());
    }
}
