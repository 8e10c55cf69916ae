//! Setter markers: the line comment `# {"$imagepolicy": "<ns>:<name>[:tag|:name|:digest]"}` that
//! marks a scalar for update, read the way kyaml's `fieldmeta.FieldMeta.Read` reads it.
//!
//! kyaml strips every leading `#` from the comment and unmarshals the rest as a JSON object of
//! strings (so whitespace inside and around the object is free, but trailing text, a non-string
//! value or a second object makes it "not a marker"). The shorthand key is `$imagepolicy`; the long
//! form `{"$ref": "#/definitions/io.k8s.cli.setters.<setter>"}` names the same setter.

use std::collections::HashMap;

/// The shorthand key Flux registers with kyaml (`fieldmeta.SetShortHandRef("$imagepolicy")`).
pub const SETTER_SHORTHAND: &str = "$imagepolicy";

/// The token a file must contain to be read at all (Flux's `ScreeningLocalReader` screens files
/// for the quoted shorthand before parsing them).
pub const SCREENING_TOKEN: &str = "\"$imagepolicy\"";

/// kyaml's `DefinitionsPrefix + SetterDefinitionPrefix`, the `$ref` form of a setter.
const SETTER_REF_PREFIX: &str = "#/definitions/io.k8s.cli.setters.";

/// Returns the setter named by a comment's text (everything after the first `#`, or the whole
/// comment including `#`s), or `None` when the comment is not a setter marker.
pub fn setter_name(comment: &str) -> Option<String> {
    let body = comment.trim_start_matches('#');
    let fields: HashMap<String, String> = serde_json::from_str(body).ok()?;
    if let Some(name) = fields.get(SETTER_SHORTHAND).filter(|n| !n.is_empty()) {
        return Some(name.clone());
    }
    fields
        .get("$ref")
        .and_then(|r| r.strip_prefix(SETTER_REF_PREFIX))
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthand_forms() {
        let cases = [
            (
                r#"# {"$imagepolicy": "flux-system:podinfo"}"#,
                Some("flux-system:podinfo"),
            ),
            (r#"#{"$imagepolicy":"a:b:tag"}"#, Some("a:b:tag")),
            (
                r#"## {  "$imagepolicy" :  "a:b:name" }  "#,
                Some("a:b:name"),
            ),
            (
                r#"# {"$imagepolicy": "a:b:digest", "other": "x"}"#,
                Some("a:b:digest"),
            ),
            (
                r##"# {"$ref": "#/definitions/io.k8s.cli.setters.a:b"}"##,
                Some("a:b"),
            ),
            (r#"# {"$imagepolicy": ""}"#, None),
            (r#"# {"$imagepolicy": "a:b"} trailing"#, None),
            (r#"# {"$imagepolicy": "a:b", "n": 1}"#, None),
            (r#"# {"$ImagePolicy": "a:b"}"#, None),
            ("# just a comment", None),
            (r#"# {'$imagepolicy': 'a:b'}"#, None),
        ];
        for (comment, want) in cases {
            assert_eq!(setter_name(comment).as_deref(), want, "{comment}");
        }
    }
}
