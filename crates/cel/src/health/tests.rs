use super::*;
use serde_json::json;

fn check(kind: Option<&str>, current: &str, failed: Option<&str>) -> CustomHealthCheck {
    CustomHealthCheck {
        api_version: "example.com/v1".to_owned(),
        kind: kind.map(str::to_owned),
        current: current.to_owned(),
        in_progress: None,
        failed: failed.map(str::to_owned),
    }
}

fn widget(generation: i64, status: Value) -> Value {
    json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns", "generation": generation},
        "spec": {}, "status": status,
    })
}

fn status_of(rules: &HealthRules, object: &Value) -> Option<Status> {
    rules.status_of(object).map(|r| r.status)
}

#[test]
fn expressions_run_in_progress_then_failed_then_current() -> Result<(), HealthRulesError> {
    let mut entry = check(
        Some("Widget"),
        "status.phase == 'Ready' || status.phase == 'Both'",
        Some("status.phase == 'Broken' || status.phase == 'Both'"),
    );
    entry.in_progress = Some("status.phase == 'Starting'".to_owned());
    let rules = HealthRules::new(&[entry])?;
    let of = |phase: &str| status_of(&rules, &widget(1, json!({"phase": phase})));
    assert_eq!(of("Ready"), Some(Status::Current));
    assert_eq!(of("Broken"), Some(Status::Failed));
    assert_eq!(of("Both"), Some(Status::Failed));
    assert_eq!(of("Starting"), Some(Status::InProgress));
    assert_eq!(of("Other"), Some(Status::InProgress));
    Ok(())
}

#[test]
fn an_unobserved_generation_is_in_progress_before_any_expression() -> Result<(), HealthRulesError> {
    let rules = HealthRules::new(&[check(Some("Widget"), "true", None)])?;
    let stale = widget(2, json!({"observedGeneration": 1}));
    assert_eq!(status_of(&rules, &stale), Some(Status::InProgress));
    let seen = widget(2, json!({"observedGeneration": 2}));
    assert_eq!(status_of(&rules, &seen), Some(Status::Current));
    let textual = widget(2, json!({"observedGeneration": "1"}));
    assert_eq!(status_of(&rules, &textual), Some(Status::Current));
    Ok(())
}

#[test]
fn an_evaluation_error_is_unknown_with_the_error_as_message() -> Result<(), HealthRulesError> {
    let rules = HealthRules::new(&[check(Some("Widget"), "status.phase == 'Ready'", None)])?;
    let result = rules.status_of(&widget(1, json!({})));
    let Some(result) = result else {
        panic!("the rule covers Widget");
    };
    assert_eq!(result.status, Status::Unknown);
    assert!(
        result
            .message
            .starts_with("failed to evaluate the CEL expression 'status.phase == 'Ready''"),
        "{}",
        result.message
    );
    Ok(())
}

#[test]
fn a_kind_entry_wins_over_its_group_entry_and_other_kinds_are_not_covered()
-> Result<(), HealthRulesError> {
    let rules = HealthRules::new(&[
        check(None, "false", Some("true")),
        check(Some("Widget"), "true", None),
    ])?;
    assert_eq!(
        status_of(&rules, &widget(1, json!({}))),
        Some(Status::Current)
    );
    let mut gadget = widget(1, json!({}));
    gadget["kind"] = json!("Gadget");
    assert_eq!(status_of(&rules, &gadget), Some(Status::Failed));
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}});
    assert_eq!(status_of(&rules, &deployment), None);
    Ok(())
}

#[test]
fn invalid_entries_are_named_by_index_as_flux_names_them() {
    let missing = HealthRules::new(&[check(Some("Widget"), "", None)]);
    assert_eq!(
        missing.map(|_| ()).map_err(|e| e.to_string()),
        Err("failed to create custom status evaluator for healthchecks[0]: expression Current not specified".to_owned())
    );
    let bad = HealthRules::new(&[
        check(Some("Widget"), "true", None),
        check(Some("Gadget"), "true", Some("status.(")),
    ]);
    let message = bad.map(|_| ()).map_err(|e| e.to_string());
    assert!(
        message.as_ref().is_err_and(|m| m.starts_with(
            "failed to create custom status evaluator for healthchecks[1]: failed to parse the expression Failed: failed to parse the CEL expression 'status.('"
        )),
        "{message:?}"
    );
    let duplicate = HealthRules::new(&[
        check(Some("Widget"), "true", None),
        check(Some("Widget"), "false", None),
    ]);
    assert_eq!(
        duplicate.map(|_| ()).map_err(|e| e.to_string()),
        Err(
            "duplicate custom health check for GroupKind Widget.example.com at healthchecks[1]"
                .to_owned()
        )
    );
}
