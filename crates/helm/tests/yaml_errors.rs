//! Invalid YAML against the Go-built `helm`: the same broken texts as a user values file
//! (`-f`), the chart's `values.yaml`, `Chart.yaml`, a `fromYaml` argument (whose error is
//! the map's `Error`) and a template's rendered output. Both must fail (or, for `fromYaml`,
//! render the error), and the messages are compared: go-yaml's `yaml: line N: ...` wording.

mod common;

use common::{Files, Tally, args, compare};

const CHART: &str = "apiVersion: v2\nname: ye\nversion: 0.1.0\n";

/// YAML texts go-yaml refuses or reads in its own way: syntax and structure errors, tabs where
/// libyaml refuses them, explicit tags of another type, text after the first document (which
/// go-yaml never reads), and values files split into documents as Helm splits them.
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
    "a: 1\n---\nb: [\n",
    "{a: 1} @\n",
    "{a: 1} \"unclosed\n",
    "a:\tb\n",
    "- \ta\n",
    "a:\n\t- b\n",
    "a: !!int \"1\"\n",
    "a: !!float 1\n",
    "a: !!null x\n",
    "a: !!int 1.5\n",
    "a: !!bool 1\n",
    "a: !!int 2001-12-14\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!binary aGVsbG8\n",
    "a: !!float .inf\n",
    "[1, 2] x\n",
    "x\n---\n[\n",
    "a:\n  b: 1\n\tc: 2\n",
    "\"x\"\n@\n",
    "{a: 1}\n# c\n}\n",
    "? a\n:\tb\n",
    "a: |\n\tx\n",
    "a: >\n  x\n\t\n  y\n",
    "a: b # c\n\t\n",
    "a:\n  - b\n  \t- c\n",
    "a: 1\n \t# c\n",
    "--- a: 1\n",
    "a: 1\n---\n---\nb: 2\n",
    "a: |\n  x",
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
    assert!(tally.different.is_empty(), "{:#?}", tally.different);
}
