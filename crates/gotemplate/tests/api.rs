//! The public API beyond Go's behaviour table: custom functions with typed parameters,
//! associated templates, and the value model's Go ordering.

use tether_gotemplate::{Func, FuncMap, Map, Param, Struct, Template, TemplateError, Value};

fn key(kind: &str, name: &str) -> Value {
    Value::Struct(
        Struct::new("main.Key")
            .field("Kind", kind)
            .field("Name", name),
    )
}

#[test]
fn custom_functions_override_builtins_and_check_argument_types() {
    let mut funcs = FuncMap::new();
    funcs.insert(
        "shout".into(),
        Func::new(&[Param::String], |a| {
            Ok(Value::String(a[0].to_go_string().to_uppercase() + "!"))
        }),
    );
    funcs.insert(
        "len".into(),
        Func::new(&[Param::Any], |_| Ok(Value::Int(-1))),
    );
    let t = Template::parse_with_funcs(
        "t",
        "{{ shout \"hi\" }} {{ \"x\" | shout }} {{ len \"abc\" }}",
        funcs.clone(),
    )
    .expect("parses");
    assert_eq!(t.execute(&Value::Nil).expect("runs"), "HI! X! -1");
    let t = Template::parse_with_funcs("t", "{{ shout 3 }}", funcs).expect("parses");
    assert_eq!(
        t.execute(&Value::Nil),
        Err(TemplateError::Exec(
            "template: t:1:9: executing \"t\" at <3>: expected string; found 3".into()
        ))
    );
}

#[test]
fn function_errors_are_wrapped_with_the_command() {
    let mut funcs = FuncMap::new();
    funcs.insert(
        "boom".into(),
        Func::variadic(&[], Param::Any, |_| Err("it broke".into())),
    );
    let t = Template::parse_with_funcs("t", "a\n  {{ boom 1 2 }}", funcs).expect("parses");
    let err = t.execute(&Value::Nil).expect_err("fails");
    assert_eq!(
        err.to_string(),
        "template: t:2:5: executing \"t\" at <boom 1 2>: error calling boom: it broke"
    );
}

#[test]
fn associated_templates_execute_by_name() {
    let t = Template::parse(
        "main",
        "{{define \"row\"}}<{{.}}>{{end}}main:{{template \"row\" .}}",
    )
    .expect("parses");
    assert_eq!(t.execute(&Value::Int(1)).expect("runs"), "main:<1>");
    assert_eq!(
        t.execute_template("row", &Value::str("x")).expect("runs"),
        "<x>"
    );
    assert_eq!(
        t.execute_template("nope", &Value::Nil),
        Err(TemplateError::Exec(
            "template: no template \"nope\" associated with template \"main\"".into()
        ))
    );
}

#[test]
fn struct_keyed_maps_range_in_field_order() {
    let mut m = Map::new("map[main.Key]int", Value::Int(0));
    m.insert(key("Service", "a"), Value::Int(3));
    m.insert(key("Deployment", "b"), Value::Int(2));
    m.insert(key("Deployment", "a"), Value::Int(1));
    m.insert(key("Deployment", "a"), Value::Int(4));
    let t = Template::parse(
        "t",
        "{{range $k, $v := .}}{{$k.Kind}}/{{$k.Name}}={{$v}} {{end}}{{.}}",
    )
    .expect("parses");
    assert_eq!(
        t.execute(&Value::Map(m)).expect("runs"),
        "Deployment/a=4 Deployment/b=2 Service/a=3 map[{Deployment a}:4 {Deployment b}:2 {Service a}:3]"
    );
}

#[test]
fn templates_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    let t = std::sync::Arc::new(Template::parse("t", "{{.}}").expect("parses"));
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let t = t.clone();
            std::thread::spawn(move || t.execute(&Value::Int(i)))
        })
        .collect();
    let outs: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().expect("joins").expect("runs"))
        .collect();
    assert_eq!(outs, ["0", "1"]);
}

#[test]
fn a_template_set_shares_defines_and_names_each_source_in_errors() {
    use tether_gotemplate::{Func, FuncMap, MissingKey, Param, TemplateSet};
    let mut funcs = FuncMap::new();
    funcs.insert(
        "run".into(),
        Func::with_runtime(&[Param::String, Param::Any], |rt, a| {
            let name = match &a[0] {
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            rt.execute_template(&name, &a[1]).map(Value::String)
        }),
    );
    let mut set = TemplateSet::new("gotpl", funcs).with_missing_key(MissingKey::Zero);
    let helpers = "{{ define \"greet\" }}hi {{ .a.b }}{{ end }}";
    assert!(set.add("c/_helpers.tpl", helpers).is_ok());
    assert!(set.add("c/x.yaml", "{{ run \"greet\" . }}").is_ok());
    let mut inner = tether_gotemplate::Map::new("map[string]interface {}", Value::Nil);
    inner.insert(Value::str("b"), Value::str("there"));
    let mut data = tether_gotemplate::Map::new("map[string]interface {}", Value::Nil);
    data.insert(Value::str("a"), Value::Map(inner));
    let out = set.execute("c/x.yaml", &Value::Map(data));
    assert_eq!(out, Ok("hi there".to_owned()));
    let empty = tether_gotemplate::Map::new("map[string]interface {}", Value::Nil);
    let err = set
        .execute("c/x.yaml", &Value::Map(empty))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        err,
        "template: c/x.yaml:1:3: executing \"c/x.yaml\" at <run \"greet\" .>: error calling run: \
         template: c/_helpers.tpl:1:28: executing \"greet\" at <.a.b>: nil pointer evaluating \
         interface {}.b"
    );
}
