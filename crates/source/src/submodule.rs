//! `GitRepository.spec.recurseSubmodules`: after a checkout, every submodule of `.gitmodules`
//! is fetched from its URL (relative URLs resolved against the superproject's, as git does) with
//! the superproject's credentials, and the commit the superproject records for it is checked out
//! at its path, recursively up to [`MAX_SUBMODULE_DEPTH`] levels (go-git's default). Paths stay
//! inside the checkout and never cross a symlink.

use crate::auth::GitAuth;
use crate::error::GitError;
use crate::fetch::{Checkout, fetch_and_checkout, run_with_deadline};
use crate::include::join_within;
use crate::reference::Strategy;
use crate::transport::Target;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// How deep submodules of submodules are followed.
pub const MAX_SUBMODULE_DEPTH: usize = 10;

/// Checks out the submodules of `checkout` (fetched from `url`) in place, within `timeout`.
pub async fn checkout_submodules(
    checkout: &Checkout,
    url: &str,
    auth: &GitAuth,
    timeout: Duration,
) -> Result<(), GitError> {
    let target = Target::new(url, auth)?;
    let (dir, url, auth) = (checkout.dir.clone(), url.to_owned(), auth.clone());
    run_with_deadline(target, timeout, move |target, interrupt| {
        let context = Recursion {
            auth: &auth,
            timeout,
            interrupt,
        };
        context.update(target, &url, &dir, 1)
    })
    .await
}

struct Recursion<'a> {
    auth: &'a GitAuth,
    timeout: Duration,
    interrupt: &'a AtomicBool,
}

impl Recursion<'_> {
    /// Checks out every submodule of the repository at `dir`, then theirs.
    fn update(
        &self,
        parent: &Target,
        parent_url: &str,
        dir: &Path,
        depth: usize,
    ) -> Result<(), GitError> {
        for module in read_submodules(parent, dir)? {
            let url = resolve_url(parent_url, &module.url);
            let target = Target::new(&url, self.auth)?;
            let dest = module_dir(parent, dir, &module.path)?;
            let strategy = Strategy::Commit {
                commit: module.commit.clone(),
                branch: None,
                name: None,
            };
            fetch_and_checkout(&target, &strategy, &dest, self.timeout, self.interrupt)?;
            if depth < MAX_SUBMODULE_DEPTH {
                self.update(&target, &url, &dest, depth + 1)?;
            }
        }
        Ok(())
    }
}

/// One submodule: its path, URL as written, and the commit the superproject records.
struct Submodule {
    path: String,
    url: String,
    commit: String,
}

fn read_submodules(parent: &Target, dir: &Path) -> Result<Vec<Submodule>, GitError> {
    let failed = |what: &str, detail: String| GitError::Checkout {
        url: parent.display_url.clone(),
        detail: format!("submodules: {what}: {detail}"),
    };
    let repo = gix::open(dir.join(".git")).map_err(|e| failed("opening", e.to_string()))?;
    let Some(modules) = repo
        .submodules()
        .map_err(|e| failed("reading .gitmodules", e.to_string()))?
    else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for module in modules {
        let name = module.name().to_string();
        let path = module
            .path()
            .map_err(|e| failed(&format!("path of '{name}'"), e.to_string()))?
            .to_string();
        let url = module
            .url()
            .map_err(|e| failed(&format!("url of '{name}'"), e.to_string()))?
            .to_bstring()
            .to_string();
        let commit = module
            .index_id()
            .map_err(|e| failed(&format!("commit of '{name}'"), e.to_string()))?;
        // A submodule listed in .gitmodules but not recorded in the tree is skipped, as git does.
        if let Some(commit) = commit {
            found.push(Submodule {
                path,
                url,
                commit: commit.to_string(),
            });
        }
    }
    Ok(found)
}

/// The empty directory the submodule is checked out into, inside `dir`.
fn module_dir(parent: &Target, dir: &Path, path: &str) -> Result<std::path::PathBuf, GitError> {
    let dest = join_within(dir, path);
    let refused = |detail: String| GitError::Checkout {
        url: parent.display_url.clone(),
        detail: format!("submodule path '{path}': {detail}"),
    };
    let mut current = dir.to_path_buf();
    for component in dest.strip_prefix(dir).unwrap_or(&dest).components() {
        current.push(component);
        if std::fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(refused("crosses a symlink of the repository".into()));
        }
    }
    if dest == dir {
        return Err(refused("is the repository root".into()));
    }
    if let Ok(mut entries) = std::fs::read_dir(&dest)
        && entries.next().is_some()
    {
        return Err(refused("is not empty".into()));
    }
    Ok(dest)
}

/// `module_url` as git resolves it: relative (`./x`, `../x`) to the superproject's URL.
pub fn resolve_url(parent_url: &str, module_url: &str) -> String {
    if !(module_url.starts_with("./") || module_url.starts_with("../")) {
        return module_url.to_owned();
    }
    let mut base = parent_url.trim_end_matches('/').to_owned();
    for part in module_url.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                if let Some(at) = base.rfind('/') {
                    base.truncate(at);
                }
            }
            other => {
                base.push('/');
                base.push_str(other);
            }
        }
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_resolve_against_the_superproject() {
        let parent = "ssh://git@127.0.0.1:2222/srv/repos/app.git";
        assert_eq!(
            resolve_url(parent, "../lib.git"),
            "ssh://git@127.0.0.1:2222/srv/repos/lib.git"
        );
        assert_eq!(
            resolve_url(parent, "./sub"),
            "ssh://git@127.0.0.1:2222/srv/repos/app.git/sub"
        );
        assert_eq!(
            resolve_url(parent, "https://example.com/x.git"),
            "https://example.com/x.git"
        );
    }
}
