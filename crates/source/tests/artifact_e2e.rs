//! Artifact store end to end: a real checkout (from the testkit's HTTP git server) packed with
//! `.sourceignore` and `spec.ignore` rules, digests, garbage collection, and extraction that
//! refuses entries escaping its root.

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use tether_source::{
    ArtifactError, ArtifactOwner, ArtifactStore, ExtractLimits, GitAuth, GitReference, checkout,
    extract_tarball, extract_tarball_within,
};
use tether_testkit::git::{GitRepoFixture, HttpGitServer};

fn listing(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[tokio::test]
async fn packing_honours_sourceignore_and_spec_ignore() -> anyhow::Result<()> {
    let repo = GitRepoFixture::new("app")?;
    let server = HttpGitServer::start(&repo.projects_root(), "u", "p4ssword")?;
    repo.commit(
        "master",
        &[
            ("deploy/app.yaml", "a"),
            ("deploy/secret.enc.yaml", "s"),
            ("deploy/.sourceignore", "*.enc.yaml\n"),
            ("docs/readme.md", "r"),
            ("logo.png", "png"),
            ("notes.txt", "n"),
            (".sourceignore", "# docs are not deployed\ndocs/\n"),
        ],
        "content",
    )?;
    let auth = GitAuth {
        username: Some("u".into()),
        password: Some("p4ssword".into()),
        ..GitAuth::default()
    };
    let work = tempfile::tempdir()?;
    let out = checkout(
        &server.repo_url("app"),
        &GitReference::default(),
        &auth,
        Duration::from_secs(30),
        work.path(),
    )
    .await?;
    let store_dir = tempfile::tempdir()?;
    let store = ArtifactStore::new(store_dir.path());
    let owner = ArtifactOwner::new("GitRepository", "flux-system", "app");
    let artifact = store.archive_checkout(&owner, &out, Some("*.txt"))?;

    assert_eq!(
        artifact.path,
        format!(
            "gitrepository/flux-system/app/{}.tar.gz",
            out.revision.commit
        )
    );
    assert_eq!(artifact.revision, out.revision.to_string());
    let bytes = std::fs::read(store.local_path(&artifact))?;
    assert_eq!(artifact.size, bytes.len() as u64);
    let hex: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(artifact.digest, format!("sha256:{hex}"));

    let unpacked = tempfile::tempdir()?;
    extract_tarball(&store.local_path(&artifact), unpacked.path())?;
    let files = listing(unpacked.path());
    let expected: BTreeSet<String> = [
        ".sourceignore",
        "deploy/.sourceignore",
        "deploy/app.yaml",
        // User patterns exist, so Flux's default image exclusion no longer applies.
        "logo.png",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(files, expected);
    Ok(())
}

#[test]
fn garbage_collection_keeps_the_newest() -> anyhow::Result<()> {
    let src = tempfile::tempdir()?;
    std::fs::write(src.path().join("a.yaml"), "a")?;
    let store_dir = tempfile::tempdir()?;
    let store = ArtifactStore::new(store_dir.path());
    let owner = ArtifactOwner::new("GitRepository", "ns", "name");
    let filter = tether_source::sourceignore::SourceIgnore::load(src.path(), None)?;
    let mut artifacts = Vec::new();
    for i in 0..4 {
        artifacts.push(store.archive_dir(
            &owner,
            "rev",
            &format!("{i}.tar.gz"),
            src.path(),
            &filter,
        )?);
        std::thread::sleep(Duration::from_millis(20));
    }
    let current = &artifacts[3];
    let deleted = store.garbage_collect(&owner, current, 2)?;
    assert_eq!(deleted.len(), 2);
    assert!(store.local_path(&artifacts[2]).exists());
    assert!(store.local_path(current).exists());
    assert!(!store.local_path(&artifacts[0]).exists());
    Ok(())
}

/// Writes a tarball whose entry names and link targets are set byte-for-byte, bypassing the
/// `tar` crate's own path checks, as a hostile producer would.
fn hostile_tarball(
    path: &Path,
    name: &str,
    kind: tar::EntryType,
    link: &str,
) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut builder = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    let mut header = tar::Header::new_gnu();
    {
        let gnu = header
            .as_gnu_mut()
            .ok_or_else(|| anyhow::anyhow!("gnu header"))?;
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(if kind == tar::EntryType::Regular {
        4
    } else {
        0
    });
    header.set_cksum();
    let data: &[u8] = if kind == tar::EntryType::Regular {
        b"evil"
    } else {
        b""
    };
    builder.append(&header, data)?;
    builder.into_inner()?.finish()?;
    Ok(())
}

#[test]
fn extraction_rejects_path_escape() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let cases = [
        ("../escape.txt", tar::EntryType::Regular, ""),
        ("a/../../escape.txt", tar::EntryType::Regular, ""),
        ("/tmp/absolute-escape.txt", tar::EntryType::Regular, ""),
        ("link", tar::EntryType::Symlink, "../outside"),
        ("link", tar::EntryType::Symlink, "/etc"),
        ("hard", tar::EntryType::Link, "/etc/passwd"),
    ];
    for (i, (name, kind, link)) in cases.into_iter().enumerate() {
        let tarball = scratch.path().join(format!("{i}.tar.gz"));
        hostile_tarball(&tarball, name, kind, link)?;
        let dest = scratch.path().join(format!("dest-{i}/root"));
        let error = extract_tarball(&tarball, &dest).expect_err(name);
        assert!(
            matches!(error, ArtifactError::UnsafeEntry { .. }),
            "{name}: {error:?}"
        );
        assert!(error.is_terminal());
        assert!(!scratch.path().join(format!("dest-{i}/escape.txt")).exists());
    }
    assert!(!Path::new("/tmp/absolute-escape.txt").exists());
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

/// A gzipped tarball (written to `path`) with one entry per `(name, size)`, zero-filled; the
/// gzip is Debian's (`gzip -1`), which packs a GiB of zeros in seconds where an unoptimised
/// build of the deflate crate takes a minute.
fn zero_tarball(path: &Path, entries: &[(String, u64)]) -> anyhow::Result<()> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut gzip = Command::new("gzip")
        .arg("-1")
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(path)?)
        .spawn()?;
    let stdin = gzip
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("gzip stdin"))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(stdin));
    for (name, size) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(*size);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, std::io::repeat(0).take(*size))?;
    }
    drop(tar.into_inner()?);
    anyhow::ensure!(gzip.wait()?.success(), "gzip failed");
    Ok(())
}

#[test]
fn a_tarball_that_decompresses_past_the_limit_is_refused_with_bounded_memory() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let bomb = dir.path().join("bomb.tar.gz");
    zero_tarball(&bomb, &[("huge.yaml".to_owned(), 1 << 30)])?;
    let packed = std::fs::metadata(&bomb)?.len();
    let before = peak_rss_kib();
    let limits = ExtractLimits {
        max_bytes: 64 << 20,
        max_entries: 1000,
    };
    let error = extract_tarball_within(&bomb, &dir.path().join("out"), limits)
        .expect_err("1 GiB past a 64 MiB limit");
    assert_eq!(
        error.to_string(),
        format!("tarball has more than {} bytes once extracted", 64u64 << 20)
    );
    let out_bytes: u64 = std::fs::read_dir(dir.path().join("out"))?
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    assert_eq!(out_bytes, 0, "nothing of the refused entry is written");

    let many = dir.path().join("many.tar.gz");
    let names: Vec<(String, u64)> = (0..100_000).map(|i| (format!("f/{i}.yaml"), 0)).collect();
    zero_tarball(&many, &names)?;
    let error = extract_tarball_within(&many, &dir.path().join("many"), limits)
        .expect_err("100k entries past a 1000 limit");
    assert_eq!(error.to_string(), "tarball has more than 1000 entries");
    let after = peak_rss_kib();
    println!(
        "1 GiB bomb packed to {packed} bytes; peak RSS before {before} KiB, after {after} KiB"
    );
    assert!(
        after.saturating_sub(before) < 64 * 1024,
        "extraction grew the peak RSS by {} KiB",
        after - before
    );
    Ok(())
}
