//! `tether create source git` and `tether create kustomization` end to end: run as processes
//! against the local control plane, a `tether controller` and the testkit's smart-HTTP git
//! server with basic auth. The credentials become a Secret, both objects become Ready, and
//! the commands print Flux's progress lines, the fetched and the applied revision.

mod common;

use common::{ControllerProcess, tether, tether_ok, texts};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use tether_testkit::cluster::{TestNamespace, client, install_crds};
use tether_testkit::git::{GitRepoFixture, HttpGitServer};

const GIT_USER: &str = "git-user";
const GIT_PASSWORD: &str = "git-s3cret";

/// The stderr lines of a command, without trailing spaces.
fn lines(stderr: &str) -> Vec<String> {
    stderr.lines().map(|l| l.trim_end().to_owned()).collect()
}

#[tokio::test]
async fn source_git_and_kustomization_are_created_and_waited_for_as_flux_does() -> anyhow::Result<()>
{
    let client = client().await?;
    install_crds(&client, tether_api::crds()).await?;
    let ns = TestNamespace::create(&client, "create-verbs").await?;
    let name = ns.name.clone();
    let repo = GitRepoFixture::new("apps")?;
    let server = HttpGitServer::start(&repo.projects_root(), GIT_USER, GIT_PASSWORD)?;
    let config_map = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: created\n  namespace: {name}\ndata:\n  from: tether-create\n"
    );
    let sha = repo.commit("main", &[("deploy/config.yaml", &config_map)], "apps")?;
    let _controller = ControllerProcess::start(&name, &[])?;

    let url = server.repo_url("apps");
    let (stdout, stderr) = tether_ok(&[
        "create",
        "source",
        "git",
        "apps",
        "--url",
        &url,
        "--branch",
        "main",
        "--username",
        GIT_USER,
        "--password",
        GIT_PASSWORD,
        "--interval",
        "1m",
        "-n",
        &name,
    ])
    .await?;
    assert_eq!(stdout, "");
    let revision = format!("main@sha1:{sha}");
    assert_eq!(
        lines(&stderr),
        [
            "✚ generating GitRepository source",
            "⚠️ insecure configuration: credentials configured for an HTTP URL",
            "► applying secret with repository credentials",
            "✔ authentication configured",
            "► applying GitRepository source",
            "✔ GitRepository source created",
            "◎ waiting for GitRepository source reconciliation",
            "✔ GitRepository source reconciliation completed",
            &format!("✔ fetched revision: {revision}"),
        ]
    );
    assert!(
        !stderr.contains(GIT_PASSWORD),
        "the password is never printed"
    );
    let secret = ns.api::<Secret>().get("apps").await?;
    let data = secret.data.unwrap_or_default();
    assert_eq!(
        data.get("password").map(|v| v.0.as_slice()),
        Some(GIT_PASSWORD.as_bytes())
    );

    let (_, stderr) = tether_ok(&[
        "create",
        "kustomization",
        "apps",
        "--source",
        "GitRepository/apps",
        "--path",
        "./deploy",
        "--prune",
        "-n",
        &name,
    ])
    .await?;
    assert_eq!(
        lines(&stderr),
        [
            "✚ generating Kustomization",
            "► applying Kustomization",
            "✔ Kustomization created",
            "◎ waiting for Kustomization reconciliation",
            "✔ Kustomization apps is ready",
            &format!("✔ applied revision {revision}"),
        ]
    );
    let applied = ns.api::<ConfigMap>().get("created").await?;
    assert_eq!(
        applied
            .data
            .unwrap_or_default()
            .get("from")
            .map(String::as_str),
        Some("tether-create")
    );

    // Running it again updates the object in place.
    let (_, stderr) = tether_ok(&[
        "create",
        "kustomization",
        "apps",
        "--source",
        "GitRepository/apps",
        "--path",
        "./deploy",
        "--prune=false",
        "-n",
        &name,
    ])
    .await?;
    assert!(
        lines(&stderr).contains(&"✔ Kustomization updated".to_owned()),
        "{stderr}"
    );

    // A Kustomization whose path does not exist fails with the controller's message (when it
    // stalls, or once the timeout is spent), naming the object.
    let failed = tether(&[
        "create",
        "kustomization",
        "broken",
        "--source",
        "apps",
        "--path",
        "./missing",
        "--timeout",
        "20s",
        "-n",
        &name,
    ])
    .await?;
    let (_, stderr) = texts(&failed);
    assert!(!failed.status.success());
    let last = lines(&stderr).pop().unwrap_or_default();
    assert!(
        last.starts_with('✗')
            && last.contains(&format!("Kustomization '{name}/broken'"))
            && last.contains("missing"),
        "{stderr}"
    );
    Ok(())
}

#[tokio::test]
async fn tenant_objects_are_created_then_updated_in_place() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
    use k8s_openapi::api::rbac::v1::RoleBinding;
    use kube::api::Api;
    let client = client().await?;
    let ns = TestNamespace::create(&client, "tenant").await?;
    let name = ns.name.clone();
    let create = |role: &'static str| {
        let name = name.clone();
        async move {
            let args = ["create", "tenant", "team", "--with-namespace", &name];
            tether_ok(&[&args[..], &["--cluster-role", role, "--label", "tier=apps"]].concat())
                .await
        }
    };
    let (stdout, stderr) = create("edit").await?;
    assert_eq!(stdout, "");
    assert_eq!(
        lines(&stderr),
        [
            format!("► applying namespace {name}"),
            "► applying service account team".to_owned(),
            "► applying role binding team-reconciler".to_owned(),
            "✔ tenant setup completed".to_owned(),
        ]
    );
    let labels = |meta: &kube::api::ObjectMeta| meta.labels.clone().unwrap_or_default();
    let namespace = Api::<Namespace>::all(client.clone()).get(&name).await?;
    assert_eq!(
        labels(&namespace.metadata)
            .get("toolkit.fluxcd.io/tenant")
            .map(String::as_str),
        Some("team")
    );
    let account = Api::<ServiceAccount>::namespaced(client.clone(), &name)
        .get("team")
        .await?;
    assert_eq!(
        labels(&account.metadata).get("tier").map(String::as_str),
        Some("apps")
    );
    let bindings = Api::<RoleBinding>::namespaced(client.clone(), &name);
    let binding = bindings.get("team-reconciler").await?;
    assert_eq!(binding.role_ref.name, "edit");
    let subjects = binding.subjects.unwrap_or_default();
    assert_eq!(subjects[0].name, format!("gotk:{name}:reconciler"));
    assert_eq!(subjects[1].name, "team");

    // Again with another role: the RoleBinding is replaced, the rest stays.
    create("view").await?;
    let binding = bindings.get("team-reconciler").await?;
    assert_eq!(binding.role_ref.name, "view");
    let again = Api::<ServiceAccount>::namespaced(client.clone(), &name)
        .get("team")
        .await?;
    assert_eq!(again.metadata.uid, account.metadata.uid);
    Ok(())
}
