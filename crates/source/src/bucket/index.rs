//! The index of a bucket: object keys and their ETags, after the ignore rules, as
//! source-controller's `index.Digester`. Its digest is the Bucket's revision: `sha256:<hex>`
//! over one `<key> <etag>\n` line per key, keys in byte order. Keys become paths in the
//! artifact, so each is checked first: no absolute paths, no `..`, `.` or empty segments, no
//! control characters, no key that is also a directory of another key.

use super::client::{BucketClient, ListedObject};
use super::{BucketError, BucketLimits};
use crate::sourceignore::{IGNORE_FILE, KeyIgnore};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The largest `.sourceignore` object read.
const MAX_IGNORE_FILE_BYTES: u64 = 1024 * 1024;

/// Object keys and their ETags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtagIndex {
    entries: BTreeMap<String, String>,
}

impl EtagIndex {
    /// Records `key` at `etag`.
    pub fn insert(&mut self, key: impl Into<String>, etag: impl Into<String>) {
        self.entries.insert(key.into(), etag.into());
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// The ETag of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `(key, etag)` in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Flux's revision of the bucket: `sha256:<hex>` of the index's lines.
    pub fn revision(&self) -> String {
        let mut hasher = Sha256::new();
        for (key, etag) in &self.entries {
            hasher.update(key.as_bytes());
            hasher.update(b" ");
            hasher.update(etag.as_bytes());
            hasher.update(b"\n");
        }
        format!("sha256:{:x}", hasher.finalize())
    }

    /// The index as the lines its revision digests.
    pub fn to_text(&self) -> String {
        self.entries
            .iter()
            .map(|(key, etag)| format!("{key} {etag}\n"))
            .collect()
    }

    /// An index written by [`to_text`](Self::to_text); `None` when it is not one.
    pub fn from_text(text: &str) -> Option<Self> {
        let mut index = Self::default();
        for line in text.lines() {
            let (key, etag) = line.rsplit_once(' ')?;
            index.insert(key, etag);
        }
        Some(index)
    }
}

/// A bucket's index as listed, with each object's listed size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedIndex {
    pub index: EtagIndex,
    pub sizes: BTreeMap<String, u64>,
}

impl ListedIndex {
    /// Lists the bucket (keys under `prefix`) into an index: directory markers and the ignore
    /// file left out, then what the bucket's `.sourceignore` and `spec_ignore` exclude; every
    /// key checked, and the count and total size held to `limits`.
    pub async fn list(
        client: &BucketClient,
        prefix: Option<&str>,
        spec_ignore: Option<&str>,
        limits: BucketLimits,
    ) -> Result<Self, BucketError> {
        let ignore_file = client
            .get_small_object(IGNORE_FILE, MAX_IGNORE_FILE_BYTES)
            .await?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        let rules = KeyIgnore::new(ignore_file.as_deref(), spec_ignore)?;
        let bucket = client.name().to_owned();
        let mut listed = Self::default();
        let mut total = 0u64;
        client
            .list_objects(prefix, |object| {
                if object.key.ends_with('/') || object.key == IGNORE_FILE {
                    return Ok(());
                }
                if rules.is_ignored(&object.key) {
                    return Ok(());
                }
                check_key(&bucket, &object.key)?;
                total = total.saturating_add(object.size);
                listed.add(&bucket, object, total, limits)
            })
            .await?;
        check_no_key_is_a_directory(&bucket, &listed.index)?;
        Ok(listed)
    }

    fn add(
        &mut self,
        bucket: &str,
        object: ListedObject,
        total: u64,
        limits: BucketLimits,
    ) -> Result<(), BucketError> {
        if self.index.len() >= limits.max_objects {
            return Err(BucketError::TooManyObjects {
                bucket: bucket.to_owned(),
                max: limits.max_objects,
            });
        }
        if total > limits.max_total_bytes {
            return Err(BucketError::TooLarge {
                bucket: bucket.to_owned(),
                max: limits.max_total_bytes,
            });
        }
        self.sizes.insert(object.key.clone(), object.size);
        self.index.insert(object.key, object.etag);
        Ok(())
    }
}

/// Refuses a key that cannot safely be a relative path under the artifact root.
pub fn check_key(bucket: &str, key: &str) -> Result<(), BucketError> {
    let refuse = |reason| BucketError::UnsafeKey {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        reason,
    };
    if key.starts_with('/') {
        return Err(refuse("absolute paths are not allowed"));
    }
    if key.chars().any(char::is_control) {
        return Err(refuse("control characters are not allowed"));
    }
    for segment in key.split('/') {
        match segment {
            ".." => return Err(refuse("the path escapes the artifact root")),
            "" | "." => return Err(refuse("the path has empty or '.' segments")),
            _ => {}
        }
    }
    Ok(())
}

/// Keys `a` and `a/b` cannot both be files: the first key at or after `a/` tells.
fn check_no_key_is_a_directory(bucket: &str, index: &EtagIndex) -> Result<(), BucketError> {
    for (key, _) in index.iter() {
        let directory = format!("{key}/");
        let nested = index
            .entries
            .range(directory.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&directory));
        if nested {
            return Err(BucketError::UnsafeKey {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                reason: "another key uses it as a directory",
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revision_digests_sorted_key_etag_lines() {
        let mut index = EtagIndex::default();
        index.insert("b.yaml", "e2");
        index.insert("a.yaml", "e1");
        let expected = format!("sha256:{:x}", Sha256::digest(b"a.yaml e1\nb.yaml e2\n"));
        assert_eq!(index.revision(), expected);
        assert_eq!(
            EtagIndex::default().revision(),
            format!("sha256:{:x}", Sha256::digest(b""))
        );
    }

    #[test]
    fn an_index_survives_its_text_form_even_with_spaces_in_keys() {
        let mut index = EtagIndex::default();
        index.insert("dir/with space.yaml", "abc");
        index.insert("x", "d41d8cd98f00b204e9800998ecf8427e-2");
        assert_eq!(EtagIndex::from_text(&index.to_text()), Some(index));
        assert_eq!(EtagIndex::from_text("no-etag-here"), None);
    }

    #[test]
    fn keys_that_escape_or_are_not_clean_paths_are_refused() {
        for key in [
            "../etc/passwd",
            "a/../../b",
            "/abs.yaml",
            "a//b",
            "./a",
            "a/./b",
            "a\nb",
            "a\0b",
        ] {
            let error = check_key("b", key).expect_err(key);
            assert!(error.to_string().contains("refusing object key"), "{error}");
        }
        for key in ["a.yaml", "deploy/app.yaml", "..hidden", "a b/c..d"] {
            check_key("b", key).expect(key);
        }
    }

    #[test]
    fn a_key_that_is_also_a_directory_is_refused() {
        let mut index = EtagIndex::default();
        index.insert("a", "1");
        index.insert("a-b", "2");
        index.insert("a.yaml", "3");
        check_no_key_is_a_directory("b", &index).expect("no conflict");
        index.insert("a/c", "4");
        let error = check_no_key_is_a_directory("b", &index).expect_err("a is a dir");
        assert!(error.to_string().contains("'a'"), "{error}");
    }
}
