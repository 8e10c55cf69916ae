//! The decryption walk over a document, as sops' `Tree.Decrypt`: values are visited in
//! document order with their path (keys joined by `:` plus a trailing `:` is the additional
//! data), the encryption rules decide which are encrypted, comments met on the way feed the
//! comment rules, and the MAC is the SHA-512 of every value's bytes (or only the encrypted
//! ones) in upper-case hex.

use crate::cipher;
use crate::error::Error;
use crate::metadata::{Metadata, Rules};
use crate::tree::{Key, Node, mac_bytes};
use sha2::{Digest, Sha512};

/// The bytes a MAC over only the encrypted values starts with (`sha256("sops")`).
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// Decrypts every branch in place and returns the MAC of the plaintext, in upper-case hex.
pub fn decrypt_branches(
    branches: &mut [Node],
    metadata: &Metadata,
    key: &[u8; 32],
) -> Result<String, Error> {
    let mut walker = Walker {
        rules: &metadata.rules,
        mac_only_encrypted: metadata.mac_only_encrypted,
        key,
        hash: Sha512::new(),
        path: Vec::new(),
        comments: Vec::new(),
    };
    if metadata.mac_only_encrypted {
        walker.hash.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    for branch in branches.iter_mut() {
        walker.value(branch)?;
    }
    Ok(upper_hex(&walker.hash.finalize()))
}

/// Checks the MAC stored in the metadata against the one computed over the plaintext.
pub fn verify_mac(metadata: &Metadata, key: &[u8; 32], computed: &str) -> Result<(), Error> {
    if metadata.mac.is_empty() {
        return Err(Error::Mac("the document has no MAC"));
    }
    let stored = match cipher::decrypt(&metadata.mac, key, &metadata.last_modified) {
        Ok(Node::Str(mac)) => mac,
        _ => return Err(Error::Mac("the stored MAC cannot be decrypted")),
    };
    if stored != computed {
        return Err(Error::Mac("the MAC does not match the document's values"));
    }
    Ok(())
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

struct Walker<'a> {
    rules: &'a Rules,
    mac_only_encrypted: bool,
    key: &'a [u8; 32],
    hash: Sha512,
    path: Vec<String>,
    comments: Vec<Vec<String>>,
}

impl Walker<'_> {
    fn value(&mut self, node: &mut Node) -> Result<(), Error> {
        match node {
            Node::Map(items) => {
                self.comments.push(Vec::new());
                for item in items.iter_mut() {
                    match &mut item.key {
                        Key::Comment(comment) => {
                            self.top_comments().push(comment.text.clone());
                            let mut node = Node::Comment(comment.clone());
                            self.leaf(&mut node)?;
                            // A comment that decrypts to a string stays a comment with that
                            // text, as sops keeps it.
                            match node {
                                Node::Comment(decrypted) => *comment = decrypted,
                                Node::Str(text) => comment.text = text,
                                _ => {}
                            }
                        }
                        Key::Name(name) => {
                            self.path.push(name.clone());
                            let result = self.value(&mut item.value);
                            self.path.pop();
                            result?;
                            self.top_comments().clear();
                        }
                    }
                }
                self.comments.pop();
                Ok(())
            }
            Node::List(list) => {
                self.comments.push(Vec::new());
                for element in list.iter_mut() {
                    let is_comment = if let Node::Comment(comment) = element {
                        let text = comment.text.clone();
                        self.top_comments().push(text);
                        true
                    } else {
                        false
                    };
                    self.value(element)?;
                    if !is_comment {
                        self.top_comments().clear();
                    }
                }
                self.comments.pop();
                Ok(())
            }
            Node::Null => Ok(()),
            _ => self.leaf(node),
        }
    }

    fn top_comments(&mut self) -> &mut Vec<String> {
        if self.comments.is_empty() {
            self.comments.push(Vec::new());
        }
        let last = self.comments.len() - 1;
        &mut self.comments[last]
    }

    fn leaf(&mut self, node: &mut Node) -> Result<(), Error> {
        let is_comment = matches!(node, Node::Comment(_));
        let encrypted = self.should_be_encrypted(is_comment);
        if encrypted {
            let additional = format!("{}:", self.path.join(":"));
            match node {
                Node::Comment(comment) => {
                    // A comment that does not decrypt was written before sops encrypted them;
                    // one that does comes back as sops' cipher makes it (not inline; an empty
                    // one as an empty string, which a sequence then holds as an item).
                    match cipher::decrypt(&comment.text, self.key, &additional) {
                        Ok(Node::Comment(plain)) => *comment = plain,
                        Ok(other) => *node = other,
                        Err(_) => {}
                    }
                }
                Node::Str(text) => {
                    *node =
                        cipher::decrypt(text, self.key, &additional).map_err(|e| Error::Value {
                            path: self.path.join(":"),
                            reason: e.describe(),
                        })?;
                }
                _ => {
                    return Err(Error::Value {
                        path: self.path.join(":"),
                        reason: "expected an encrypted string",
                    });
                }
            }
        }
        if (!self.mac_only_encrypted || encrypted)
            && !is_comment
            && let Some(bytes) = mac_bytes(node)
        {
            self.hash.update(bytes);
        }
        Ok(())
    }

    /// sops' `shouldBeEncrypted`: each rule, in this order, may override the previous.
    fn should_be_encrypted(&self, is_comment: bool) -> bool {
        let rules = self.rules;
        let mut encrypted = true;
        if let Some(suffix) = &rules.unencrypted_suffix
            && self.path.iter().any(|p| p.ends_with(suffix.as_str()))
        {
            encrypted = false;
        }
        if let Some(suffix) = &rules.encrypted_suffix {
            encrypted = self.path.iter().any(|p| p.ends_with(suffix.as_str()));
        }
        if let Some(regex) = &rules.unencrypted_regex
            && self.path.iter().any(|p| regex.is_match(p))
        {
            encrypted = false;
        }
        if let Some(regex) = &rules.encrypted_regex {
            encrypted = self.path.iter().any(|p| regex.is_match(p));
        }
        if let Some(regex) = &rules.unencrypted_comment_regex
            && self.comments.iter().flatten().any(|c| regex.is_match(c))
        {
            encrypted = false;
        }
        if let Some(regex) = &rules.encrypted_comment_regex {
            let last_group = self.comments.len().saturating_sub(1);
            let last_line = self.comments.last().map_or(0, Vec::len).saturating_sub(1);
            encrypted = self.comments.iter().enumerate().any(|(i, group)| {
                group.iter().enumerate().any(|(j, c)| {
                    // The comment line that matches is itself left in the clear.
                    let itself = is_comment && i == last_group && j == last_line;
                    !itself && regex.is_match(c)
                })
            });
        }
        encrypted
    }
}
