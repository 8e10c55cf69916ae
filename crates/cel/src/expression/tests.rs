use super::*;
use serde_json::json;

fn bool_of(source: &str, variables: &[(&str, Value)]) -> Result<bool, CelError> {
    Expression::parse(source)?.evaluate_bool(variables.iter().map(|(n, v)| (*n, v)))
}

fn string_of(source: &str, variables: &[(&str, Value)]) -> Result<String, CelError> {
    Expression::parse(source)?.evaluate_string(variables.iter().map(|(n, v)| (*n, v)))
}

#[test]
fn json_integers_are_ints_so_arithmetic_and_comparisons_work_as_in_go() -> Result<(), CelError> {
    let status = json!({"replicas": 3, "ready": 3, "ratio": 0.5, "big": u64::MAX});
    let vars = [("status", status)];
    assert!(bool_of(
        "status.replicas == status.ready && status.ready + 1 == 4",
        &vars
    )?);
    assert!(bool_of(
        "status.ratio < 1.0 && status.big == 18446744073709551615u",
        &vars
    )?);
    Ok(())
}

#[test]
fn the_strings_extension_and_optional_first_work_as_in_flux_docs() -> Result<(), CelError> {
    let vars = [
        (
            "event",
            json!({"involvedObject": {"kind": "Kustomization", "name": "Apps"}}),
        ),
        (
            "provider",
            json!({"metadata": {"uid": "0c9c2e41-d2f9-4f9b-9c41-cbd3e4e5b8f1"}}),
        ),
    ];
    let id = string_of(
        "(event.involvedObject.kind + '/' + event.involvedObject.name + '/' + provider.metadata.uid.split('-').first().value()).lowerAscii()",
        &vars,
    )?;
    assert_eq!(id, "kustomization/apps/0c9c2e41");
    assert_eq!(string_of("['a', 'b'].last().value()", &[])?, "b");
    assert!(bool_of("![].first().hasValue()", &[])?);
    assert_eq!(
        string_of("'a-b'.replace('-', '_').upperAscii()", &[])?,
        "A_B"
    );
    Ok(())
}

#[test]
fn the_sets_extension_compares_lists_as_sets() -> Result<(), CelError> {
    assert!(bool_of("sets.contains([1, 2, 3], [3, 1])", &[])?);
    assert!(!bool_of("sets.contains([1, 2], [4])", &[])?);
    assert!(bool_of("sets.contains([1], [])", &[])?);
    assert!(bool_of("sets.equivalent([1, 2, 2], [2, 1])", &[])?);
    assert!(!bool_of("sets.equivalent([1, 2], [1])", &[])?);
    assert!(bool_of("sets.intersects(['a', 'b'], ['c', 'b'])", &[])?);
    assert!(!bool_of("sets.intersects([], [1])", &[])?);
    Ok(())
}

#[test]
fn encoders_and_macros_are_available() -> Result<(), CelError> {
    assert_eq!(string_of("string(base64.decode('aGk='))", &[])?, "hi");
    let conditions = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    let vars = [("status", conditions)];
    assert!(bool_of(
        "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')",
        &vars
    )?);
    assert!(bool_of(
        "has(status.conditions) && !has(status.missing)",
        &vars
    )?);
    Ok(())
}

#[test]
fn a_missing_field_is_an_evaluation_error_naming_the_expression() {
    let result = bool_of("status.phase == 'Ready'", &[("status", json!({}))]);
    let Err(CelError::Evaluate {
        expression,
        message,
    }) = result
    else {
        panic!("expected an evaluation error, got {result:?}");
    };
    assert_eq!(expression, "status.phase == 'Ready'");
    assert!(message.contains("phase"), "{message}");
}

#[test]
fn results_of_the_wrong_type_are_errors_like_flux() {
    let result = bool_of("'yes'", &[]);
    assert_eq!(
        result.map_err(|e| e.to_string()),
        Err("failed to evaluate CEL expression as boolean: ''yes''".to_owned())
    );
    let result = string_of("1 + 1", &[]);
    assert!(matches!(result, Err(CelError::NotString { .. })));
}

#[test]
fn invalid_syntax_is_a_parse_error() {
    let result = Expression::parse("status.conditions.exists(c, ");
    let Err(error) = result else {
        panic!("expected a parse error");
    };
    assert!(
        error
            .to_string()
            .starts_with("failed to parse the CEL expression 'status.conditions.exists(c, ': "),
        "{error}"
    );
}

#[test]
fn compiled_expressions_refuse_undeclared_variables() {
    let ok = Expression::compile("res.metadata.name == req.ref", &["res", "req"]);
    assert!(ok.is_ok(), "{ok:?}");
    let result = Expression::compile("res.metadata.name == body.ref", &["res", "req"]);
    assert!(
        matches!(&result, Err(CelError::Undeclared { name, .. }) if name == "body"),
        "{result:?}"
    );
}

#[test]
fn overlong_sources_are_refused_before_parsing() {
    let long = format!("'{}' == ''", "a".repeat(MAX_SOURCE_BYTES));
    assert!(matches!(
        Expression::parse(&long),
        Err(CelError::Parse { .. })
    ));
}

#[test]
fn nested_loops_over_a_wide_input_are_refused_before_running() -> Result<(), CelError> {
    let items: Vec<Value> = (0..2000).map(Value::from).collect();
    let vars = [("items", Value::from(items))];
    let nested = "items.all(a, items.all(b, items.all(c, a + b + c >= 0)))";
    let result = bool_of(nested, &vars);
    assert!(
        matches!(result, Err(CelError::TooCostly { .. })),
        "{result:?}"
    );
    assert!(bool_of("items.all(a, a >= 0)", &vars)?);
    Ok(())
}

#[test]
fn compiling_for_a_bool_refuses_results_known_not_to_be_bool() {
    let variables = &["res", "req"];
    let refused = |source: &str| Expression::compile_bool(source, variables).err();
    assert_eq!(
        refused("1 + 2").map(|e| e.to_string()),
        Some("CEL expression output type mismatch: expected bool, got int".to_owned())
    );
    assert_eq!(
        refused("req.ref.lowerAscii()").map(|e| e.to_string()),
        Some("CEL expression output type mismatch: expected bool, got string".to_owned())
    );
    assert!(matches!(
        refused("res.metadata.name"),
        Some(CelError::OutputType { got: "dyn", .. })
    ));
    assert!(matches!(
        refused("body == 1"),
        Some(CelError::Undeclared { .. })
    ));
    for accepted in [
        "res.metadata.name == req.component",
        "has(res.metadata.labels) && req.ref.startsWith('refs/heads/')",
        "req.commits.exists(c, c.added.size() > 0)",
    ] {
        assert!(
            Expression::compile_bool(accepted, variables).is_ok(),
            "{accepted}"
        );
    }
}
