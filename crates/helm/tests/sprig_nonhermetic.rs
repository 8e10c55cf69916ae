//! sprig's non-hermetic functions and Helm's newer ones against the Go-built `helm`:
//! deterministic ones (`derivePassword`, dates of fixed instants, `toDate`, durations,
//! `fromToml`, `toYamlPretty`, `mustToToml`, `decryptAES`) byte for byte; random ones by
//! their properties — AES ciphertexts cross between helm and tether both ways, certificates
//! tether generates verify with openssl against their CA and are accepted by helm's
//! `buildCustomCert`/`genSignedCert`, bcrypt hashes verify, random strings have their length
//! and alphabet.

mod common;

use std::path::Path;

use common::{Files, Tally, args, compare, run_helm, run_tether, write_tree};

fn tree(entries: &[(&str, &str)]) -> Files {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const CHART: &str = "apiVersion: v2\nname: fx\nversion: 0.1.0\n";

fn deterministic_chart() -> Files {
    tree(&[
        ("fx/Chart.yaml", CHART),
        (
            "fx/values.yaml",
            "counter: 1\nsite: example.com\nuser: \"Zoë\"\nlong: \"this is a long string that goes well past the eightieth column of the output, to see folding\"\nnested:\n  list: [1, 2.5, 1000000, \"yes\", {a: b}]\n  empty: {}\n  none: []\n  text: \"line one\\nline two\\n\"\n  million: 1e6\n  small: 0.00001\n",
        ),
        (
            "fx/templates/derive.yaml",
            "derive:\n{{- range $t := list \"maximum\" \"long\" \"medium\" \"short\" \"basic\" \"pin\" \"bogus\" }}\n  {{ $t }}: {{ derivePassword 1 $t \"secret\" $.Values.user $.Values.site | quote }}\n{{- end }}\n  counter: {{ derivePassword 42 \"long\" \"\" \"\" \"\" | quote }}\n",
        ),
        (
            "fx/templates/dates.yaml",
            concat!(
                "dates:\n",
                "{{- range $z := list \"UTC\" \"America/New_York\" \"Asia/Kolkata\" \"Europe/Paris\" \"Bogus/Zone\" \"\" }}\n",
                "  - {{ dateInZone \"2006-01-02T15:04:05.000Z07:00 MST Mon Jan _2 3:04:05PM -07 002\" 1700000000 $z | quote }}\n",
                "  - {{ htmlDateInZone 1700000000 $z | quote }}\n",
                "{{- end }}\n",
                "  - {{ date \"Monday, 02-Jan-06 15:04:05 MST\" 0 | quote }}\n",
                "  - {{ htmlDate 86400 | quote }}\n",
                "  - {{ date_in_zone \"2006.01.02 .999999 ,000\" 1234567890 \"Australia/Sydney\" | quote }}\n",
            ),
        ),
        (
            "fx/templates/parse.yaml",
            concat!(
                "parse:\n",
                "  - {{ toDate \"2006-01-02\" \"2017-12-31\" | quote }}\n",
                "  - {{ toDate \"2006-01-02T15:04:05Z07:00\" \"2020-02-29T23:59:59+05:30\" | quote }}\n",
                "  - {{ toDate \"2006-01-02 15:04:05.999999999 -0700 MST\" \"2021-06-01 12:00:00.5 +0000 UTC\" | quote }}\n",
                "  - {{ toDate \"Jan 2 2006 3:04PM\" \"feb 3 2019 4:05pm\" | quote }}\n",
                "  - {{ toDate \"2006-01-02\" \"not a date\" | quote }}\n",
                "  - {{ (toDate \"2006-01-02\" \"2017-12-31\").Unix }}\n",
                "  - {{ toDate \"2006-01-02\" \"2017-12-31\" | unixEpoch }}\n",
                "  - {{ toDate \"2006-01-02\" \"2017-12-31\" | dateModify \"-1.5h\" | quote }}\n",
                "  - {{ toDate \"2006-01-02\" \"2017-12-31\" | date_modify \"bogus\" | quote }}\n",
                "  - {{ toDate \"2006-01-02\" \"2017-12-31\" | mustDateModify \"90m\" | date \"2006-01-02 15:04\" }}\n",
                "  - {{ toDate \"2006-01-02\" \"2017-12-31\" | toJson }}\n",
                "  - {{ (toDate \"2006-01-02\" \"2024-02-29\").YearDay }} {{ (toDate \"2006-01-02\" \"2024-02-29\").Weekday }} {{ (toDate \"2006-01-02\" \"2024-02-29\").Month }}\n",
                "  - {{ mustToDate \"2006-01-02\" \"2017-12-31\" | date \"Jan 2, 2006\" }}\n",
            ),
        ),
        (
            "fx/templates/durations.yaml",
            concat!(
                "durations:\n",
                "{{- range $d := list \"0\" \"90\" \"-3600\" \"86400\" \"x\" }}\n",
                "  - {{ duration $d | quote }}\n",
                "{{- end }}\n",
                "  - {{ duration 90 | quote }}\n",
                "  - {{ duration (int64 3725) | quote }}\n",
                "{{- range $d := list \"1h2m3s\" \"-25h\" \"2160h\" \"9000h\" \"59s\" \"61s\" \"1.5ms\" \"bogus\" \"\" }}\n",
                "  - {{ durationRound $d | quote }}\n",
                "{{- end }}\n",
                "  - {{ durationRound (int64 90000000000) | quote }}\n",
                "{{- range $d := list \"1h30m\" \"2.5\" \" 45s \" \"-1.25h\" \"bogus\" \"\" \"1.5us\" \"3µs\" }}\n",
                "  - {{ durationSeconds $d }} {{ durationMilliseconds $d }} {{ durationMicroseconds $d }} {{ durationNanoseconds $d }} {{ durationMinutes $d }} {{ durationHours $d }} {{ durationDays $d }} {{ durationWeeks $d }}\n",
                "{{- end }}\n",
                "  - {{ durationSeconds 90 }} {{ durationSeconds 1.5 }} {{ durationMinutes (int64 120) }}\n",
                "  - {{ mustToDuration \"1h30m\" }} {{ mustToDuration 90 }} {{ mustToDuration \"0.25\" }}\n",
                "  - {{ durationRoundTo \"1h29m31s\" \"1m\" }} {{ durationTruncateTo \"1h29m31s\" \"1h\" }} {{ durationRoundTo \"-90s\" \"1m\" }}\n",
            ),
        ),
        (
            "fx/templates/toml.yaml",
            concat!(
                "{{- $t := fromToml \"title = \\\"x\\\"\\nn = 42\\nf = 1.5\\nok = true\\nlist = [1, 2, 3]\\n[owner]\\nname = \\\"Tom\\\"\\n[[items]]\\nid = 1\\n[[items]]\\nid = 2\\n\" }}\n",
                "toml:\n",
                "  title: {{ $t.title | quote }}\n",
                "  n: {{ $t.n }} {{ kindOf $t.n }} {{ typeOf $t.n }}\n",
                "  f: {{ $t.f }} {{ typeOf $t.f }}\n",
                "  json: {{ toJson $t | quote }}\n",
                "  back: {{ toToml $t | quote }}\n",
                "  must: {{ mustToToml .Values.nested | quote }}\n",
                "  bad: {{ (fromToml \"= nope\").Error | empty | not }}\n",
            ),
        ),
        (
            "fx/templates/pretty.yaml",
            concat!(
                "pretty: |\n",
                "  {{- toYamlPretty .Values | nindent 2 }}\n",
                "nested: |\n",
                "  {{- toYamlPretty .Values.nested.list | nindent 2 }}\n",
                "scalar: {{ toYamlPretty \"yes\" }}\n",
            ),
        ),
        (
            "fx/templates/floats.yaml",
            concat!(
                "floats:\n",
                "  - {{ addf 0.1 0.2 }} {{ add1f 1.5 }} {{ addf }} {{ subf 1 0.9 }} {{ mulf 1.1 3 }} {{ divf 1 3 }} {{ divf 2 3 }} {{ divf 10 4 2 }}\n",
                "  - {{ mulf 123456789.123 987654321.987 }} {{ addf 1e300 1e-300 }} {{ divf -1 3 }} {{ divf 1 -6 }} {{ subf \"2.5\" \"x\" }}\n",
                "  - {{ maxf 1 2.5 \"3\" }} {{ minf 1 -2.5 true }} {{ maxf 1 }} {{ add1f \"1.25\" }} {{ mulf 0.1 0.1 0.1 }} {{ mulf .Values.nested.small 3 }}\n",
                "  - {{ abbrevboth 5 10 \"abcdefghijklmno\" }} | {{ abbrevboth 0 10 \"abcdefghijklmno\" }} | {{ abbrevboth 12 10 \"abcdefghijklmno\" }} | {{ abbrevboth 1 5 \"abcdefghijklmno\" }} | {{ abbrevboth 6 8 \"abcdefghijklmnopqrstuvwxyz\" }}\n",
                "  - {{ typeIsLike \"string\" \"x\" }} {{ typeIsLike \"int\" 1 }} {{ typeIsLike \"map[string]interface {}\" .Values }} {{ typeIsLike \"[]interface {}\" (list) }}\n",
                "  - {{ mustRegexMatch \"^a.c$\" \"abc\" }} {{ mustRegexFind \"b+\" \"abbbc\" }} {{ mustRegexFindAll \"b\" \"abcb\" -1 }} {{ mustRegexReplaceAll \"b\" \"abc\" \"x\" }} {{ mustRegexSplit \"b\" \"abcbd\" -1 }}\n",
                "  - {{ mustFromJson \"{\\\"a\\\": [1, 2.5, null]}\" }} {{ mustFromJson \"[1]\" }} {{ mustFromJson \"3\" | kindOf }}\n",
            ),
        ),
        (
            "fx/templates/aes.yaml",
            "aes:\n  empty: {{ decryptAES \"k\" \"\" | quote }}\n  enc-empty: {{ encryptAES \"k\" \"\" | quote }}\n{{- with .Values.cipher }}\n  plain: {{ decryptAES $.Values.password . | quote }}\n{{- end }}\n",
        ),
    ])
}

fn deterministic_cases() -> Vec<Vec<String>> {
    vec![
        args(&["fx"]),
        args(&["fx", "--set", "user=,site=a"]),
        args(&["fx", "--set-string", "user=someone@example.com"]),
        args(&["fx", "--set", "nested.list={}"]),
        args(&[
            "fx",
            "--set-json",
            "nested={\"deep\":{\"x\":[{\"a\":[1,[2,3]]}],\"y\":null}}",
        ]),
        args(&["fx", "--set-string", "cipher=AAAA,password=k"]),
        args(&["fx", "--set-string", "cipher=!!!,password=k"]),
    ]
}

#[test]
fn deterministic_sprig_and_helm_functions_render_as_helm_renders_them() {
    let Some(bin) = common::helm_binary() else {
        return;
    };
    let files = deterministic_chart();
    // `TETHER_HELM_DUMP=dir` writes the chart out, to run both tools by hand.
    if let Some(dir) = std::env::var_os("TETHER_HELM_DUMP") {
        write_tree(Path::new(&dir), &files);
    }
    let mut tally = Tally::default();
    for (i, case) in deterministic_cases().iter().enumerate() {
        tally.record(
            &format!("nonhermetic-{i} {case:?}"),
            compare(&bin, &files, case),
        );
    }
    tally.summary("non-hermetic functions");
    assert!(tally.different.is_empty(), "{:#?}", tally.different);
}

/// Renders `template` (one file of the `fx` chart) with the string values `set` (written as
/// the chart's values file) by helm (`bin`) or tether.
fn render(bin: Option<&Path>, template: &str, set: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let values: serde_json::Map<String, serde_json::Value> = set
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
        .collect();
    let values = serde_json::Value::Object(values).to_string();
    write_tree(
        dir.path(),
        &tree(&[
            ("fx/Chart.yaml", CHART),
            ("fx/values.yaml", &values),
            ("fx/templates/t.yaml", template),
        ]),
    );
    let a = args(&["fx"]);
    let out = match bin {
        Some(b) => run_helm(b, dir.path(), &a),
        None => run_tether(dir.path(), &a),
    };
    out.unwrap_or_else(|e| panic!("render failed: {e}"))
}

/// The value of `key: "..."` in a rendered template (`toJson`-quoted text decoded).
fn field(output: &str, key: &str) -> String {
    let line = output
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in {output}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{key}: {e}: {line}"))
}

const PLAINTEXTS: &[&str] = &[
    "hello",
    "exactly16bytes!!",
    "",
    "ünïcödé and a longer text spanning several AES blocks, 0123456789",
];

#[test]
fn aes_ciphertexts_cross_between_helm_and_tether_both_ways() {
    let Some(bin) = common::helm_binary() else {
        return;
    };
    let passwords = [
        "pw",
        "",
        "a password longer than thirty-two bytes, cut to 32",
    ];
    let encrypt = "{{- range $i, $p := .Values.plain | splitList \"|\" }}\nc{{ $i }}: {{ encryptAES $.Values.password $p | toJson }}\n{{- end }}\n";
    let decrypt = "{{- range $i, $c := .Values.cipher | splitList \"|\" }}\np{{ $i }}: {{ decryptAES $.Values.password $c | toJson }}\n{{- end }}\n";
    let joined = PLAINTEXTS.join("|");
    for password in passwords {
        for (from, to) in [(Some(bin.as_path()), None), (None, Some(bin.as_path()))] {
            let enc = render(from, encrypt, &[("plain", &joined), ("password", password)]);
            let ciphers: Vec<String> = (0..PLAINTEXTS.len())
                .map(|i| field(&enc, &format!("c{i}")))
                .collect();
            // Empty plaintexts stay empty; the others are IV + padded blocks.
            for (c, p) in ciphers.iter().zip(PLAINTEXTS) {
                if p.is_empty() {
                    assert_eq!(c, "");
                } else {
                    assert_ne!(c, p);
                }
            }
            let dec = render(
                to,
                decrypt,
                &[("cipher", &ciphers.join("|")), ("password", password)],
            );
            for (i, p) in PLAINTEXTS.iter().enumerate() {
                assert_eq!(
                    field(&dec, &format!("p{i}")),
                    *p,
                    "password {password:?}, encrypted by {}",
                    if from.is_some() { "helm" } else { "tether" }
                );
            }
        }
    }
}

fn openssl(args: &[&str], dir: &Path) -> String {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const CERTS: &str = concat!(
    "{{- $ca := genCA \"tether-ca\" 30 }}\n",
    "{{- $leaf := genSignedCert \"leaf.example.com\" (list \"10.0.0.1\" \"::1\") (list \"leaf.example.com\" \"alt.example.com\") 7 $ca }}\n",
    "{{- $self := genSelfSignedCert \"self\" nil (list \"self.local\") 1 }}\n",
    "{{- $eckey := genPrivateKey \"ecdsa\" }}\n",
    "{{- $edkey := genPrivateKey \"ed25519\" }}\n",
    "{{- $ecca := genCAWithKey \"ec-ca\" 10 $eckey }}\n",
    "{{- $edleaf := genSignedCertWithKey \"ed-leaf\" nil nil 3 $ecca $edkey }}\n",
    "{{- $selfkeyed := genSelfSignedCertWithKey \"self-keyed\" (list \"127.0.0.1\") nil 2 $eckey }}\n",
    "{{- $custom := buildCustomCert ($leaf.Cert | b64enc) ($leaf.Key | b64enc) }}\n",
    "ca-cert: {{ $ca.Cert | toJson }}\n",
    "ca-key: {{ $ca.Key | toJson }}\n",
    "leaf-cert: {{ $leaf.Cert | toJson }}\n",
    "leaf-key: {{ $leaf.Key | toJson }}\n",
    "self-cert: {{ $self.Cert | toJson }}\n",
    "self-key: {{ $self.Key | toJson }}\n",
    "ec-key: {{ $eckey | toJson }}\n",
    "ed-key: {{ $edkey | toJson }}\n",
    "ecca-cert: {{ $ecca.Cert | toJson }}\n",
    "ecca-key: {{ $ecca.Key | toJson }}\n",
    "edleaf-cert: {{ $edleaf.Cert | toJson }}\n",
    "edleaf-key: {{ $edleaf.Key | toJson }}\n",
    "selfkeyed-cert: {{ $selfkeyed.Cert | toJson }}\n",
    "custom-same: {{ eq $custom.Cert $leaf.Cert | toJson }}\n",
    "rsa-key: {{ genPrivateKey \"rsa\" | toJson }}\n",
    "unknown-key: {{ genPrivateKey \"rot13\" | toJson }}\n",
);

#[test]
fn certificates_tether_generates_verify_with_openssl_and_helm_accepts_them() {
    let out = render(None, CERTS, &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for key in [
        "ca-cert",
        "ca-key",
        "leaf-cert",
        "leaf-key",
        "self-cert",
        "self-key",
        "ec-key",
        "ed-key",
        "ecca-cert",
        "ecca-key",
        "edleaf-cert",
        "edleaf-key",
        "selfkeyed-cert",
        "rsa-key",
    ] {
        std::fs::write(d.join(format!("{key}.pem")), field(&out, key)).expect("write pem");
    }
    assert_eq!(field(&out, "unknown-key"), "Unknown type rot13");
    assert_eq!(
        out.lines().find(|l| l.starts_with("custom-same")),
        Some("custom-same: true")
    );
    // Key formats as sprig writes them.
    assert!(field(&out, "rsa-key").starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(field(&out, "ec-key").starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
    assert!(field(&out, "ed-key").starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(openssl(&["rsa", "-in", "rsa-key.pem", "-noout", "-text"], d).contains("4096 bit"));
    assert!(openssl(&["pkey", "-in", "ec-key.pem", "-noout", "-text"], d).contains("P-256"));
    assert!(openssl(&["pkey", "-in", "ed-key.pem", "-noout", "-text"], d).contains("ED25519"));

    // Chains verify, with the names and usages sprig gives them.
    for (ca, leaf) in [
        ("ca-cert.pem", "leaf-cert.pem"),
        ("ca-cert.pem", "ca-cert.pem"),
        ("self-cert.pem", "self-cert.pem"),
        ("ecca-cert.pem", "edleaf-cert.pem"),
        ("selfkeyed-cert.pem", "selfkeyed-cert.pem"),
    ] {
        let v = openssl(&["verify", "-CAfile", ca, "-purpose", "sslserver", leaf], d);
        assert!(v.trim_end().ends_with(": OK"), "{leaf} against {ca}: {v}");
    }
    let leaf = openssl(&["x509", "-in", "leaf-cert.pem", "-noout", "-text"], d);
    for want in [
        "Subject: CN = leaf.example.com",
        "Issuer: CN = tether-ca",
        "DNS:leaf.example.com, DNS:alt.example.com, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1",
        "TLS Web Server Authentication, TLS Web Client Authentication",
        "Digital Signature, Key Encipherment",
        "CA:FALSE",
        "sha256WithRSAEncryption",
        "Public-Key: (2048 bit)",
    ] {
        assert!(leaf.contains(want), "leaf lacks {want:?}:\n{leaf}");
    }
    let ca = openssl(&["x509", "-in", "ca-cert.pem", "-noout", "-text"], d);
    assert!(
        ca.contains("CA:TRUE") && ca.contains("Certificate Sign"),
        "{ca}"
    );
    // Seven days of validity from now.
    let end = openssl(
        &[
            "x509",
            "-in",
            "leaf-cert.pem",
            "-noout",
            "-checkend",
            "518400",
        ],
        d,
    );
    assert!(end.contains("will not expire"), "{end}");
    let past = std::process::Command::new("openssl")
        .args([
            "x509",
            "-in",
            "leaf-cert.pem",
            "-noout",
            "-checkend",
            "691200",
        ])
        .current_dir(d)
        .status()
        .expect("openssl");
    assert!(!past.success(), "the leaf outlives seven days");
    // Each certificate carries its own key's public half.
    for (cert, key) in [
        ("leaf-cert.pem", "leaf-key.pem"),
        ("ecca-cert.pem", "ecca-key.pem"),
        ("edleaf-cert.pem", "edleaf-key.pem"),
        ("ca-cert.pem", "ca-key.pem"),
    ] {
        let a = openssl(&["x509", "-in", cert, "-noout", "-pubkey"], d);
        let b = openssl(&["pkey", "-in", key, "-pubout"], d);
        assert_eq!(a, b, "{cert} and {key}");
    }

    // helm reads them: buildCustomCert accepts tether's pair, genSignedCert signs with
    // tether's CA, and the result verifies against it.
    let Some(bin) = common::helm_binary() else {
        return;
    };
    let helm_tpl = concat!(
        "{{- $ca := buildCustomCert (.Values.caCert | b64enc) (.Values.caKey | b64enc) }}\n",
        "{{- $leaf := genSignedCert \"by-helm\" nil (list \"by.helm\") 5 $ca }}\n",
        "{{- $ecca := buildCustomCert (.Values.ecCert | b64enc) (.Values.ecKey | b64enc) }}\n",
        "{{- $ecleaf := genSignedCertWithKey \"by-helm-ec\" nil nil 5 $ecca .Values.edKey }}\n",
        "helm-leaf: {{ $leaf.Cert | toJson }}\n",
        "helm-ecleaf: {{ $ecleaf.Cert | toJson }}\n",
    );
    let read = |n: &str| std::fs::read_to_string(d.join(n)).expect("read pem");
    let helm_out = render(
        Some(&bin),
        helm_tpl,
        &[
            ("caCert", &read("ca-cert.pem")),
            ("caKey", &read("ca-key.pem")),
            ("ecCert", &read("ecca-cert.pem")),
            ("ecKey", &read("ecca-key.pem")),
            ("edKey", &read("ed-key.pem")),
        ],
    );
    std::fs::write(d.join("helm-leaf.pem"), field(&helm_out, "helm-leaf")).expect("write");
    std::fs::write(d.join("helm-ecleaf.pem"), field(&helm_out, "helm-ecleaf")).expect("write");
    for (ca, leaf) in [
        ("ca-cert.pem", "helm-leaf.pem"),
        ("ecca-cert.pem", "helm-ecleaf.pem"),
    ] {
        let v = openssl(&["verify", "-CAfile", ca, leaf], d);
        assert!(v.trim_end().ends_with(": OK"), "{leaf}: {v}");
    }

    // And tether signs with a CA helm made.
    let helm_ca = render(
        Some(&bin),
        "{{- $ca := genCA \"helm-ca\" 3 }}\ncert: {{ $ca.Cert | toJson }}\nkey: {{ $ca.Key | toJson }}\n",
        &[],
    );
    let ours = render(
        None,
        "{{- $ca := buildCustomCert (.Values.c | b64enc) (.Values.k | b64enc) }}\nleaf: {{ (genSignedCert \"t\" nil nil 1 $ca).Cert | toJson }}\n",
        &[
            ("c", &field(&helm_ca, "cert")),
            ("k", &field(&helm_ca, "key")),
        ],
    );
    std::fs::write(d.join("helm-ca.pem"), field(&helm_ca, "cert")).expect("write");
    std::fs::write(d.join("t-leaf.pem"), field(&ours, "leaf")).expect("write");
    let v = openssl(&["verify", "-CAfile", "helm-ca.pem", "t-leaf.pem"], d);
    assert!(v.trim_end().ends_with(": OK"), "{v}");
}

#[test]
fn certificate_errors_read_as_sprigs() {
    let Some(bin) = common::helm_binary() else {
        return;
    };
    let files = tree(&[
        ("fx/Chart.yaml", CHART),
        (
            "fx/templates/t.yaml",
            concat!(
                "{{- if eq .Values.case \"badb64\" }}{{ buildCustomCert \"!!\" \"\" }}{{ end }}\n",
                "{{- if eq .Values.case \"nopem\" }}{{ buildCustomCert (b64enc \"x\") (b64enc \"y\") }}{{ end }}\n",
                "{{- if eq .Values.case \"keytype\" }}{{ genCAWithKey \"x\" 1 \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\" }}{{ end }}\n",
                "{{- if eq .Values.case \"nokey\" }}{{ genCAWithKey \"x\" 1 \"\" }}{{ end }}\n",
                "{{- if eq .Values.case \"badip\" }}{{ genSelfSignedCert \"x\" (list \"300.1.1.1\") nil 1 }}{{ end }}\n",
                "{{- if eq .Values.case \"nonstring\" }}{{ genSelfSignedCert \"x\" (list 1) nil 1 }}{{ end }}\n",
                "{{- if eq .Values.case \"short\" }}{{ decryptAES \"k\" \"AAAA\" }}{{ end }}\n",
                "ok: true\n",
            ),
        ),
    ]);
    let mut tally = Tally::default();
    for case in [
        "badb64",
        "nopem",
        "keytype",
        "nokey",
        "badip",
        "nonstring",
        "short",
    ] {
        tally.record(
            case,
            compare(
                &bin,
                &files,
                &args(&["fx", "--set", &format!("case={case}")]),
            ),
        );
    }
    tally.summary("certificate errors");
    assert!(tally.different.is_empty(), "{:#?}", tally.different);
}

#[test]
fn bcrypt_random_and_uuid_functions_have_their_shape() {
    let out = render(
        None,
        concat!(
            "bcrypt: {{ bcrypt \"s3cret\" | toJson }}\n",
            "htpasswd: {{ htpasswd \"admin\" \"s3cret\" | toJson }}\n",
            "baduser: {{ htpasswd \"a:b\" \"x\" | toJson }}\n",
            "alpha: {{ randAlpha 50 | toJson }}\n",
            "numeric: {{ randNumeric 50 | toJson }}\n",
            "alnum: {{ randAlphaNum 50 | toJson }}\n",
            "ascii: {{ randAscii 50 | toJson }}\n",
            "bytes: {{ randBytes 24 | toJson }}\n",
            "uuid: {{ uuidv4 | toJson }}\n",
            "uuid2: {{ uuidv4 | toJson }}\n",
            "zero: {{ randAlpha 0 | toJson }}\n",
        ),
        &[],
    );
    let hash = field(&out, "bcrypt");
    assert!(hash.starts_with("$2a$10$"), "{hash}");
    assert!(bcrypt::verify("s3cret", &hash).unwrap_or(false));
    let line = field(&out, "htpasswd");
    let (user, h) = line.split_once(':').unwrap_or_default();
    assert_eq!(user, "admin");
    assert!(bcrypt::verify("s3cret", h).unwrap_or(false));
    assert_eq!(field(&out, "baduser"), "invalid username: a:b");
    let check = |k: &str, ok: fn(char) -> bool| {
        let v = field(&out, k);
        assert_eq!(v.chars().count(), 50, "{k}: {v}");
        assert!(v.chars().all(ok), "{k}: {v}");
    };
    check("alpha", |c| c.is_ascii_alphabetic());
    check("numeric", |c| c.is_ascii_digit());
    check("alnum", |c| c.is_ascii_alphanumeric());
    check("ascii", |c| (' '..='~').contains(&c));
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(field(&out, "bytes"))
        .unwrap_or_default();
    assert_eq!(bytes.len(), 24);
    let uuid = field(&out, "uuid");
    let shape: Vec<usize> = uuid.split('-').map(str::len).collect();
    assert_eq!(shape, [8, 4, 4, 4, 12], "{uuid}");
    assert_eq!(&uuid[14..15], "4");
    assert!("89ab".contains(&uuid[19..20]), "{uuid}");
    assert_ne!(uuid, field(&out, "uuid2"));
    assert_eq!(field(&out, "zero"), "");

    // helm's bcrypt hashes verify with the same check.
    let Some(bin) = common::helm_binary() else {
        return;
    };
    let theirs = render(
        Some(&bin),
        "bcrypt: {{ bcrypt \"s3cret\" | toJson }}\n",
        &[],
    );
    assert!(bcrypt::verify("s3cret", &field(&theirs, "bcrypt")).unwrap_or(false));
}

#[test]
fn clock_functions_agree_with_the_clock() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let out = render(
        None,
        concat!(
            "epoch: {{ now | unixEpoch | toJson }}\n",
            "ago: {{ ago (now | dateModify \"-90s\") | toJson }}\n",
            "round: {{ durationRound (now | dateModify \"-50h\") | toJson }}\n",
            "year: {{ now | date \"2006\" | toJson }}\n",
            "agoint: {{ ago 0 | toJson }}\n",
        ),
        &[],
    );
    let epoch: u64 = field(&out, "epoch").parse().unwrap_or(0);
    assert!(
        epoch >= before && epoch <= before + 60,
        "{epoch} vs {before}"
    );
    assert_eq!(field(&out, "ago"), "1m30s");
    assert_eq!(field(&out, "round"), "2d");
    assert!(field(&out, "agoint").ends_with('s'));
}
