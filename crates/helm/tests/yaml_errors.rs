//! Invalid YAML against the Go-built `helm`: the same broken texts as a user values file
//! (`-f`), the chart's `values.yaml`, `Chart.yaml`, a `fromYaml` argument (whose error is
//! the map's `Error`) and a template's rendered output. Both must fail (or, for `fromYaml`,
//! render the error), and the messages are compared: go-yaml's `yaml: line N: ...` wording.

mod common;

use common::{Files, Tally, args, compare};

const CHART: &str = "apiVersion: v2\nname: ye\nversion: 0.1.0\n";

/// Broken YAML texts, each one syntax or structure error go-yaml reports.
const BROKEN: &[&str] = &[
    "a: b: c\n",
    "a: [1, 2\n",
    "a: {x: 1\n",
    "a:\n  b: 1\n c: 2\n",
    "\ta: 1\n",
    "a: \"unclosed\n",
    "a: 'unclosed\n",
    "- a\nb: c\n",
    "a: b\n- c\n",
    "a: *undefined\n",
    "a: @b\n",
    "a: `b\n",
    "%YAML 2.0\n---\na: 1\n",
    "a: 1\na: 2\n",
    "a: !!int x\n",
    "a:\n  - 1\n  b: 2\n",
    "key: [a, b]]\n",
    "a: |\n  x\n y: 1\n",
    "? [a]\n: b\n",
    "a: &x 1\nb: &x 2\nc: *x\n",
    "[1, 2\n",
    "{a: 1}}\n",
    "a: \"\\q\"\n",
    "a:\n  b: \"x\" y\n",
    "a: 'x' y\n",
    "- \"x\" y\n",
    "\"x\" y\n",
];

/// Where tether still differs (index into `BROKEN`, context): tether's parser accepts what
/// libyaml refuses (a tab as indentation, `!!int` on a non-number) or refuses what go-yaml
/// never reads (text after the first document's root flow collection or quoted scalar), and libyaml's
/// wording inside a block mapping (`Chart.yaml` appends to one) differs for a tab and for an
/// unclosed or overclosed flow collection at the start of a line.
const KNOWN: &[(usize, &str)] = &[
    (4, "user values file"),
    (4, "chart values.yaml"),
    (4, "Chart.yaml"),
    (4, "fromYaml"),
    (12, "Chart.yaml"),
    (14, "user values file"),
    (14, "chart values.yaml"),
    (14, "Chart.yaml"),
    (14, "fromYaml"),
    (14, "template output"),
    (20, "Chart.yaml"),
    (21, "user values file"),
    (21, "chart values.yaml"),
    (21, "Chart.yaml"),
    (21, "fromYaml"),
    (21, "template output"),
    (26, "user values file"),
    (26, "chart values.yaml"),
    (26, "Chart.yaml"),
    (26, "fromYaml"),
    (26, "template output"),
];

/// One chart per context for `text`, with the helm arguments that reach the text.
fn contexts(text: &str) -> Vec<(&'static str, Files, Vec<String>)> {
    let plain = |extra: &[(&str, &str)]| -> Files {
        let mut files: Files = [
            ("ye/Chart.yaml", CHART),
            ("ye/templates/cm.yaml", "kind: ConfigMap\n"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra {
            files.insert((*k).to_owned(), (*v).to_owned());
        }
        files
    };
    let json = serde_json::to_string(text).expect("json");
    vec![
        (
            "user values file",
            plain(&[("bad.yaml", text)]),
            args(&["ye", "-f", "bad.yaml"]),
        ),
        (
            "chart values.yaml",
            plain(&[("ye/values.yaml", text)]),
            args(&["ye"]),
        ),
        (
            "Chart.yaml",
            plain(&[("ye/Chart.yaml", &format!("{CHART}{text}"))]),
            args(&["ye"]),
        ),
        (
            "fromYaml",
            plain(&[(
                "ye/templates/from.yaml",
                "from: {{ fromYaml .Values.s | toJson | quote }}\n",
            )]),
            args(&["ye", "--set-json", &format!("s={json}")]),
        ),
        (
            "template output",
            plain(&[("ye/templates/bad.yaml", text)]),
            args(&["ye"]),
        ),
    ]
}

#[test]
fn yaml_errors_read_as_helms() {
    let Some(bin) = common::helm_binary() else {
        return;
    };
    let mut tally = Tally::default();
    for (i, text) in BROKEN.iter().enumerate() {
        for (context, files, case) in contexts(text) {
            let name = format!("yaml-{i} {text:?} in {context}");
            tally.record(&name, compare(&bin, &files, &case));
        }
    }
    tally.summary("invalid YAML");
    let unexpected: Vec<&String> = tally
        .different
        .iter()
        .filter(|d| {
            !KNOWN.iter().any(|(i, context)| {
                d.starts_with(&format!("yaml-{i} ")) && d.contains(&format!(" in {context}:"))
            })
        })
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    // The known differences are still there: when one goes, take it off the list.
    assert_eq!(tally.different.len(), KNOWN.len(), "{:#?}", tally.different);
}
