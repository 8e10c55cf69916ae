//! `GitRepository.spec.verify` end to end: commits signed by git with Debian's gpg and with
//! ssh-keygen (`gpg.format=ssh`), pushed to the real sshd on loopback, fetched by the in-process
//! controller and applied by a Kustomization. An unsigned or wrongly signed commit on top of
//! signed ones is never applied: the GitRepository says why, naming the commit, and the
//! Kustomization keeps the last verified revision; a signed commit after it is applied again.

mod common;

use anyhow::Result;
use common::InProcessController;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Secret};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};
use std::time::Duration;
use tether_testkit::cluster::wait_for;
use tether_testkit::flux::{
    GitSourceFixture, WAIT, condition, create, dynamic_api, kustomization, kustomizations,
    merge_patch, wait_ready_where,
};
use tether_testkit::git::{CommitSigner, GitRepoFixture, SshSigningKey};
use tether_testkit::sops::gpg_key;

fn config_map(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  value: \"{value}\"\n"
    )
}

fn commit_config(
    repo: &GitRepoFixture,
    value: &str,
    signer: Option<&CommitSigner>,
) -> Result<String> {
    let content = config_map(value);
    let files = [("deploy/config.yaml", content.as_str())];
    match signer {
        Some(signer) => repo.commit_signed("master", &files, value, signer),
        None => repo.commit("master", &files, value),
    }
}

async fn create_secret(client: &kube::Client, ns: &str, name: &str, data: Value) -> Result<()> {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns}, "stringData": data
    }))?;
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await?;
    Ok(())
}

fn git_repositories(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    dynamic_api(
        client,
        ns,
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    )
}

/// Waits until GitRepository `name`'s condition `type_` satisfies `check`; returns the object.
async fn wait_condition(
    api: &Api<DynamicObject>,
    name: &str,
    type_: &str,
    check: impl Fn(&str, &str, &str) -> bool,
) -> Result<Value> {
    let object = wait_for(api, name, WAIT, |o| {
        let value = serde_json::to_value(o).unwrap_or_default();
        condition(&value, type_).is_some_and(|(s, r, m)| check(&s, &r, &m))
    })
    .await?;
    Ok(serde_json::to_value(object)?)
}

async fn applied_value(client: &kube::Client, ns: &str) -> Result<Option<String>> {
    let found = Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get_opt("web")
        .await?;
    Ok(found.and_then(|c| c.data?.get("value").cloned()))
}

async fn wait_applied(client: &kube::Client, ns: &str, value: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + WAIT;
    while applied_value(client, ns).await?.as_deref() != Some(value) {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "ConfigMap web never got value {value}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_commit_on_top_of_signed_ones_is_not_applied() -> Result<()> {
    let signer = gpg_key("tether-verify")?;
    let stranger = gpg_key("tether-stranger")?;
    let gpg = signer.signer();
    let source = GitSourceFixture::start_with(
        "verify",
        "2s",
        |repo| commit_config(repo, "signed-1", Some(&gpg)).map(drop),
        json!({"verify": {"mode": "HEAD", "secretRef": {"name": "pgp-public-keys"}}}),
    )
    .await?;
    let (client, ns) = (source.client.clone(), source.ns.name.clone());
    create_secret(
        &client,
        &ns,
        "pgp-public-keys",
        json!({"author.asc": signer.public_armored}),
    )
    .await?;
    let _controller = InProcessController::start(&ns).await?;
    let sources = git_repositories(&client, &ns);
    let first = source.repo.rev_parse("refs/heads/master")?;
    let key_id = signer.fingerprint[signer.fingerprint.len() - 16..].to_ascii_uppercase();
    let repo = wait_condition(&sources, "app", "SourceVerified", |s, _, _| s == "True").await?;
    assert_eq!(
        condition(&repo, "SourceVerified").map(|c| c.2),
        Some(format!(
            "verified signature of\n\t- commit '{first}' with key '{key_id}'"
        ))
    );
    assert_eq!(repo["status"]["sourceVerificationMode"], "HEAD");

    let kustomizations = kustomizations(&client, &ns);
    let mut app = kustomization("app", &ns, &ns, "./deploy");
    app["spec"]["interval"] = json!("2s");
    create(&kustomizations, app).await?;
    wait_ready_where(&kustomizations, "app", |s, _, _| s == "True").await?;
    wait_applied(&client, &ns, "signed-1").await?;

    let second = commit_config(&source.repo, "signed-2", Some(&gpg))?;
    wait_applied(&client, &ns, "signed-2").await?;

    let unsigned = commit_config(&source.repo, "unsigned-3", None)?;
    let unsigned_message = format!(
        "signature verification of commit '{unsigned}' failed: unsupported signature type: empty"
    );
    let repo = wait_ready_where(&sources, "app", |s, r, m| {
        s == "False" && r == "InvalidCommitSignature" && m == unsigned_message
    })
    .await?;
    assert_eq!(
        condition(&repo, "SourceVerified"),
        Some((
            "False".into(),
            "InvalidCommitSignature".into(),
            unsigned_message.clone()
        ))
    );
    assert_eq!(
        repo["status"]["artifact"]["revision"],
        format!("master@sha1:{second}")
    );
    let events = Api::<Event>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await?;
    assert!(
        events
            .items
            .iter()
            .any(|e| e.type_.as_deref() == Some("Warning")
                && e.reason.as_deref() == Some("InvalidCommitSignature")
                && e.message.as_deref() == Some(unsigned_message.as_str())),
        "no Warning event names the unsigned commit"
    );
    // The Kustomization runs every 2 s: several runs later it still has the signed revision.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        applied_value(&client, &ns).await?.as_deref(),
        Some("signed-2")
    );
    let ks = serde_json::to_value(kustomizations.get("app").await?)?;
    assert_eq!(
        ks["status"]["lastAppliedRevision"],
        format!("master@sha1:{second}")
    );

    let forged = commit_config(&source.repo, "forged-4", Some(&stranger.signer()))?;
    let forged_message = format!(
        "signature verification of commit '{forged}' failed: unable to verify Git commit: \
         unable to verify payload with any of the given key rings: no matching key"
    );
    wait_ready_where(&sources, "app", |s, _, m| {
        s == "False" && m == forged_message
    })
    .await?;
    assert_eq!(
        applied_value(&client, &ns).await?.as_deref(),
        Some("signed-2")
    );

    let fifth = commit_config(&source.repo, "signed-5", Some(&gpg))?;
    wait_ready_where(&sources, "app", |s, _, m| {
        s == "True" && m.contains(fifth.as_str())
    })
    .await?;
    wait_applied(&client, &ns, "signed-5").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_signed_tags_and_commits_verify_with_authorized_keys() -> Result<()> {
    let tagger = SshSigningKey::generate("tagger@tether.test")?;
    let ssh = tagger.signer();
    let source = GitSourceFixture::start_with(
        "verify-ssh",
        "2s",
        |repo| {
            let commit = commit_config(repo, "tagged-1", None)?;
            repo.tag_signed("v1.0.0", &commit, "release 1.0.0", &ssh)
                .map(drop)
        },
        json!({"ref": {"tag": "v1.0.0"},
               "verify": {"mode": "Tag", "secretRef": {"name": "ssh-public-keys"}}}),
    )
    .await?;
    let (client, ns) = (source.client.clone(), source.ns.name.clone());
    create_secret(
        &client,
        &ns,
        "ssh-public-keys",
        json!({"team.sshpub": format!("# release managers\n{}\n", tagger.public_key)}),
    )
    .await?;
    let _controller = InProcessController::start(&ns).await?;
    let sources = git_repositories(&client, &ns);
    let tag_object = source.repo.rev_parse("refs/tags/v1.0.0")?;
    let repo = wait_condition(&sources, "app", "SourceVerified", |s, _, _| s == "True").await?;
    let message = condition(&repo, "SourceVerified").map(|c| c.2);
    assert!(
        message.as_deref().is_some_and(|m| m.starts_with(&format!(
            "verified signature of\n\t- tag 'v1.0.0@{tag_object}' with key 'SHA256:"
        ))),
        "{message:?}"
    );
    assert_eq!(repo["status"]["sourceVerificationMode"], "Tag");

    // TagAndHEAD asks for the commit too, and the tagged commit is not signed.
    merge_patch(
        &sources,
        "app",
        json!({"spec": {"verify": {"mode": "TagAndHEAD"}}}),
    )
    .await?;
    let commit = source.repo.rev_parse("refs/tags/v1.0.0^{commit}")?;
    wait_ready_where(&sources, "app", |s, r, m| {
        s == "False"
            && r == "InvalidCommitSignature"
            && m == format!(
                "signature verification of commit '{commit}' failed: unsupported signature type: empty"
            )
    })
    .await?;

    // A branch whose head is signed with the SSH key verifies in HEAD mode.
    let head = commit_config(&source.repo, "ssh-signed", Some(&ssh))?;
    create(
        &sources,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
               "metadata": {"name": "head", "namespace": ns},
               "spec": {"url": source.url_of(&source.repo), "interval": "1m",
                        "ref": {"branch": "master"}, "secretRef": {"name": "ssh-credentials"},
                        "verify": {"mode": "HEAD", "secretRef": {"name": "ssh-public-keys"}}}}),
    )
    .await?;
    let repo = wait_condition(&sources, "head", "SourceVerified", |s, _, _| s == "True").await?;
    assert_eq!(
        repo["status"]["artifact"]["revision"],
        format!("master@sha1:{head}")
    );

    // Tag mode on a branch reference is a spec error: stalled, as Flux does.
    merge_patch(
        &sources,
        "head",
        json!({"spec": {"verify": {"mode": "Tag"}}}),
    )
    .await?;
    let repo = wait_ready_where(&sources, "head", |s, r, _| {
        s == "False" && r == "InvalidVerificationMode"
    })
    .await?;
    assert_eq!(
        condition(&repo, "Stalled").map(|c| c.0).as_deref(),
        Some("True")
    );
    Ok(())
}
