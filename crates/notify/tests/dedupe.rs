//! Skipping commit statuses the forge already shows: the lookup request derived from the
//! status-creating one, and the duplicate decision on answers shaped as each forge's API
//! documents them (canned here: the forges cannot be reached from this machine).

use std::{fs, path::PathBuf};

use serde::Deserialize;
use tether_api::notification::v1beta3::ProviderType;
use tether_notify::{
    Event, HttpRequest, ProviderSettings,
    provider::dedupe::{LookupError, is_duplicate, status_lookup},
    requests_for,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Deserialize)]
struct Input {
    provider: ProviderType,
    settings: serde_json::Value,
    event: Event,
}

/// The status-creating request of golden case `case`.
fn create(case: &str) -> Result<(ProviderType, HttpRequest), Box<dyn std::error::Error>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata")
        .join(case)
        .join("input.json");
    let input: Input = serde_json::from_str(&fs::read_to_string(path)?)?;
    let text = |key: &str| input.settings[key].as_str().unwrap_or_default().to_owned();
    let settings = ProviderSettings {
        address: text("address"),
        token: text("token"),
        password: text("password"),
        commit_status: text("commitStatus"),
        ..ProviderSettings::default()
    };
    let mut requests = requests_for(input.provider, &input.event, &settings)?;
    let request = requests.pop().ok_or("no request")?;
    Ok((input.provider, request))
}

#[test]
fn lookups_read_the_statuses_of_the_same_commit_with_the_same_credentials() -> TestResult {
    let sha = "5394cb7f48332b2de7c17dd8b8384bbc84b7e738";
    let cases = [
        (
            "github",
            format!("https://api.github.com/repos/org/repo/commits/{sha}/statuses?per_page=50"),
        ),
        (
            "gitlab",
            format!(
                "https://gitlab.com/api/v4/projects/group%2Fsub%2Frepo/repository/commits/{sha}/statuses?name=kustomization%2Fweb%2F0c9c2e41"
            ),
        ),
        (
            "bitbucket",
            format!(
                "https://api.bitbucket.org/2.0/repositories/team/repo/commit/{sha}/statuses/build/813d0558efd3596348d950ff99a7fbf8281dff35"
            ),
        ),
        (
            "bitbucketserver",
            format!(
                "https://bitbucket.example.com/ctx/rest/api/latest/projects/proj/repos/repo/commits/{sha}/builds?key=813d0558efd3596348d950ff99a7fbf8281dff35"
            ),
        ),
    ];
    for (case, url) in cases {
        let (provider, create) = create(case)?;
        let lookup = status_lookup(provider, &create).ok_or("no lookup")?;
        assert_eq!(lookup.method, "GET");
        assert_eq!(lookup.url, url, "{case}");
        assert_eq!(
            lookup.header("Authorization"),
            create.header("Authorization")
        );
        assert!(lookup.body.is_empty());
    }
    let (provider, gitea) = create("gitea")?;
    assert!(status_lookup(provider, &gitea).is_none());
    Ok(())
}

#[test]
fn a_github_status_repeating_the_latest_one_for_its_context_is_skipped() -> TestResult {
    let (provider, create) = create("github")?;
    let same = br#"[{"context":"other","state":"failure","description":"x"},
        {"context":"kustomization/web/0c9c2e41","state":"success","description":"reconciliation succeeded"},
        {"context":"kustomization/web/0c9c2e41","state":"failure","description":"health check failed"}]"#;
    assert!(is_duplicate(provider, &create, 200, same)?);
    let changed = br#"[{"context":"kustomization/web/0c9c2e41","state":"failure","description":"health check failed"},
        {"context":"kustomization/web/0c9c2e41","state":"success","description":"reconciliation succeeded"}]"#;
    assert!(!is_duplicate(provider, &create, 200, changed)?);
    assert!(!is_duplicate(provider, &create, 200, b"[]")?);
    assert_eq!(
        is_duplicate(provider, &create, 401, b"{}"),
        Err(LookupError::Status(401))
    );
    Ok(())
}

#[test]
fn gitlab_and_bitbucket_duplicates_follow_their_apis() -> TestResult {
    let (gitlab, create_gitlab) = create("gitlab")?;
    let listed = br#"[{"sha":"5394cb7f48332b2de7c17dd8b8384bbc84b7e738","status":"failed",
        "name":"kustomization/web/0c9c2e41","description":"health check failed"}]"#;
    assert!(is_duplicate(gitlab, &create_gitlab, 200, listed)?);
    let (bitbucket, create_bitbucket) = create("bitbucket")?;
    assert!(!is_duplicate(
        bitbucket,
        &create_bitbucket,
        404,
        b"not found"
    )?);
    let existing = br#"{"key":"813d0558efd3596348d950ff99a7fbf8281dff35","state":"SUCCESSFUL",
        "description":"reconciliation succeeded","name":"kustomization/web"}"#;
    assert!(is_duplicate(bitbucket, &create_bitbucket, 200, existing)?);
    let (server, create_server) = create("bitbucketserver")?;
    let build = br#"{"key":"813d0558efd3596348d950ff99a7fbf8281dff35","state":"FAILED",
        "description":"health check failed","name":"kustomization/web [health check failed]"}"#;
    assert!(is_duplicate(server, &create_server, 200, build)?);
    assert!(matches!(
        is_duplicate(server, &create_server, 200, b"<html>"),
        Err(LookupError::Body(_))
    ));
    Ok(())
}

#[test]
fn an_azure_devops_status_is_a_duplicate_only_for_the_same_name_and_genre() -> TestResult {
    let (provider, create) = create("azuredevops")?;
    let statuses = br#"{"count":2,"value":[
        {"context":{"name":"kustomization/web/0c9c2e41","genre":"fluxcd"},"state":"error","description":"health check failed"},
        {"context":{"name":"kustomization/web/0c9c2e41","genre":"fluxcd:Production cluster"},"state":"error","description":"health check failed"}]}"#;
    assert!(is_duplicate(provider, &create, 200, statuses)?);
    let other_genre = br#"{"value":[{"context":{"name":"kustomization/web/0c9c2e41","genre":"fluxcd"},"state":"error","description":"health check failed"}]}"#;
    assert!(!is_duplicate(provider, &create, 200, other_genre)?);
    Ok(())
}
