//! Golden tests: `testdata/<case>/input.yaml` edited by the operations in `op` must equal
//! `expected.yaml` byte for byte. Operations, one a line:
//! `image <id> <container> <image>`, `automate <id>`, `deautomate <id>`,
//! `lock <id> <user> <message...>`, `unlock <id>`, `tag <id> <container> <pattern>`,
//! `tag-all <id> <pattern>`.

use std::fs;
use std::path::Path;

use tether_workloads::{PolicyUpdate, ResourceId, set_container_image, update_policies};

fn apply(text: &str, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (verb, id) = (words[0], words[1].parse::<ResourceId>().expect("id in op"));
    let update = match verb {
        "image" => {
            return set_container_image(text, &id, words[2], words[3]).expect("image edit");
        }
        "automate" => PolicyUpdate::automate(),
        "deautomate" => PolicyUpdate::deautomate(),
        "lock" => PolicyUpdate::lock(Some(words[2]), Some(&words[3..].join(" "))),
        "unlock" => PolicyUpdate::unlock(),
        "tag" => PolicyUpdate::default().tag(words[2], words[3]),
        "tag-all" => PolicyUpdate::default().tag_all(words[2]),
        other => panic!("unknown op {other}"),
    };
    update_policies(text, &id, &update).expect("policy edit")
}

#[test]
fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut cases: Vec<_> = fs::read_dir(&root)
        .expect("testdata")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "golden cases missing");
    for case in cases {
        let input = fs::read_to_string(case.join("input.yaml")).expect("input");
        let ops = fs::read_to_string(case.join("op")).expect("op");
        let output = ops
            .lines()
            .filter(|l| !l.trim().is_empty())
            .fold(input, |text, op| apply(&text, op));
        let expected_path = case.join("expected.yaml");
        if std::env::var_os("TETHER_BLESS").is_some() {
            fs::write(&expected_path, &output).expect("bless");
        }
        let expected = fs::read_to_string(&expected_path).expect("expected");
        assert_eq!(output, expected, "case {}", case.display());
    }
}
