//! `values.schema.json` validation against the Go-built `helm template` (Helm v4, which
//! validates with santhosh-tekuri/jsonschema v6): hand-written schemas for each keyword,
//! drafts 4 to 2020-12, `$ref`s, subcharts and aliases, number typing (YAML floats, `--set`
//! integers), `--skip-schema-validation`, and malformed schemas; then a seeded generator of
//! random schemas and values. Every case must print the same bytes or fail with the same
//! message; where Helm lists several sibling errors, Go's random map order may list them
//! differently, and the harness then compares them order-insensitively.

mod common;

use common::{Files, Tally, Verdict, args, compare};

const TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\ndata:\n  values: |\n    {{- toYaml .Values | nindent 4 }}\n";

fn chart(name: &str, schema: Option<&str>, values: &str, extra: &str) -> Files {
    let mut f = Files::new();
    f.insert(
        format!("{name}/Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n{extra}"),
    );
    f.insert(format!("{name}/values.yaml"), values.to_owned());
    if let Some(s) = schema {
        f.insert(format!("{name}/values.schema.json"), s.to_owned());
    }
    f.insert(format!("{name}/templates/cm.yaml"), TEMPLATE.to_owned());
    f
}

/// One case: a chart `demo` with `schema` and `values`, helm's extra arguments, and whether
/// helm fails on it.
struct Case {
    name: &'static str,
    schema: &'static str,
    values: &'static str,
    args: &'static [&'static str],
    fails: bool,
}

const fn case(
    name: &'static str,
    schema: &'static str,
    values: &'static str,
    args: &'static [&'static str],
    fails: bool,
) -> Case {
    Case {
        name,
        schema,
        values,
        args,
        fails,
    }
}

const CASES: &[Case] = &[
    case(
        "type string for integer",
        r#"{"properties": {"replicaCount": {"type": "integer"}}}"#,
        "replicaCount: one\n",
        &[],
        true,
    ),
    case(
        "type integer from a YAML float",
        r#"{"properties": {"replicaCount": {"type": "integer"}}}"#,
        "replicaCount: 3\n",
        &[],
        false,
    ),
    case(
        "YAML 1.0 is an integer",
        r#"{"properties": {"x": {"type": "integer"}}}"#,
        "x: 1.0\n",
        &[],
        false,
    ),
    case(
        "a fraction is not an integer",
        r#"{"properties": {"x": {"type": "integer"}}}"#,
        "x: 1.5\n",
        &[],
        true,
    ),
    case(
        "--set string for a number",
        r#"{"properties": {"x": {"type": ["number", "null"]}}}"#,
        "x: 1\n",
        &["--set", "x=abc"],
        true,
    ),
    case(
        "--set int64 passes integer",
        r#"{"properties": {"x": {"type": "integer", "const": 7.0}}}"#,
        "x: 1\n",
        &["--set", "x=7"],
        false,
    ),
    case(
        "several types wanted",
        r#"{"properties": {"x": {"type": ["object", "string", "boolean", "null", "array"]}}}"#,
        "x: 2\n",
        &[],
        true,
    ),
    case(
        "required missing",
        r#"{"required": ["image"], "properties": {"image": {"type": "object"}}}"#,
        "name: x\n",
        &[],
        true,
    ),
    case(
        "required, several missing",
        r#"{"type": "object", "properties": {"image": {"required": ["repository", "tag", "pullPolicy"]}}}"#,
        "image:\n  tag: v1\n",
        &[],
        true,
    ),
    case(
        "null user value deletes the default",
        r#"{"required": ["port"]}"#,
        "port: 80\n",
        &["--set", "port=null"],
        true,
    ),
    case(
        "null accepted by type null",
        r#"{"properties": {"a": {"type": "object", "properties": {"b": {"type": "null"}}}}}"#,
        "a:\n  b: null\n",
        &[],
        false,
    ),
    case(
        "enum of strings",
        r#"{"properties": {"pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]}}}"#,
        "pullPolicy: Sometimes\n",
        &[],
        true,
    ),
    case(
        "enum of numbers keeps the schema's text",
        r#"{"properties": {"num": {"enum": [1.0, 2, 3e2, null, true]}}}"#,
        "num: 4\n",
        &[],
        true,
    ),
    case(
        "enum with an object",
        r#"{"properties": {"num": {"enum": [{"a": 1}, "x"]}}}"#,
        "num: zz\n",
        &[],
        true,
    ),
    case(
        "enum matches 300 as 3e2",
        r#"{"properties": {"num": {"enum": [1.0, 3e2]}}}"#,
        "num: 300\n",
        &[],
        false,
    ),
    case(
        "const string",
        r#"{"properties": {"mode": {"const": "on'off"}}}"#,
        "mode: \"off\"\n",
        &[],
        true,
    ),
    case(
        "const object",
        r#"{"properties": {"o": {"const": {"a": [1, 2]}}}}"#,
        "o:\n  a: [1, 3]\n",
        &[],
        true,
    ),
    case(
        "minimum",
        r#"{"properties": {"replicas": {"minimum": 1}}}"#,
        "replicas: 0\n",
        &[],
        true,
    ),
    case(
        "maximum with large numbers",
        r#"{"properties": {"mem": {"maximum": 1000000}, "small": {"maximum": 123456}}}"#,
        "mem: 2500000\nsmall: 234567.5\n",
        &[],
        true,
    ),
    case(
        "exclusive bounds, draft 2020",
        r#"{"properties": {"a": {"exclusiveMinimum": 0}, "b": {"exclusiveMaximum": 0.5}}}"#,
        "a: 0\nb: 0.5\n",
        &[],
        true,
    ),
    case(
        "exclusiveMaximum boolean, draft-04",
        r#"{"$schema": "http://json-schema.org/draft-04/schema#", "properties": {"a": {"maximum": 10, "exclusiveMaximum": true}}}"#,
        "a: 10\n",
        &[],
        true,
    ),
    case(
        "multipleOf a decimal",
        r#"{"properties": {"a": {"multipleOf": 0.1}, "b": {"multipleOf": 0.1}}}"#,
        "a: 0.3\nb: 0.35\n",
        &[],
        true,
    ),
    case(
        "negative and tiny numbers",
        r#"{"properties": {"a": {"minimum": -0.00001}}}"#,
        "a: -0.5\n",
        &[],
        true,
    ),
    case(
        "big integers",
        r#"{"properties": {"big": {"type": "integer", "maximum": 1e19}}}"#,
        "big: 12345678901234567890\n",
        &[],
        true,
    ),
    case(
        "minLength and maxLength count runes",
        r#"{"properties": {"a": {"minLength": 3}, "b": {"maxLength": 2}}}"#,
        "a: 日本\nb: 日本語\n",
        &[],
        true,
    ),
    case(
        "pattern",
        r#"{"properties": {"tag": {"type": "string", "pattern": "^v[0-9]+\\.[0-9]+$"}}}"#,
        "tag: \"1.2\"\n",
        &[],
        true,
    ),
    case(
        "pattern is a search",
        r#"{"properties": {"tag": {"pattern": "[0-9]"}}}"#,
        "tag: abc1def\n",
        &[],
        false,
    ),
    case(
        "minItems and maxItems",
        r#"{"properties": {"a": {"minItems": 2}, "b": {"maxItems": 1}}}"#,
        "a: [1]\nb: [1, 2]\n",
        &[],
        true,
    ),
    case(
        "uniqueItems",
        r#"{"properties": {"hosts": {"uniqueItems": true}}}"#,
        "hosts: [a, b, c, b, a]\n",
        &[],
        true,
    ),
    case(
        "uniqueItems compares 1 and 1.0",
        r#"{"properties": {"num": {"uniqueItems": true}}}"#,
        "num: [1, 2, 1.0]\n",
        &[],
        true,
    ),
    case(
        "additionalProperties false",
        r#"{"properties": {"image": {"type": "object", "additionalProperties": false, "properties": {"tag": {}}}}}"#,
        "image:\n  tag: v1\n  tga: v2\n",
        &[],
        true,
    ),
    case(
        "additionalProperties schema",
        r#"{"properties": {"env": {"additionalProperties": {"type": "string"}}}}"#,
        "env:\n  A: x\n  B: 2\n",
        &[],
        true,
    ),
    case(
        "nested properties",
        r#"{"properties": {"a": {"properties": {"b": {"properties": {"c~/d": {"type": "boolean"}}}}}}}"#,
        "a:\n  b:\n    c~/d: \"yes\"\n",
        &[],
        true,
    ),
    case(
        "items schema",
        r#"{"properties": {"ports": {"type": "array", "items": {"type": "object", "required": ["port"]}}}}"#,
        "ports:\n  - port: 80\n  - name: http\n",
        &[],
        true,
    ),
    case(
        "items tuple and additionalItems, draft-07",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"t": {"items": [{"type": "string"}, {"type": "integer"}], "additionalItems": false}}}"#,
        "t: [a, 1, x, y]\n",
        &[],
        true,
    ),
    case(
        "additionalItems schema numbers items from zero",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"t": {"items": [{}, {}], "additionalItems": {"type": "string"}}}}"#,
        "t: [1, 2, 3]\n",
        &[],
        true,
    ),
    case(
        "prefixItems and items false, 2020-12",
        r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "properties": {"t": {"prefixItems": [{"type": "string"}], "items": false}}}"#,
        "t: [a, b]\n",
        &[],
        true,
    ),
    case(
        "oneOf none matched",
        r#"{"properties": {"v": {"oneOf": [{"type": "string"}, {"type": "boolean"}]}}}"#,
        "v: 3\n",
        &[],
        true,
    ),
    case(
        "oneOf two matched",
        r#"{"properties": {"v": {"oneOf": [{"type": "number"}, {"minimum": 0}, {"type": "string"}]}}}"#,
        "v: 3\n",
        &[],
        true,
    ),
    case(
        "anyOf failed",
        r#"{"properties": {"v": {"anyOf": [{"type": "string", "minLength": 5}, {"type": "integer"}]}}}"#,
        "v: abc\n",
        &[],
        true,
    ),
    case(
        "allOf failed",
        r#"{"properties": {"v": {"allOf": [{"type": "string"}, {"maxLength": 2}, {"pattern": "^a"}]}}}"#,
        "v: abc\n",
        &[],
        true,
    ),
    case(
        "not failed",
        r#"{"properties": {"v": {"not": {"type": "string"}}}}"#,
        "v: abc\n",
        &[],
        true,
    ),
    case(
        "if then else",
        r#"{"if": {"properties": {"kind": {"const": "ingress"}}}, "then": {"required": ["host"]}, "else": {"required": ["port"]}}"#,
        "kind: ingress\n",
        &[],
        true,
    ),
    case(
        "else branch",
        r#"{"if": {"properties": {"kind": {"const": "ingress"}}, "required": ["kind"]}, "then": {"required": ["host"]}, "else": {"required": ["port"]}}"#,
        "kind: service\n",
        &[],
        true,
    ),
    case(
        "format email, draft-07 asserts",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"mail": {"format": "email"}}}"#,
        "mail: nobody.example.com\n",
        &[],
        true,
    ),
    case(
        "format ignored in 2020-12",
        r#"{"properties": {"mail": {"format": "email"}, "when": {"format": "date-time"}}}"#,
        "mail: nobody\nwhen: yesterday\n",
        &[],
        false,
    ),
    case(
        "format date-time, draft-07",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"when": {"format": "date-time"}}}"#,
        "when: \"2024-13-01T10:00:00Z\"\n",
        &[],
        true,
    ),
    case(
        "format hostname, draft-07",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"host": {"format": "hostname"}}}"#,
        "host: my_host.example.com\n",
        &[],
        true,
    ),
    case(
        "format ipv4, draft-06",
        r#"{"$schema": "http://json-schema.org/draft-06/schema#", "properties": {"ip": {"format": "ipv4"}}}"#,
        "ip: 10.0.0.256\n",
        &[],
        true,
    ),
    case(
        "format uri, draft-07",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"u": {"format": "uri"}}}"#,
        "u: /relative/path\n",
        &[],
        true,
    ),
    case(
        "format uuid and unknown format, draft-07",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"id": {"format": "uuid"}, "c": {"format": "color"}}}"#,
        "id: 123e4567-e89b-12d3-a456-42661417400g\nc: nope\n",
        &[],
        true,
    ),
    case(
        "$ref to $defs",
        r##"{"$defs": {"port": {"type": "integer", "maximum": 65535}}, "properties": {"http": {"$ref": "#/$defs/port"}}}"##,
        "http: 70000\n",
        &[],
        true,
    ),
    case(
        "$ref to definitions ignores siblings, draft-07",
        r##"{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/s", "minLength": 10}}}"##,
        "a: short\n",
        &[],
        false,
    ),
    case(
        "$ref with siblings, 2020-12",
        r##"{"$defs": {"s": {"type": "string", "maxLength": 2}}, "properties": {"a": {"$ref": "#/$defs/s", "minLength": 10}}}"##,
        "a: short\n",
        &[],
        true,
    ),
    case(
        "$ref to an anchor",
        r##"{"$defs": {"p": {"$anchor": "port", "type": "integer"}}, "properties": {"a": {"$ref": "#port"}}}"##,
        "a: x\n",
        &[],
        true,
    ),
    case(
        "root $ref",
        r##"{"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/values", "definitions": {"values": {"required": ["a", "b"]}}}"##,
        "c: 1\n",
        &[],
        true,
    ),
    case(
        "recursive $ref on nested values",
        r##"{"$defs": {"node": {"type": "object", "properties": {"name": {"type": "string"}, "child": {"$ref": "#/$defs/node"}}}}, "properties": {"tree": {"$ref": "#/$defs/node"}}}"##,
        "tree:\n  name: a\n  child:\n    name: b\n    child:\n      name: 3\n",
        &[],
        true,
    ),
    case("$ref cycle", r##"{"$ref": "#"}"##, "a: 1\n", &[], true),
    case(
        "$ref cycle through $defs",
        r##"{"properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"$ref": "#/$defs/y"}, "y": {"$ref": "#/$defs/x"}}}"##,
        "a: 1\n",
        &[],
        true,
    ),
    case(
        "dangling $ref",
        r##"{"properties": {"a": {"$ref": "#/$defs/missing"}}}"##,
        "a: 1\n",
        &[],
        true,
    ),
    case(
        "urn $ref is permissive",
        r#"{"properties": {"a": {"$ref": "urn:example:port"}}}"#,
        "a: 1\n",
        &[],
        false,
    ),
    case(
        "false schema",
        r#"{"properties": {"legacy": false}}"#,
        "legacy: 1\n",
        &[],
        true,
    ),
    case("root schema true", "true", "legacy: 1\n", &[], false),
    case("root schema false", "false", "legacy: 1\n", &[], true),
    case(
        "dependencies and dependentRequired",
        r#"{"properties": {"tls": {"dependentRequired": {"cert": ["key"]}}, "old": {"$schema": "x", "dependencies": {"a": ["b", "c"]}}}}"#,
        "tls:\n  cert: c\nold:\n  a: 1\n",
        &[],
        true,
    ),
    case(
        "propertyNames",
        r#"{"properties": {"labels": {"propertyNames": {"pattern": "^[a-z]+$", "maxLength": 5}}}}"#,
        "labels:\n  app: x\n  Tier: y\n",
        &[],
        true,
    ),
    case(
        "contains and minContains",
        r#"{"properties": {"a": {"contains": {"type": "string"}}, "b": {"contains": {"type": "integer"}, "minContains": 2, "maxContains": 3}}}"#,
        "a: [1, 2]\nb: [1, x]\n",
        &[],
        true,
    ),
    case(
        "minProperties and maxProperties",
        r#"{"properties": {"a": {"minProperties": 2}, "b": {"maxProperties": 1}}}"#,
        "a:\n  x: 1\nb:\n  x: 1\n  y: 2\n",
        &[],
        true,
    ),
    case(
        "patternProperties",
        r#"{"properties": {"env": {"patternProperties": {"^[A-Z_]+$": {"type": "string"}}, "additionalProperties": false}}}"#,
        "env:\n  GOOD: x\n  BAD: 1\n  lower: y\n",
        &[],
        true,
    ),
    case(
        "root additionalProperties false sees every key",
        r#"{"additionalProperties": false, "properties": {"a": {}}}"#,
        "a: 1\nzz: 2\n",
        &[],
        true,
    ),
    case(
        "several errors at the root",
        r#"{"required": ["name"], "properties": {"a": {"type": "string"}, "b": {"minimum": 5}}}"#,
        "a: 1\nb: 2\n",
        &[],
        true,
    ),
    case(
        "--skip-schema-validation",
        r#"{"properties": {"a": {"type": "string"}}}"#,
        "a: 1\n",
        &["--skip-schema-validation"],
        false,
    ),
    case(
        "a valid schema and values render",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["image"], "properties": {"image": {"type": "object", "properties": {"repository": {"type": "string"}, "tag": {"type": "string", "pattern": "^v"}}}, "replicas": {"type": "integer", "minimum": 1}}}"#,
        "image:\n  repository: nginx\n  tag: v1\nreplicas: 2\n",
        &[],
        false,
    ),
    case(
        "-f values file fails the schema",
        r#"{"properties": {"replicas": {"type": "integer"}}}"#,
        "replicas: 1\n",
        &["-f", "override.yaml"],
        true,
    ),
    case(
        "--set-json values",
        r#"{"properties": {"a": {"type": "array", "items": {"type": "integer"}}}}"#,
        "a: []\n",
        &["--set-json", "a=[1, 2.5]"],
        true,
    ),
    case(
        "invalid JSON",
        r#"{"properties": {"a": {"type": "string"},}}"#,
        "a: 1\n",
        &[],
        true,
    ),
    case(
        "truncated JSON",
        r#"{"properties": {"a": "#,
        "a: 1\n",
        &[],
        true,
    ),
    case("trailing JSON", r#"{} {}"#, "a: 1\n", &[], true),
    case("empty schema file", "", "a: 1\n", &[], true),
    case(
        "unevaluatedProperties, 2020-12",
        r#"{"allOf": [{"properties": {"a": {}}}], "properties": {"b": {}}, "unevaluatedProperties": false}"#,
        "a: 1\nb: 2\nc: 3\n",
        &[],
        true,
    ),
    case(
        "unevaluatedProperties sees through $ref and anyOf",
        r##"{"$defs": {"base": {"properties": {"a": {}}}}, "$ref": "#/$defs/base", "anyOf": [{"properties": {"b": {"type": "integer"}}}, {"properties": {"c": {}}}], "unevaluatedProperties": {"type": "string"}}"##,
        "a: 1\nb: 2\nc: 3\nd: 4\n",
        &[],
        true,
    ),
    case(
        "unevaluatedItems, 2019-09",
        r#"{"$schema": "https://json-schema.org/draft/2019-09/schema", "properties": {"l": {"items": [{"type": "string"}], "unevaluatedItems": false}}}"#,
        "l: [a, b, c]\n",
        &[],
        true,
    ),
    case(
        "dependentSchemas",
        r#"{"properties": {"tls": {"dependentSchemas": {"cert": {"required": ["key"], "properties": {"cert": {"minLength": 5}}}}}}}"#,
        "tls:\n  cert: abc\n",
        &[],
        true,
    ),
    case(
        "nested $id and a relative $ref",
        r##"{"$id": "https://example.com/root.json", "$defs": {"port": {"$id": "port.json", "type": "integer"}}, "properties": {"a": {"$ref": "port.json"}, "b": {"$ref": "https://example.com/port.json"}}}"##,
        "a: x\nb: y\n",
        &[],
        true,
    ),
    case(
        "draft-04 id anchor",
        r##"{"$schema": "http://json-schema.org/draft-04/schema#", "definitions": {"p": {"id": "#port", "type": "integer"}}, "properties": {"a": {"$ref": "#port"}}}"##,
        "a: x\n",
        &[],
        true,
    ),
    case(
        "$ref to a $dynamicAnchor by name",
        r##"{"$defs": {"p": {"$dynamicAnchor": "port", "type": "integer"}}, "properties": {"a": {"$ref": "#port"}}}"##,
        "a: x\n",
        &[],
        true,
    ),
    case(
        "missing anchor",
        r##"{"properties": {"a": {"$ref": "#nope"}}}"##,
        "a: x\n",
        &[],
        true,
    ),
    case(
        "items true and false, 2020-12",
        r#"{"properties": {"t": {"items": false}, "u": {"items": true}}}"#,
        "t: [1]\nu: [1]\n",
        &[],
        true,
    ),
    case(
        "contains, draft-07",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"l": {"contains": {"const": "x"}}}}"#,
        "l: [a, b]\n",
        &[],
        true,
    ),
    case(
        "several patternProperties",
        r#"{"properties": {"m": {"patternProperties": {"^a": {"type": "string"}, "b$": {"minLength": 3}}}}}"#,
        "m:\n  ab: 1\n",
        &[],
        true,
    ),
    case(
        "grouped digits in lengths",
        r#"{"properties": {"s": {"minLength": 1000}, "l": {"maxItems": 0}}}"#,
        "s: abc\nl: [1]\n",
        &[],
        true,
    ),
    case(
        "--set integers in messages",
        r#"{"properties": {"x": {"minimum": 200000000}, "y": {"enum": [1, 2]}, "z": {"const": 5, "type": "integer"}}}"#,
        "x: 0\n",
        &["--set", "x=123456789,y=3,z=12"],
        true,
    ),
    case(
        "uniqueItems over twenty items",
        r#"{"properties": {"l": {"uniqueItems": true}}}"#,
        "l: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 5, 23, 1]\n",
        &[],
        true,
    ),
    case(
        "format regex, draft-07",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"r": {"format": "regex"}, "ok": {"format": "regex"}}}"#,
        "r: \"a(b\"\nok: \"^a+$\"\n",
        &[],
        true,
    ),
    case(
        "format time and duration, draft-07",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"t": {"format": "time"}, "d": {"format": "duration"}}}"#,
        "t: \"25:00:00Z\"\nd: P1M2Y\n",
        &[],
        true,
    ),
    case(
        "format json-pointer and ipv6, draft-07",
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"p": {"format": "json-pointer"}, "i": {"format": "ipv6"}}}"#,
        "p: a/b\ni: \"::1\"\n",
        &[],
        true,
    ),
    case(
        "an impossible date stays a plain string",
        r#"{"properties": {"d": {"type": "string"}}}"#,
        "d: 2024-02-30\nleap: 2024-02-29\nnot: 2023-02-29T10:00:00Z\n",
        &[],
        false,
    ),
    case(
        "draft-04 with id",
        r##"{"$schema": "http://json-schema.org/draft-04/schema#", "id": "http://example.com/root.json", "definitions": {"a": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/a"}, "b": {"$ref": "http://example.com/root.json#/definitions/a"}}}"##,
        "a: 1\nb: x\n",
        &[],
        true,
    ),
    case(
        "draft 2019-09",
        r#"{"$schema": "https://json-schema.org/draft/2019-09/schema", "properties": {"a": {"dependentRequired": {"x": ["y"]}, "maxContains": 1}, "b": {"format": "email"}}}"#,
        "a:\n  x: 1\nb: nope\n",
        &[],
        true,
    ),
];

fn files_for(c: &Case) -> Files {
    let mut files = chart("demo", Some(c.schema), c.values, "");
    files.insert("override.yaml".into(), "replicas: \"3\"\n".into());
    files
}

fn check(tally: &mut Tally, name: &str, files: &Files, extra: &[&str], fails: bool) -> bool {
    let bin = match common::helm_binary() {
        Some(b) => b,
        None => return true,
    };
    let mut a = args(&["rel", "demo"]);
    a.extend(extra.iter().map(|s| (*s).to_owned()));
    let verdict = compare(&bin, files, &a);
    let expected = match &verdict {
        Verdict::Same => !fails,
        Verdict::SameError | Verdict::SameSchemaErrorsReordered => fails,
        _ => true,
    };
    if !expected {
        println!(
            "{name}: helm {} (expected the opposite)",
            if fails { "renders" } else { "fails" }
        );
    }
    tally.record(name, verdict);
    expected
}

#[test]
fn schemas_validate_as_helm_validates_them() {
    if common::helm_binary().is_none() {
        return;
    }
    let mut tally = Tally::default();
    let mut unexpected = Vec::new();
    for c in CASES {
        if !check(&mut tally, c.name, &files_for(c), c.args, c.fails) {
            unexpected.push(c.name);
        }
    }
    tally.summary("schema cases");
    assert!(tally.different.is_empty(), "{:#?}", tally.different);
    assert!(
        unexpected.is_empty(),
        "cases not failing as written: {unexpected:?}"
    );
}

const SUB_SCHEMA: &str = r#"{"properties": {"port": {"type": "integer", "minimum": 1024}, "mode": {"enum": ["a", "b"]}}}"#;

fn with_subchart(parent_schema: Option<&str>, parent_values: &str, deps: &str) -> Files {
    let mut files = chart("demo", parent_schema, parent_values, deps);
    for (path, text) in chart("sub", Some(SUB_SCHEMA), "port: 8080\nmode: a\n", "") {
        files.insert(format!("demo/charts/{path}"), text);
    }
    files
}

#[test]
fn subchart_schemas_validate_as_helm_validates_them() {
    if common::helm_binary().is_none() {
        return;
    }
    let deps = "dependencies:\n  - name: sub\n    version: 0.1.0\n";
    let alias = "dependencies:\n  - name: sub\n    version: 0.1.0\n    alias: db\n";
    let cond = "dependencies:\n  - name: sub\n    version: 0.1.0\n    condition: sub.enabled\n";
    let parent = r#"{"properties": {"name": {"type": "string"}}}"#;
    let cases: Vec<(&str, Files, Vec<&str>, bool)> = vec![
        (
            "subchart values fail its schema",
            with_subchart(None, "name: x\nsub:\n  port: 80\n", deps),
            vec![],
            true,
        ),
        (
            "subchart defaults pass",
            with_subchart(Some(parent), "name: x\n", deps),
            vec![],
            false,
        ),
        (
            "parent and subchart fail",
            with_subchart(Some(parent), "name: 1\n", deps),
            vec!["--set", "sub.mode=c"],
            true,
        ),
        (
            "aliased subchart is named by its alias",
            with_subchart(None, "db:\n  port: 22\n", alias),
            vec![],
            true,
        ),
        (
            "disabled subchart is not validated",
            with_subchart(None, "sub:\n  enabled: false\n  port: 1\n", cond),
            vec![],
            false,
        ),
        (
            "vendored subchart without a Chart.yaml entry",
            with_subchart(None, "sub:\n  mode: z\n", ""),
            vec![],
            true,
        ),
        (
            "globals reach the subchart's values",
            {
                let mut f = with_subchart(None, "global:\n  g: 1\n", deps);
                f.insert(
                    "demo/charts/sub/values.schema.json".into(),
                    r#"{"properties": {"global": {"properties": {"g": {"type": "string"}}}}}"#
                        .into(),
                );
                f
            },
            vec![],
            true,
        ),
        (
            "parent schema sees subchart values",
            with_subchart(
                Some(r#"{"additionalProperties": false, "properties": {"name": {}}}"#),
                "name: x\n",
                deps,
            ),
            vec![],
            true,
        ),
    ];
    let mut tally = Tally::default();
    let mut unexpected = Vec::new();
    for (name, files, extra, fails) in &cases {
        if !check(&mut tally, name, files, extra, *fails) {
            unexpected.push(*name);
        }
    }
    tally.summary("subchart schema cases");
    assert!(tally.different.is_empty(), "{:#?}", tally.different);
    assert!(
        unexpected.is_empty(),
        "cases not failing as written: {unexpected:?}"
    );
}

/// A seeded generator of values and schemas: each node of a random values tree gets a
/// schema that mostly fits it (types, bounds around the value, lengths, enums, patterns,
/// formats under draft-07, required and additional properties, items, unique items) and
/// sometimes does not, wrapped now and then in `allOf`/`anyOf`/`oneOf`/`not` or moved behind a
/// `$ref`; the draft is 2020-12, 2019-09, draft-07 or draft-06; `--set` sometimes overrides a
/// value with a typed one.
mod random {
    use serde_json::{Map, Value as Json, json};

    pub struct Rng(pub u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        pub fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        pub fn chance(&mut self, percent: u64) -> bool {
            self.next() % 100 < percent
        }

        pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    const KEYS: &[&str] = &[
        "name",
        "port",
        "replicas",
        "image",
        "tag",
        "labels",
        "hosts",
        "enabled",
        "ratio",
        "mail",
        "a",
        "b",
        "zeta",
        "with-dash",
        "x/y",
        "t~1",
    ];

    const STRINGS: &[&str] = &[
        "nginx",
        "v1.2.3",
        "",
        "yes",
        "1.5",
        "日本語",
        "a b",
        "UPPER",
        "me@example.com",
        "bad@",
        "10.0.0.1",
        "300.1.1.1",
        "2024-02-30",
        "2024-01-02",
        "host.example.com",
        "-host",
        "123e4567-e89b-12d3-a456-426614174000",
        "not-a-uuid",
        "it's",
        "quote\"d",
        "2024-01-02T03:04:05Z",
    ];

    const PATTERNS: &[&str] = &[
        "^[a-z]+$",
        "^v[0-9]",
        "\\d",
        "^$",
        ".",
        "^[^@]+@[^@]+$",
        "e",
    ];

    const FORMATS: &[&str] = &["email", "hostname", "ipv4", "date", "uuid", "date-time"];

    fn scalar(rng: &mut Rng) -> Json {
        match rng.below(9) {
            0 | 1 => json!(*rng.pick(&[0i64, 1, -3, 42, 1_000_000, 65536, 7])),
            2 => json!(*rng.pick(&[0.5, 1.5, 1e6, 2.0, 2.71, -0.25, 100.0, 0.1])),
            3 => json!(rng.chance(50)),
            4 => Json::Null,
            _ => json!(*rng.pick(STRINGS)),
        }
    }

    pub fn value(rng: &mut Rng, depth: usize) -> Json {
        match if depth >= 3 { 0 } else { rng.below(6) } {
            0..=2 => scalar(rng),
            3 => Json::Array((0..rng.below(4)).map(|_| scalar(rng)).collect()),
            _ => Json::Object(map(rng, depth + 1)),
        }
    }

    pub fn map(rng: &mut Rng, depth: usize) -> Map<String, Json> {
        let mut m = Map::new();
        for _ in 0..1 + rng.below(4) {
            m.insert((*rng.pick(KEYS)).to_owned(), value(rng, depth));
        }
        m
    }

    pub struct Gen {
        pub draft: u32,
        pub defs: Map<String, Json>,
    }

    fn wrong_type(v: &Json) -> &'static str {
        match v {
            Json::String(_) => "integer",
            Json::Number(_) => "string",
            Json::Bool(_) => "null",
            Json::Null => "boolean",
            Json::Array(_) => "object",
            Json::Object(_) => "array",
        }
    }

    fn type_of(v: &Json) -> &'static str {
        match v {
            Json::String(_) => "string",
            Json::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
            Json::Number(_) => "number",
            Json::Bool(_) => "boolean",
            Json::Null => "null",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    impl Gen {
        pub fn schema(&mut self, rng: &mut Rng, v: &Json, depth: usize) -> Json {
            let mut s = Map::new();
            let fit = !rng.chance(12);
            if rng.chance(70) {
                s.insert(
                    "type".into(),
                    if fit {
                        if rng.chance(20) && !v.is_null() {
                            json!([type_of(v), "null"])
                        } else {
                            json!(type_of(v))
                        }
                    } else {
                        json!(wrong_type(v))
                    },
                );
            }
            match v {
                Json::Object(m) => {
                    let mut props = Map::new();
                    let mut required = Vec::new();
                    for (k, sub) in m {
                        if rng.chance(85) {
                            props.insert(k.clone(), self.schema(rng, sub, depth + 1));
                        }
                        if rng.chance(30) {
                            required.push(json!(k));
                        }
                    }
                    let extra = json!(*rng.pick(KEYS));
                    if rng.chance(15) && !required.contains(&extra) {
                        required.push(extra);
                    }
                    if !props.is_empty() {
                        s.insert("properties".into(), Json::Object(props));
                    }
                    if !required.is_empty() {
                        s.insert("required".into(), Json::Array(required));
                    }
                    if rng.chance(20) {
                        s.insert("additionalProperties".into(), json!(false));
                    } else if rng.chance(10) {
                        s.insert("additionalProperties".into(), json!({"type": "string"}));
                    }
                    if rng.chance(10) {
                        s.insert("minProperties".into(), json!(m.len() + rng.below(2)));
                    }
                    // Only at the root: below it, Helm prints the location of a
                    // propertyNames error from a slice that later siblings overwrite, in
                    // Go's random map order.
                    if depth == 0 && rng.chance(30) && self.draft >= 6 {
                        s.insert(
                            "propertyNames".into(),
                            json!({"pattern": *rng.pick(PATTERNS)}),
                        );
                    }
                }
                Json::Array(items) => {
                    if let Some(first) = items.first()
                        && rng.chance(60)
                    {
                        let item = self.schema(rng, first, depth + 1);
                        s.insert("items".into(), item);
                    }
                    if rng.chance(20) {
                        s.insert("minItems".into(), json!(items.len() + rng.below(2)));
                    }
                    if rng.chance(20) {
                        s.insert(
                            "maxItems".into(),
                            json!(items.len().saturating_sub(rng.below(2))),
                        );
                    }
                    if rng.chance(25) {
                        s.insert("uniqueItems".into(), json!(true));
                    }
                    if rng.chance(15) && self.draft >= 6 {
                        s.insert(
                            "contains".into(),
                            json!({"type": *rng.pick(&["string", "integer", "null"])}),
                        );
                    }
                }
                Json::String(st) => {
                    let n = st.chars().count();
                    if rng.chance(25) {
                        s.insert("minLength".into(), json!(n + rng.below(2)));
                    }
                    if rng.chance(25) {
                        s.insert("maxLength".into(), json!(n.saturating_sub(rng.below(2))));
                    }
                    if rng.chance(25) {
                        s.insert("pattern".into(), json!(*rng.pick(PATTERNS)));
                    }
                    if rng.chance(15) {
                        let other = *rng.pick(STRINGS);
                        let e = match (fit, other == st) {
                            (true, false) => json!([other, st]),
                            (true, true) => json!([st]),
                            (false, _) => json!([other]),
                        };
                        s.insert("enum".into(), e);
                    }
                    if rng.chance(25) {
                        s.insert("format".into(), json!(*rng.pick(FORMATS)));
                    }
                }
                Json::Number(num) => {
                    let f = num.as_f64().unwrap_or(0.0);
                    let bound = |rng: &mut Rng| {
                        let delta = *rng.pick(&[-1.0, 0.0, 1.0, 0.5, 1000.0]);
                        let b = f + delta;
                        if b.fract() == 0.0 && b.abs() < 1e15 {
                            json!(b as i64)
                        } else {
                            json!(b)
                        }
                    };
                    if rng.chance(30) {
                        s.insert("minimum".into(), bound(rng));
                    }
                    if rng.chance(30) {
                        s.insert("maximum".into(), bound(rng));
                    }
                    if rng.chance(15) {
                        s.insert("exclusiveMinimum".into(), bound(rng));
                    }
                    if rng.chance(15) {
                        s.insert("exclusiveMaximum".into(), bound(rng));
                    }
                    if rng.chance(15) {
                        s.insert(
                            "multipleOf".into(),
                            json!(*rng.pick(&[0.5, 2.0, 0.1, 3.0, 7.0])),
                        );
                    }
                    if rng.chance(10) && self.draft >= 6 {
                        s.insert("const".into(), if fit { v.clone() } else { json!(3) });
                    }
                }
                Json::Bool(_) | Json::Null => {
                    if rng.chance(30) {
                        s.insert(
                            "enum".into(),
                            if fit {
                                json!([v, "x"])
                            } else {
                                json!(["x", 1])
                            },
                        );
                    }
                }
            }
            let mut schema = Json::Object(s);
            if depth > 0 && rng.chance(15) {
                let name = format!("d{}", self.defs.len());
                self.defs.insert(name.clone(), schema);
                let at = if self.draft < 2019 {
                    "definitions"
                } else {
                    "$defs"
                };
                schema = json!({"$ref": format!("#/{at}/{name}")});
            }
            match rng.below(14) {
                0 => json!({"allOf": [schema, {"not": {"type": "array"}}]}),
                1 => json!({"anyOf": [schema, {"type": "boolean"}]}),
                2 => json!({"oneOf": [schema, {"type": "null"}]}),
                3 => json!({"not": {"type": wrong_type(v)}, "allOf": [schema]}),
                _ => schema,
            }
        }
    }
}

fn random_case(seed: u64) -> (Files, Vec<String>) {
    use random::{Gen, Rng};
    let mut rng = Rng(seed);
    let values = serde_json::Value::Object(random::map(&mut rng, 0));
    let draft = *rng.pick(&[2020u32, 2020, 2019, 7, 7, 6]);
    let mut generator = Gen {
        draft,
        defs: serde_json::Map::new(),
    };
    let mut schema = generator.schema(&mut rng, &values, 0);
    if let serde_json::Value::Object(m) = &mut schema {
        let url = match draft {
            2019 => Some("https://json-schema.org/draft/2019-09/schema"),
            7 => Some("http://json-schema.org/draft-07/schema#"),
            6 => Some("http://json-schema.org/draft-06/schema#"),
            _ => None,
        };
        if let Some(u) = url {
            m.insert("$schema".into(), serde_json::Value::String(u.into()));
        }
        if !generator.defs.is_empty() {
            let at = if draft < 2019 { "definitions" } else { "$defs" };
            m.insert(
                at.into(),
                serde_json::Value::Object(std::mem::take(&mut generator.defs)),
            );
        }
    } else {
        schema = serde_json::json!({"allOf": [schema]});
    }
    let text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    let files = chart(
        "demo",
        Some(&text),
        &tether_core::yaml::to_string(&values),
        "",
    );
    let mut a = args(&["rel", "demo"]);
    if rng.chance(30)
        && let serde_json::Value::Object(m) = &values
    {
        let keys: Vec<&String> = m.keys().filter(|k| !k.contains(['/', '~'])).collect();
        if !keys.is_empty() {
            let k = rng.pick(&keys);
            let v = *rng.pick(&["1", "abc", "true", "null", "-5", "2.5"]);
            a.extend(["--set".into(), format!("{k}={v}")]);
        }
    }
    (files, a)
}

/// Seeds every run checks.
const RANDOM_SEEDS: u64 = 120;

#[test]
fn random_schemas_validate_as_helm_validates_them() {
    let Some(bin) = common::helm_binary() else {
        return;
    };
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let (seeds, report_only) = match env("TETHER_RANDOM_CASES") {
        Some(n) => {
            let from = env("TETHER_RANDOM_FROM").unwrap_or(1 << 32);
            (from..from + n, true)
        }
        None => (0..RANDOM_SEEDS, false),
    };
    let mut tally = Tally::default();
    for seed in seeds {
        let (files, a) = random_case(seed);
        let verdict = compare(&bin, &files, &a);
        tally.record(&format!("seed {seed} ({})", a.join(" ")), verdict);
    }
    tally.summary("random schemas");
    assert!(
        report_only || tally.different.is_empty(),
        "{:#?}",
        tally.different
    );
    // Enough of them must fail validation to test the messages.
    assert!(report_only || tally.same_error + tally.same_schema_reordered >= 30);
}

/// `SEED=N cargo test -p tether-helm --test schema -- --ignored` writes seed N's tree to
/// `/tmp/schema-seed` and prints its arguments.
#[test]
#[ignore]
fn one_schema_seed_is_written_to_disk_for_debugging() {
    let seed = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (files, a) = random_case(seed);
    let dir = std::path::Path::new("/tmp/schema-seed");
    let _ = std::fs::remove_dir_all(dir);
    common::write_tree(dir, &files);
    println!("ARGS {}", a.join(" "));
}

fn values(v: serde_json::Value) -> tether_helm::Values {
    match v {
        serde_json::Value::Object(m) => m,
        _ => tether_helm::Values::new(),
    }
}

/// Helm v4 fetches `http(s)` `$ref`s and reads `file` ones (a relative `$ref` resolves under
/// `file:///`); the engine refuses both, saying why, and never opens a connection or a file.
#[test]
fn remote_and_file_refs_are_refused() {
    use tether_helm::schema::validate_single;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let schema =
        format!(r#"{{"properties": {{"a": {{"$ref": "http://127.0.0.1:{port}/s.json"}}}}}}"#);
    let err = validate_single(&values(serde_json::json!({"a": 1})), schema.as_bytes())
        .expect_err("refused");
    assert_eq!(
        err,
        format!(
            "failing loading \"http://127.0.0.1:{port}/s.json\": tether does not fetch remote schemas over the network"
        )
    );
    assert!(listener.accept().is_err(), "nothing connected");
    let err = validate_single(
        &values(serde_json::json!({})),
        br#"{"$ref": "defs.json#/x"}"#,
    )
    .expect_err("refused");
    assert_eq!(
        err,
        "failing loading \"file:///defs.json\": tether does not read schemas from the local filesystem"
    );
    let err = validate_single(
        &values(serde_json::json!({})),
        br#"{"$schema": "https://example.com/my-meta"}"#,
    )
    .expect_err("refused");
    assert!(
        err.contains("tether does not fetch remote schemas"),
        "{err}"
    );
}

/// A schema whose evaluation doubles at each level (each `anyOf` branch refers to the next
/// level twice) stops at the step budget instead of running for 2^60 steps.
#[test]
fn an_exponential_schema_stops_at_the_budget() {
    let mut defs = serde_json::Map::new();
    for i in 0..60 {
        let next = format!("#/$defs/d{}", i + 1);
        defs.insert(
            format!("d{i}"),
            serde_json::json!({"anyOf": [{"$ref": next}, {"$ref": next}]}),
        );
    }
    defs.insert("d60".into(), serde_json::json!(false));
    let schema = serde_json::json!({"$ref": "#/$defs/d0", "$defs": defs});
    let started = std::time::Instant::now();
    let err = tether_helm::schema::validate_single(
        &values(serde_json::json!({"a": 1})),
        schema.to_string().as_bytes(),
    )
    .expect_err("budget");
    assert!(err.contains("validation needs more than"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// A `$ref` cycle is reported, not followed; a large schema and a deeply nested value with
/// a recursive schema validate.
#[test]
fn cycles_and_large_schemas_are_bounded() {
    // Deep serde_json values drop recursively: build them on a thread with room.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(bounded_body)
        .expect("spawn")
        .join()
        .expect("no panic");
}

/// `{"child": inner}` without `json!`, which would copy `inner` through `Serialize`.
fn wrap(inner: serde_json::Value) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("child".into(), inner);
    serde_json::Value::Object(m)
}

fn bounded_body() {
    use tether_helm::schema::validate_single;
    let root = |v: serde_json::Value| {
        let mut m = tether_helm::Values::new();
        m.insert("root".into(), v);
        m
    };
    let err = validate_single(
        &values(serde_json::json!({"a": 1})),
        br##"{"$defs": {"x": {"allOf": [{"$ref": "#/$defs/y"}]}, "y": {"anyOf": [{"$ref": "#/$defs/x"}]}}, "$ref": "#/$defs/x"}"##,
    )
    .expect_err("cycle");
    assert!(err.contains("causing reference cycle"), "{err}");
    let mut props = serde_json::Map::new();
    for i in 0..20_000 {
        props.insert(
            format!("p{i}"),
            serde_json::json!({"type": "integer", "minimum": i}),
        );
    }
    let schema = serde_json::json!({"properties": props}).to_string();
    let mut vals = serde_json::Map::new();
    for i in 0..20_000 {
        vals.insert(format!("p{i}"), serde_json::json!(i));
    }
    assert_eq!(validate_single(&vals, schema.as_bytes()), Ok(()));
    let mut deep = serde_json::json!({"leaf": true});
    for _ in 0..500 {
        deep = wrap(deep);
    }
    let recursive = br##"{"$defs": {"n": {"type": "object", "properties": {"child": {"$ref": "#/$defs/n"}, "leaf": {"type": "string"}}}}, "properties": {"root": {"$ref": "#/$defs/n"}}}"##;
    let err = validate_single(&root(deep), recursive).expect_err("leaf is no string");
    assert!(err.ends_with("got boolean, want string\n"), "{err}");
    // Nested deeper than the evaluation may go: refused, not a stack overflow.
    let mut deeper = serde_json::json!({"leaf": "x"});
    for _ in 0..6_000 {
        deeper = wrap(deeper);
    }
    let err = validate_single(&root(deeper), recursive).expect_err("too deep");
    assert!(err.contains("nests deeper than"), "{err}");
    let mut ok = serde_json::json!({"leaf": "x"});
    for _ in 0..4_900 {
        ok = wrap(ok);
    }
    assert_eq!(validate_single(&root(ok), recursive), Ok(()));
}
