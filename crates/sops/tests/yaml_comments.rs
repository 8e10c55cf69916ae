//! YAML comments through sops, differentially against the Go-built sops: sops keeps every
//! comment of a YAML file (encrypted, as `#ENC[...]` lines or, inside sequences, as encrypted
//! items) and `sops decrypt` prints them back where go-yaml v3 places them. They reach the
//! cluster when a `secretGenerator` file or a Secret value holds YAML, so tether's plaintext
//! must be byte for byte the same. Hand-written documents cover each place a comment can stand
//! (head, line and foot comments of mappings and sequences); a seeded generator writes many
//! more, with the comments left in the clear by encryption rules as well as encrypted.

use anyhow::{Context, Result};
use tether_sops::{Error, Format, Keys, Options};
use tether_testkit::sops::{AgeKey, Encrypt, age_keygen, sops_decrypt, sops_encrypt};

/// Encrypts `plain` with sops under the creation `rule` (a `.sops.yaml` rule's settings besides
/// the recipient), then asserts tether decrypts it to what sops prints.
fn assert_decrypts_as_sops(age: &AgeKey, plain: &str, rule: &str, what: &str) -> Result<()> {
    let with = Encrypt {
        config: Some(format!(
            "creation_rules:\n  - age: {}\n{rule}",
            age.recipient
        )),
        ..Encrypt::default()
    };
    let encrypted = sops_encrypt(plain.as_bytes(), "yaml", &with)
        .with_context(|| format!("{what}: sops refused\n{plain}"))?;
    let mut keys = Keys::new();
    keys.import_age(&age.identity)?;
    let decrypted = tether_sops::decrypt(
        &encrypted,
        Format::Yaml,
        Format::Yaml,
        &keys,
        Options::default(),
    );
    let expected = match sops_decrypt(&encrypted, "yaml", Some(&age.identity), None) {
        Ok(expected) => expected,
        // sops moves some comments where its own MAC no longer matches; so must tether.
        Err(refused) if refused.to_string().contains("MAC mismatch") => {
            let error = decrypted.err().with_context(|| {
                format!("{what}: sops finds a MAC mismatch, tether does not\n{plain}")
            })?;
            assert!(matches!(error, Error::Mac(_)), "{what}: {error}");
            return Ok(());
        }
        Err(refused) => return Err(refused),
    };
    let got = decrypted.with_context(|| {
        format!(
            "{what}: tether failed\n{plain}\nencrypted:\n{}",
            String::from_utf8_lossy(&encrypted)
        )
    })?;
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&expected),
        "{what}: tether's plaintext differs from sops'\ninput:\n{plain}\nencrypted:\n{}",
        String::from_utf8_lossy(&encrypted)
    );
    Ok(())
}

/// Creation rules under which comments are encrypted (the default) and under which some stay
/// in the clear and keep their inline place.
const RULES: [&str; 3] = [
    "",
    "    encrypted_regex: ^(data|stringData)$\n",
    "    unencrypted_comment_regex: clear\n",
];

const HAND_WRITTEN: &[(&str, &str)] = &[
    (
        "head, line and foot comments of a Secret",
        "# A Secret for the app.\n# Second line.\napiVersion: v1\nkind: Secret # the kind\nmetadata:\n  # head of name\n  name: app\n  namespace: default # line of namespace\n  # foot of metadata\n# head of stringData\nstringData:\n  password: hunter2 # line of password\n  # head of token\n  token: abc\n  # foot of stringData\n# foot of the document\n",
    ),
    (
        "comments in sequences",
        "list:\n  # head of the sequence\n  - one # line of one\n  # head of two\n  - two\n  # foot of the sequence\nafter: x\n",
    ),
    (
        "comments in a sequence of mappings",
        "items:\n  # head of the first item\n  - name: a # line of a\n    # head of value\n    value: 1\n  # head of the second item\n  - name: b\n    value: 2\n    # foot of the second item's mapping\nend: true\n",
    ),
    (
        "a comment after a key whose value is a block",
        "data: # about data\n  key: value\nlist: # about list\n  - a\n",
    ),
    (
        "comments separated by blank lines",
        "# document head\n\n# head of a\na: 1\n\n# between a and b\n\nb: 2\n\n# last\n",
    ),
    (
        "comments only in a clear section",
        "data:\n  # clear one\n  secret: s # clear line\nplain_unencrypted: v # clear too\n",
    ),
    (
        "several documents",
        "# first head\na: 1 # line\n# first foot\n---\n# second head\nb:\n  c: 2\n  # second foot\n",
    ),
    (
        "deep nesting with feet at every level",
        "a:\n  b:\n    c:\n      d: 1\n      # foot of c\n    # foot of b\n  # foot of a\n# foot of root\n",
    ),
    (
        "an empty mapping with comments",
        "# nothing\n{}\n# but comments\n",
    ),
];

#[test]
fn hand_written_comments_decrypt_exactly_as_sops_prints_them() -> Result<()> {
    let age = age_keygen()?;
    for (what, plain) in HAND_WRITTEN {
        for (r, rule) in RULES.iter().enumerate() {
            assert_decrypts_as_sops(&age, plain, rule, &format!("{what} (rules {r})"))?;
        }
    }
    Ok(())
}

/// A seeded generator (xorshift) of YAML text with comments in every place a line can take one.
struct Writer {
    state: u64,
    out: String,
}

impl Writer {
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.next().is_multiple_of(one_in)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn comment_text(&mut self) -> String {
        let words = [
            " note",
            "",
            " clear",
            " TODO: rotate",
            "  two spaces",
            " é ✓",
            " # hash",
            " a: b",
            " - dash",
            " {braces}",
            "ENC",
            " trailing ",
        ];
        let n = 1 + self.next() % 3;
        (0..n).map(|_| self.pick(&words)).collect()
    }

    fn own_line_comments(&mut self, indent: usize) {
        while self.chance(3) {
            if self.chance(6) {
                self.out.push('\n');
            }
            let text = self.comment_text();
            self.out
                .push_str(&format!("{}#{text}\n", " ".repeat(indent)));
        }
    }

    fn line_end(&mut self) {
        if self.chance(3) {
            let text = self.comment_text();
            self.out.push_str(&format!(" #{text}"));
        }
        self.out.push('\n');
    }

    fn scalar(&mut self) -> String {
        let n = self.next() % 1000;
        match self.next() % 6 {
            0 => n.to_string(),
            1 => self
                .pick(&["true", "false", "null", "1.5", "~"])
                .to_string(),
            2 => format!("'quoted {n}'"),
            3 => format!("\"double {n}\""),
            _ => format!("{}{n}", self.pick(&["value", "secret", "x", "ünï"])),
        }
    }

    fn key(&mut self, index: usize) -> String {
        let base = self.pick(&["data", "stringData", "name", "password", "port", "item"]);
        let suffix = self.pick(&["", "", "_unencrypted"]);
        format!("{base}{index}{suffix}")
    }

    fn map(&mut self, indent: usize, depth: u32) {
        let n = 1 + self.next() % 4;
        for i in 0..n as usize {
            self.own_line_comments(indent);
            let key = self.key(i);
            self.out.push_str(&format!("{}{key}:", " ".repeat(indent)));
            self.value(indent, depth);
        }
        self.own_line_comments(indent);
    }

    fn seq(&mut self, indent: usize, depth: u32) {
        let n = 1 + self.next() % 4;
        for _ in 0..n {
            self.own_line_comments(indent);
            self.out.push_str(&format!("{}-", " ".repeat(indent)));
            if depth < 3 && self.chance(3) {
                self.out.push('\n');
                self.map(indent + 2, depth + 1);
            } else {
                let value = self.scalar();
                self.out.push_str(&format!(" {value}"));
                self.line_end();
            }
        }
        self.own_line_comments(indent);
    }

    /// The value after `key:`.
    fn value(&mut self, indent: usize, depth: u32) {
        match self.next() % 5 {
            0 if depth < 3 => {
                self.line_end();
                self.map(indent + 2, depth + 1);
            }
            1 if depth < 3 => {
                self.line_end();
                let step = if self.chance(2) { 0 } else { 2 };
                self.seq(indent + step, depth + 1);
            }
            _ => {
                let value = self.scalar();
                self.out.push_str(&format!(" {value}"));
                self.line_end();
            }
        }
    }

    fn document(seed: u64) -> String {
        let mut writer = Writer {
            state: seed,
            out: String::new(),
        };
        writer.map(0, 0);
        while writer.chance(5) {
            writer.out.push_str("---\n");
            writer.map(0, 0);
        }
        writer.out
    }
}

#[test]
fn random_documents_with_comments_decrypt_exactly_as_sops_prints_them() -> Result<()> {
    let age = age_keygen()?;
    for case in 0..80u64 {
        let plain = Writer::document(
            0x5eed_c0de ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(1),
        );
        let rule = RULES[(case % RULES.len() as u64) as usize];
        assert_decrypts_as_sops(&age, &plain, rule, &format!("case {case}"))?;
    }
    Ok(())
}
