//! Differential tests: every case in `testdata/go_cases.json` was rendered by Go's
//! text/template (with sprig v3.3's hermetic function map for `"funcs": "sprig"`) over the data
//! sets built below, which mirror the Go values field for field; the recorded output or error
//! must be reproduced exactly.

use serde_json::Value as Json;
use tether_gotemplate::{FuncMap, Map, Struct, Template, TemplateError, Value, sprig};

fn s(v: &str) -> Value {
    Value::str(v)
}

fn person(name: &str, age: i64, tags: &[&str]) -> Value {
    Value::Struct(
        Struct::new("main.Person")
            .field("Name", name)
            .field("Age", age)
            .field(
                "Tags",
                Value::slice("[]string", tags.iter().map(|t| s(t)).collect()),
            ),
    )
}

fn namespaced_name(ns: &str, name: &str) -> Struct {
    Struct::new("types.NamespacedName")
        .field("Namespace", ns)
        .field("Name", name)
        .stringer(format!("{ns}/{name}"))
}

/// The `misc` data set: a `map[string]interface{}` of assorted Go values.
fn misc() -> Value {
    let mut m = Map::new("map[string]interface {}", Value::Nil);
    let mut put = |k: &str, v: Value| m.insert(s(k), v);
    put("str", s("hello"));
    put("int", Value::Int(42));
    put("neg", Value::Int(-7));
    put("float", Value::Float(3.5));
    put("big", Value::Float(1e6));
    put("small", Value::Float(0.000012));
    put("t", Value::Bool(true));
    put("f", Value::Bool(false));
    put("nil", Value::Nil);
    put("empty", s(""));
    put("zero", Value::Int(0));
    put(
        "list",
        Value::slice("[]string", vec![s("a"), s("b"), s("c")]),
    );
    put(
        "ints",
        Value::slice("[]int", vec![Value::Int(3), Value::Int(1), Value::Int(2)]),
    );
    put(
        "anys",
        Value::list(vec![
            Value::Int(1),
            s("two"),
            Value::Float(3.5),
            Value::Nil,
            Value::Bool(true),
        ]),
    );
    put("emptylist", Value::slice("[]string", vec![]));
    let mut ints = Map::new("map[string]int", Value::Int(0));
    for (k, v) in [("b", 2), ("a", 1), ("c", 3)] {
        ints.insert(s(k), Value::Int(v));
    }
    put("map", Value::Map(ints));
    let mut intmap = Map::new("map[int]string", s(""));
    for (k, v) in [(10, "ten"), (2, "two"), (-1, "minus")] {
        intmap.insert(Value::Int(k), s(v));
    }
    put("intmap", Value::Map(intmap));
    let mut nested = Map::new("map[string]interface {}", Value::Nil);
    nested.insert(s("inner"), Value::Map(Map::string_to_string([("k", "v")])));
    nested.insert(s("n"), Value::Int(1));
    put("nested", Value::Map(nested));
    put("person", person("Ada", 36, &["x", "y"]));
    put(
        "people",
        Value::slice(
            "[]main.Person",
            vec![person("Bob", 5, &[]), person("Cy", 7, &["z"])],
        ),
    );
    put("html", s("<a href='x'>&\"</a>"));
    put("csv", s("a,b,,c"));
    put("unicode", s("héllo wörld"));
    put("nsn", Value::Struct(namespaced_name("ns", "n")));
    Value::Map(m)
}

fn change(old: &str, new: &str, setter: &str) -> Value {
    Value::Struct(
        Struct::new("update.Change")
            .field("OldValue", old)
            .field("NewValue", new)
            .field("Setter", setter),
    )
}

fn object_id(api_version: &str, kind: &str, name: &str, namespace: &str) -> Value {
    let type_meta = Struct::new("yaml.TypeMeta")
        .field("APIVersion", api_version)
        .field("Kind", kind);
    let name_meta = Struct::new("yaml.NameMeta")
        .field("Name", name)
        .field("Namespace", namespace);
    let resource = Struct::new("yaml.ResourceIdentifier")
        .embed(type_meta)
        .embed(name_meta);
    Value::Struct(Struct::new("update.ObjectIdentifier").embed(resource))
}

fn changes(items: Vec<Value>) -> Value {
    Value::slice("[]update.Change", items)
}

fn object_changes(entries: Vec<(Value, Value)>) -> Map {
    let mut m = Map::new(
        "update.ObjectChanges",
        Value::slice("[]update.Change", vec![]),
    );
    for (k, v) in entries {
        m.insert(k, v);
    }
    m
}

/// The `flux` data set: Flux's `TemplateData` for two files and three objects.
fn flux() -> Value {
    let podinfo = (
        object_id("apps/v1", "Deployment", "podinfo", "default"),
        change(
            "ghcr.io/stefanprodan/podinfo:5.0.0",
            "ghcr.io/stefanprodan/podinfo:5.0.3",
            "flux-system:podinfo",
        ),
    );
    let backend = (
        object_id("apps/v1", "Deployment", "backend", "apps"),
        vec![
            change(
                "registry.local/backend:1.0",
                "registry.local/backend:1.1",
                "apps:backend",
            ),
            change("1.0", "1.1", "apps:backend:tag"),
        ],
    );
    let values = (
        object_id("", "", "", ""),
        change("5.0.0", "5.0.3", "flux-system:podinfo:tag"),
    );
    let deploy = object_changes(vec![
        (podinfo.0.clone(), changes(vec![podinfo.1.clone()])),
        (backend.0.clone(), changes(backend.1.clone())),
    ]);
    let values_file = object_changes(vec![(values.0.clone(), changes(vec![values.1.clone()]))]);
    let mut files = Map::new(
        "map[string]update.ObjectChanges",
        Value::Map(object_changes(vec![])),
    );
    files.insert(s("clusters/prod/deploy.yaml"), Value::Map(deploy));
    files.insert(s("clusters/prod/values.yaml"), Value::Map(values_file));
    // Changes() and Objects() in file order, then object order (Go's fixture sorts the same way).
    let all_changes = vec![
        backend.1[0].clone(),
        backend.1[1].clone(),
        podinfo.1.clone(),
        values.1.clone(),
    ];
    let objects = object_changes(vec![
        (values.0, changes(vec![values.1])),
        (backend.0, changes(backend.1)),
        (podinfo.0, changes(vec![podinfo.1])),
    ]);
    let result = Struct::new("update.Result")
        .field("FileChanges", Value::Map(files))
        .method("Changes", changes(all_changes))
        .method("Objects", Value::Map(objects));
    let values = Map::string_to_string([("cluster", "prod"), ("env", "staging")]);
    Value::Struct(
        Struct::new("source.TemplateData")
            .field(
                "AutomationObject",
                Value::Struct(namespaced_name("flux-system", "podinfo-automation")),
            )
            .field("Changed", Value::Struct(result))
            .field("Values", Value::Map(values)),
    )
}

fn render(case: &Json) -> Result<String, TemplateError> {
    let field = |k: &str| case[k].as_str().unwrap_or_default();
    let (name, data) = match field("data") {
        "flux" => ("commit message", flux()),
        _ => ("msg", misc()),
    };
    let funcs = if field("funcs") == "sprig" {
        sprig::hermetic_funcs()
    } else {
        FuncMap::new()
    };
    Template::parse_with_funcs(name, field("template"), funcs)?.execute(&data)
}

#[test]
fn go_text_template_cases() {
    let table: Vec<Json> =
        serde_json::from_str(include_str!("testdata/go_cases.json")).expect("valid table");
    assert!(table.len() > 280, "the table has {} cases", table.len());
    let mut failures = Vec::new();
    for case in &table {
        let name = case["name"].as_str().unwrap_or_default();
        let want_err = case["error"].as_str();
        let want_out = case["output"].as_str().unwrap_or_default();
        match (render(case), want_err) {
            (Ok(out), None) if out == want_out => {}
            (Err(e), Some(want)) if e.to_string() == want => {}
            (got, _) => failures.push(format!(
                "{name}:\n  template: {:?}\n  want: {:?} / {:?}\n  got:  {got:?}",
                case["template"], want_out, want_err
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Go:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}
