//! Paths a repository or a spec names, kept inside the tree they name something in: a relative
//! path made only of plain segments (and `.`) is joined to the root; an absolute path or one
//! that climbs with `..` is refused. This is the lexical rule; symlinks inside the tree are the
//! extractor's and loaders' concern.

use std::path::{Component, Path, PathBuf};

/// `relative` inside `root`, or `None` when it is absolute or climbs out.
pub fn join_within(root: &Path, relative: &str) -> Option<PathBuf> {
    let path = Path::new(relative);
    let plain = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    plain.then(|| root.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = Path::new("/src");
        assert_eq!(
            join_within(root, "./charts/app"),
            Some(root.join("./charts/app"))
        );
        assert_eq!(join_within(root, ""), Some(root.join("")));
        assert!(join_within(root, "../etc").is_none());
        assert!(join_within(root, "charts/../../etc").is_none());
        assert!(join_within(root, "/etc").is_none());
    }
}
