//! sprig's `urlParse` and `urlJoin` against the Go-built `helm` (Go's `net/url`): every map
//! key of many URLs (userinfo, IPv6 hosts with zones, percent-encoding, opaque URLs, empty
//! parts), `urlJoin` of parsed and hand-built dictionaries, and the errors of URLs Go refuses.

mod common;

use std::path::Path;

use common::{Files, Tally, args, compare, write_tree};

const CHART: &str = "apiVersion: v2\nname: ux\nversion: 0.1.0\n";

/// URLs Go parses; each is printed key by key and joined back.
const GOOD: &[&str] = &[
    "https://user:p%40ss@example.com:8443/a/b%2Fc?x=1&y=%20#frag%20x",
    "http://[fe80::1%25en0]:8080/p",
    "http://[::1]/",
    "http://[::ffff:1.2.3.4]:1/",
    "http://[::]/",
    "http://[1::]/",
    "http://[1:2:3:4:5:6:7:8]/",
    "http://[::1.2.3.4%25eth0]/",
    "http://[ABCD::ef]/",
    "HTTP://EXAMPLE.com/",
    "mailto:joe@example.com",
    "x:opaque/with?query#f!(*)'",
    "file:///etc/hosts",
    "//host.only/path",
    "/just/a/path?q",
    "relative/path",
    "./a:b",
    "",
    "*",
    "http://u@h",
    "http://:@h/",
    "http://u:@h/",
    "http://h/?",
    "http://h#",
    "http://h?#",
    "http://h/a b",
    "http://h/caf%C3%A9/caf\u{e9}",
    "http://h/%2e%2E/x%3fy",
    "ftp://a:b:80/",
    "postgres://u:p@h1:5432,h2:5433/db",
    "http://h:/",
    "http://user%20name@h/",
    "http://h/p#a%2Fb",
    "http://h/p?q=a+b#c d",
    "http://h/p#%41",
    "http://ex%C3%A9mple.com/",
    "http://h/?a=%zz",
    "s3:///bucket",
    "http:/rooted",
    "a+b-c.d://x",
];

/// URLs Go refuses, one render each (the error stops the render).
const BAD: &[&str] = &[
    "http://h/%zz",
    "http://a:b:80/",
    "https://a:80:/",
    "http://[fe80::1%25en%2F0]/",
    "http://h/%4",
    ":nope",
    "1a:b",
    "http://[::1",
    "http://h:port/",
    "http://[::1]x/",
    "http://[1.2.3.4]/",
    "http://a[::1]/",
    "http://[zz]/",
    "http://[fe80::g]/",
    "http://[1:2:3:4:5:6:7:8:9]/",
    "http://[1::2::3]/",
    "http://[12345::]/",
    "http://[1:2:3:4:5:6:7:8::]/",
    "http://[::1.2.3]/",
    "http://[::1.2.3.04]/",
    "http://[::1.2.3.256]/",
    "http://[::1..2.3]/",
    "http://[1:2:3:4:5:6:7:1.2.3.4]/",
    "http://[1.2.3.4.5]/",
    "http://[1.2.3]/",
    "http://[1.2.3.x]/",
    "http://[1:]/",
    "http://[1:2]/",
    "http://[1::2x]/",
    "http://[1::2%25]/",
    "http://[%25en0]/",
    "http://[fe80::1%25]/",
    "http://[fe80::1%25en%200]/",
    "http://u r@h/",
    "http://h%20x/",
    "http://h%41/",
    "http://h/#%zz",
    "http://h/\u{7f}",
];

fn chart() -> Files {
    let mut values = String::from("urls:\n");
    for url in GOOD {
        values.push_str(&format!(
            "  - {}\n",
            serde_json::to_string(url).expect("json")
        ));
    }
    values.push_str("url: \"http://h/\"\njoin: {}\n");
    [
        ("ux/Chart.yaml", CHART.to_owned()),
        ("ux/values.yaml", values),
        (
            "ux/templates/parse.yaml",
            concat!(
                "parsed:\n",
                "{{- range $u := .Values.urls }}\n",
                "{{- $d := urlParse $u }}\n",
                "  - in: {{ $u | quote }}\n",
                "    dict: {{ toJson $d | quote }}\n",
                "    kind: {{ typeOf $d }} {{ len $d }}\n",
                "    join: {{ urlJoin $d | quote }}\n",
                "{{- end }}\n",
            )
            .to_owned(),
        ),
        (
            "ux/templates/one.yaml",
            "one: {{ urlParse .Values.url | toJson | quote }}\njoined: {{ urlJoin .Values.join | quote }}\n".to_owned(),
        ),
        (
            "ux/templates/join.yaml",
            concat!(
                "joined:\n",
                "  - {{ urlJoin (dict \"scheme\" \"https\" \"host\" \"example.com:443\" \"path\" \"/a b/c?d\" \"query\" \"x=1 2\" \"fragment\" \"f g#h\") | quote }}\n",
                "  - {{ urlJoin (dict \"host\" \"h\" \"path\" \"rel\") | quote }}\n",
                "  - {{ urlJoin (dict \"path\" \"a:b/c\") | quote }}\n",
                "  - {{ urlJoin (dict \"scheme\" \"mailto\" \"opaque\" \"x@y\" \"host\" \"ignored\" \"path\" \"/ignored\") | quote }}\n",
                "  - {{ urlJoin (dict \"scheme\" \"http\" \"host\" \"fe80::1%en0\" \"userinfo\" \"a%40b:c%20d\") | quote }}\n",
                "  - {{ urlJoin (dict \"scheme\" \"http\" \"host\" \"h\" \"userinfo\" \"justuser\") | quote }}\n",
                "  - {{ urlJoin (dict \"scheme\" \"file\" \"path\" \"/etc/hosts\") | quote }}\n",
                "  - {{ urlJoin (dict) | quote }}\n",
                "  - {{ urlJoin (dict \"query\" \"\" \"fragment\" \"!*'();:@&=+$,/?#[]\") | quote }}\n",
                "  - {{ urlJoin (dict \"scheme\" \"http\" \"host\" \"<h>\" \"path\" \"/%\") | quote }}\n",
            )
            .to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn cases() -> Vec<Vec<String>> {
    let mut cases = vec![args(&["ux"])];
    for url in BAD {
        let json = serde_json::to_string(url).expect("json");
        cases.push(args(&["ux", "--set-json", &format!("url={json}")]));
    }
    // urlJoin's own errors: a non-string field, userinfo Go cannot parse back.
    for join in [
        r#"{"scheme":"http","host":1}"#,
        r#"{"path":["a"]}"#,
        r#"{"userinfo":"a b"}"#,
        r#"{"userinfo":"a/b"}"#,
        r#"{"scheme":true}"#,
    ] {
        cases.push(args(&["ux", "--set-json", &format!("join={join}")]));
    }
    cases
}

#[test]
fn url_parse_and_join_render_as_helm_renders_them() {
    let Some(bin) = common::helm_binary() else {
        return;
    };
    let files = chart();
    // `TETHER_HELM_DUMP=dir` writes the chart out, to run both tools by hand.
    if let Some(dir) = std::env::var_os("TETHER_HELM_DUMP") {
        write_tree(Path::new(&dir), &files);
    }
    let mut tally = Tally::default();
    for (i, case) in cases().iter().enumerate() {
        let verdict = compare(&bin, &files, case);
        // The first case renders every good URL: it must render, not fail alike.
        if i == 0 {
            assert!(
                matches!(verdict, common::Verdict::Same),
                "good URLs: {verdict:?}"
            );
        }
        tally.record(&format!("url-{i} {case:?}"), verdict);
    }
    tally.summary("urlParse/urlJoin");
    assert!(tally.different.is_empty(), "{:#?}", tally.different);
}
