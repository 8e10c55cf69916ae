//! A large generated index (3000 charts × 20 versions, shaped like `helm repo index` output with
//! descriptions, maintainers and annotations) parses within a memory bound: the peak resident
//! set while parsing (Linux `VmHWM`, reset through `/proc/self/clear_refs` just before) stays
//! far below the document's size, because entries are streamed into the compact typed index.
//! Its own test binary, so no other test shares the process. Prints its figures; for the full
//! size run `cargo test --release -p tether-source --test helm_index_memory -- --nocapture`.

use std::io::Write;
use std::time::Instant;

use tether_source::{HelmIndex, IndexLimits};

/// 3000 charts in an optimised build; fewer in a debug build, where the parser is ~20× slower.
const CHARTS: usize = if cfg!(debug_assertions) { 500 } else { 3000 };
const VERSIONS: usize = 20;
/// The bound on the peak growth of the resident set while parsing: a fixed allowance plus a
/// per-version one. The compact index takes ~430 bytes per version here (25 MiB for 60000
/// versions of a 42 MiB document); a raw copy of the entries alone took over 1 KiB.
const ALLOWANCE_BYTES: u64 = 4 << 20;
const BYTES_PER_VERSION: u64 = 600;

fn write_index(path: &std::path::Path) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "apiVersion: v1\nentries:")?;
    for chart in 0..CHARTS {
        let name = format!("chart-{chart:04}");
        writeln!(out, "  {name}:")?;
        for v in 0..VERSIONS {
            let version = format!("{}.{}.{}", v / 10 + 1, v % 10, chart % 7);
            writeln!(
                out,
                "  - annotations:\n      category: Testing\n      licenses: Apache-2.0\n    \
                 apiVersion: v2\n    appVersion: {version}\n    \
                 created: \"2024-05-{day:02}T10:{min:02}:00.123456789Z\"\n    \
                 description: A generated chart number {chart} used to measure how much memory \
                 reading a large chart repository index takes, version {version}\n    \
                 digest: {digest:064x}\n    home: https://charts.example.invalid/{name}\n    \
                 keywords:\n    - generated\n    - memory\n    maintainers:\n    \
                 - email: team@example.invalid\n      name: team\n    name: {name}\n    \
                 sources:\n    - https://git.example.invalid/{name}\n    type: application\n    \
                 urls:\n    - https://charts.example.invalid/{name}/{name}-{version}.tgz\n    \
                 version: {version}",
                day = v + 1,
                min = chart % 60,
                digest = chart * VERSIONS + v,
            )?;
        }
    }
    writeln!(out, "generated: \"2024-06-01T00:00:00Z\"")?;
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn large_index_parses_within_a_memory_bound() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("index.yaml");
    let size = write_index(&path)?;

    // Reset the peak to the current resident set (Linux ≥ 4.0).
    std::fs::write("/proc/self/clear_refs", "5")?;
    let before = status_kib("VmRSS:").unwrap_or(0);
    let started = Instant::now();
    let index = HelmIndex::from_path(&path, IndexLimits::default())?;
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:").unwrap_or(0);
    let after = status_kib("VmRSS:").unwrap_or(0);

    assert_eq!(index.total_versions(), CHARTS * VERSIONS);
    let last = CHARTS - 1;
    let chosen = index.get(&format!("chart-{last:04}"), "1.x")?;
    assert_eq!(&*chosen.version, format!("1.9.{}", last % 7));
    let growth = peak.saturating_sub(before) * 1024;
    let growth_mib = growth >> 20;
    let bound = ALLOWANCE_BYTES + BYTES_PER_VERSION * index.total_versions() as u64;
    println!(
        "index {:.1} MiB, {} versions: parsed in {:.2?}, peak RSS growth {growth_mib} MiB, \
         held after parse {} MiB",
        size as f64 / (1024.0 * 1024.0),
        index.total_versions(),
        elapsed,
        after.saturating_sub(before) / 1024,
    );
    assert!(
        growth <= bound,
        "peak RSS grew by {growth} bytes parsing a {size}-byte index (bound {bound})"
    );
    Ok(())
}
