//! Differential test of `gojson` against Go's own `encoding/json`: random strings full of the
//! characters where Go and serde_json disagree (`<`, `>`, `&`, U+2028, U+2029) and of control
//! characters, quotes, backslashes and non-ASCII text are written by both, as `json.Marshal`
//! and as an Encoder with `SetEscapeHTML(false)`, plus a map of them (Go sorts its keys).
//! Provider payloads are byte-for-byte Flux's only if this layer is. Skipped, with a note,
//! when no `go` toolchain is on the PATH (`TETHER_GO` names another).

use std::{
    collections::BTreeMap,
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
};

use tether_notify::gojson;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
    }
}

fn random_strings(count: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "<",
        ">",
        "&",
        "\u{2028}",
        "\u{2029}",
        "\"",
        "\\",
        "/",
        "\n",
        "\r",
        "\t",
        "\u{0}",
        "\u{1f}",
        "\u{7f}",
        "\u{80}",
        "é",
        "💣",
        "✅",
        "a",
        "Z",
        "0",
        " ",
        "'",
        "`",
        "{",
        "}",
        "\u{fffd}",
        "\u{feff}",
        "\u{8}",
        "\u{c}",
        "<font color=\"#ff0000\">",
        "a&b",
        "\u{2027}",
    ];
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|_| {
            let len = random.below(12);
            (0..len)
                .map(|_| PIECES[random.below(PIECES.len())])
                .collect()
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn gojson_writes_strings_and_maps_exactly_as_go_does() -> TestResult {
    let go = std::env::var("TETHER_GO").unwrap_or_else(|_| "go".into());
    if Command::new(&go).arg("version").output().is_err() {
        eprintln!("skipped: no Go toolchain ({go}) to compare with");
        return Ok(());
    }
    let texts = random_strings(400);
    let program = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/gojson/main.go");
    let mut child = Command::new(&go)
        .arg("run")
        .arg(&program)
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&serde_json::to_vec(&texts)?)?;
    }
    let output = child.wait_with_output()?;
    assert!(
        output.status.success(),
        "go run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout)?;
    let mut lines = stdout.lines();
    let mut differences = Vec::new();
    for text in &texts {
        let ours = format!(
            "{}\t{}",
            hex(&gojson::marshal(text)?),
            hex(&gojson::encode_plain(text)?)
        );
        if lines.next() != Some(ours.as_str()) {
            differences.push(format!("{text:?}"));
        }
    }
    assert!(
        differences.is_empty(),
        "differ from Go: {}",
        differences.join(", ")
    );
    // A repeated string keeps its last index, as Go's map assignment does.
    let index: BTreeMap<&str, String> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i.to_string()))
        .collect();
    let ours = hex(&gojson::marshal(&index)?);
    assert!(
        lines.next() == Some(ours.as_str()),
        "the map differs from Go's"
    );
    Ok(())
}
