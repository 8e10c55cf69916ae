//! Release records against the Go-built `helm` (`TETHER_HELM`) and a real cluster
//! (`TETHER_TEST_KUBECONFIG`): tether decodes the Secrets `helm install`/`upgrade` write, field
//! for field as `helm history/get` show them and byte for byte when re-encoded; and `helm
//! list/history/get/rollback/upgrade` work on records tether builds and writes, `maxHistory`
//! pruning included; helm runs hooks in the order tether plans them.

mod common;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail, ensure};
use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use serde_json::{Value as Json, json};
use tether_helm::release::hooks::{HookEvent, hooks_for};
use tether_helm::release::storage::{self, History, ReleaseSecret, Write};
use tether_helm::release::{ApplyMethod, GoTime, NewRecord, Release, Status};
use tether_helm::values::floats;
use tether_helm::{ReleaseOptions, TemplateOptions, load, template_for_release};
use tether_testkit::cluster::TestNamespace;

/// The helm binary, a kubeconfig (none for client-side dry runs) and a private helm home.
struct Env {
    helm: PathBuf,
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
}

/// The environment for the cluster tests; `None` (with a message) when they must be skipped.
fn env() -> anyhow::Result<Option<Env>> {
    let Some(helm) = common::helm_binary() else {
        return Ok(None);
    };
    let Some(kubeconfig) = std::env::var_os("TETHER_TEST_KUBECONFIG") else {
        println!("TETHER_TEST_KUBECONFIG is unset (start dev/cluster.sh); skipping");
        return Ok(None);
    };
    Ok(Some(Env {
        helm,
        kubeconfig: PathBuf::from(kubeconfig),
        home: tempfile::tempdir()?,
    }))
}

/// The environment for tests that need helm but no cluster.
fn offline_env() -> anyhow::Result<Option<Env>> {
    let Some(helm) = common::helm_binary() else {
        return Ok(None);
    };
    let home = tempfile::tempdir()?;
    Ok(Some(Env {
        helm,
        kubeconfig: home.path().join("no-cluster.kubeconfig"),
        home,
    }))
}

impl Env {
    fn dir(&self) -> &Path {
        self.home.path()
    }

    fn helm(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = std::process::Command::new(&self.helm)
            .args(args)
            .current_dir(self.dir())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_CACHE_HOME", self.dir().join(".helm/cache"))
            .env("HELM_CONFIG_HOME", self.dir().join(".helm/config"))
            .env("HELM_DATA_HOME", self.dir().join(".helm/data"))
            .output()
            .context("helm runs")?;
        if !out.status.success() {
            bail!(
                "helm {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    fn helm_json(&self, args: &[&str]) -> anyhow::Result<Json> {
        let text = self.helm(args)?;
        serde_json::from_str(&text).with_context(|| format!("helm printed {text}"))
    }

    /// `helm create <name>`, plus a ConfigMap hook of ours so records carry a hook that runs.
    fn create_chart(&self, name: &str) -> anyhow::Result<PathBuf> {
        self.helm(&["create", name])?;
        let dir = self.dir().join(name);
        std::fs::write(
            dir.join("templates/hook-config.yaml"),
            concat!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n",
                "  name: {{ .Release.Name }}-hook\n",
                "  annotations:\n",
                "    \"helm.sh/hook\": pre-install,pre-upgrade\n",
                "    \"helm.sh/hook-weight\": \"-2\"\n",
                "    \"helm.sh/hook-delete-policy\": before-hook-creation\n",
                "data:\n  revision: \"{{ .Release.Revision }}\"\n",
            ),
        )?;
        Ok(dir)
    }

    /// A chart written here: a ConfigMap carrying a value, a pre/post-rollback hook, notes.
    fn ledger_chart(&self) -> anyhow::Result<PathBuf> {
        let dir = self.dir().join("ledger");
        let files = [
            (
                "Chart.yaml",
                "apiVersion: v2\nname: ledger\nversion: 0.3.0\nappVersion: \"1.2\"\ndescription: A <small> & plain chart\nannotations:\n  owner: tether\n",
            ),
            ("values.yaml", "greeting: hello\ncount: 3\n"),
            (
                "templates/config.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  count: {{ .Values.count | quote }}\n",
            ),
            (
                "templates/hook.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-rollback-mark\n  annotations:\n    helm.sh/hook: pre-rollback,post-rollback\n    helm.sh/hook-weight: \"5\"\n    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\ndata:\n  at: \"{{ .Release.Revision }}\"\n",
            ),
            (
                "templates/NOTES.txt",
                "Ledger {{ .Release.Name }} says {{ .Values.greeting }}.\n",
            ),
        ];
        for (path, text) in files {
            let file = dir.join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(file, text)?;
        }
        Ok(dir)
    }
}

/// A chart written here to exercise the stored chart: a vendored subchart enabled by a
/// condition with import-values, a schema, a lock, maintainers, annotations, keywords, a
/// binary file, characters Go's JSON escapes, a hook with every policy, notes.
fn atlas_chart(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = root.join("atlas");
    let files: &[(&str, &[u8])] = &[
        (
            "Chart.yaml",
            b"apiVersion: v2\nname: atlas\nversion: 1.4.0-rc.1+build.7\nappVersion: \"2.0\"\ndescription: Maps <everything> & more\nhome: https://example.com/atlas\nsources:\n  - https://example.com/src\nkeywords: [maps, tiles]\nmaintainers:\n  - name: Ada\n    email: ada@example.com\n  - name: Bo\n    url: https://bo.example\nannotations:\n  category: Geo\n  artifacthub.io/license: MIT\nkubeVersion: \">=1.20.0-0\"\ndependencies:\n  - name: beacon\n    version: 0.2.x\n    repository: file://charts/beacon\n    condition: beacon.enabled\n    tags: [signals]\n    import-values:\n      - child: exported\n        parent: fromBeacon\n      - defaults\n",
        ),
        (
            "Chart.lock",
            b"dependencies:\n- name: beacon\n  repository: file://charts/beacon\n  version: 0.2.1\ndigest: sha256:0123456789abcdef\ngenerated: \"2026-11-30T10:11:12.131415Z\"\n",
        ),
        (
            "values.yaml",
            b"replicas: 2\nratio: 0.25\nbig: 12345678901\nname: atlas\nbeacon:\n  enabled: false\nlist: [1, two, {three: 3}]\n",
        ),
        (
            "values.schema.json",
            b"{\"type\": \"object\", \"properties\": {\"replicas\": {\"type\": \"integer\"}}}\n",
        ),
        ("README.md", b"# Atlas\n<b>bold</b> & \"quoted\"\n"),
        ("files/blob.bin", b"\x00\x01\xfe\xffbinary"),
        (
            "templates/config.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  ratio: {{ .Values.ratio | quote }}\n  imported: {{ .Values.fromBeacon | toJson | quote }}\n  html: \"<a href='x'>&</a>\"\n",
        ),
        (
            "templates/job.yaml",
            b"apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n  annotations:\n    helm.sh/hook: pre-install,test-success\n    helm.sh/hook-weight: \"-3\"\n    helm.sh/hook-delete-policy: hook-succeeded, Hook-Failed\n    helm.sh/hook-output-log-policy: hook-failed\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: m\n          image: busybox\n",
        ),
        ("templates/NOTES.txt", b"Atlas {{ .Release.Name }} in {{ .Release.Namespace }}.\n"),
        (
            "charts/beacon/Chart.yaml",
            b"apiVersion: v2\nname: beacon\nversion: 0.2.1\n",
        ),
        (
            "charts/beacon/values.yaml",
            b"exported:\n  level: 9\nexports:\n  defaults:\n    beaconDefault: on\nenabled: true\n",
        ),
        (
            "charts/beacon/templates/svc.yaml",
            b"apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-beacon\nspec:\n  ports: [{port: 80}]\n",
        ),
    ];
    for (path, data) in files {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, data)?;
    }
    Ok(dir)
}

/// The Secrets of release `name`, each with its decoded record, oldest first.
async fn stored(api: &Api<Secret>, name: &str) -> anyhow::Result<Vec<(Secret, Release)>> {
    let list = api
        .list(&ListParams::default().labels(&storage::history_selector(name)))
        .await?;
    let mut out = Vec::new();
    for secret in list.items {
        let data = secret
            .data
            .as_ref()
            .and_then(|d| d.get(storage::DATA_KEY))
            .context("secret without release data")?;
        let labels = secret.metadata.labels.clone().unwrap_or_default();
        let release = storage::decode_secret(&labels, &data.0)?;
        out.push((secret, release));
    }
    out.sort_by_key(|(_, r)| r.version);
    Ok(out)
}

/// The JSON text inside a Secret, as Helm wrote it.
fn stored_json(secret: &Secret) -> anyhow::Result<String> {
    let data = secret
        .data
        .as_ref()
        .and_then(|d| d.get(storage::DATA_KEY))
        .context("secret without release data")?;
    let gz = base64::engine::general_purpose::STANDARD.decode(&data.0)?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice()).read_to_string(&mut text)?;
    Ok(text)
}

fn first_difference(want: &str, got: &str) -> String {
    let at = want
        .bytes()
        .zip(got.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let show = |s: &str| {
        s.get(at.saturating_sub(60)..(at + 60).min(s.len()))
            .unwrap_or("")
            .to_owned()
    };
    format!(
        "at byte {at}:\n helm:   {}\n tether: {}",
        show(want),
        show(got)
    )
}

fn secret_object(s: &ReleaseSecret, resource_version: Option<String>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(s.name.clone()),
            namespace: Some(s.namespace.clone()),
            labels: Some(s.labels.clone()),
            resource_version,
            ..ObjectMeta::default()
        },
        type_: Some(s.type_.clone()),
        data: Some(BTreeMap::from([(
            storage::DATA_KEY.to_owned(),
            ByteString(s.release_data.clone()),
        )])),
        ..Secret::default()
    }
}

async fn create_record(api: &Api<Secret>, r: &Release, now: i64) -> anyhow::Result<()> {
    let s = storage::encode_secret(r, &Write::Create { now })?;
    api.create(&PostParams::default(), &secret_object(&s, None))
        .await?;
    Ok(())
}

async fn update_record(api: &Api<Secret>, r: &Release, now: i64) -> anyhow::Result<()> {
    let name = storage::secret_name(&r.name, r.version);
    let old = api.get(&name).await?;
    let created_at = old
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("createdAt").cloned());
    let s = storage::encode_secret(r, &Write::Update { now, created_at })?;
    api.replace(
        &name,
        &PostParams::default(),
        &secret_object(&s, old.metadata.resource_version.clone()),
    )
    .await?;
    Ok(())
}

/// Checks `record` against what helm's commands show for its revision.
fn check_helm_views(env: &Env, ns: &str, record: &Release, history: &Json) -> anyhow::Result<()> {
    let rev = record.version.to_string();
    let name = record.name.as_str();
    let info = record.info.as_ref().context("record without info")?;
    let chart = record.chart.as_ref().context("record without chart")?;
    let metadata = chart.metadata.as_ref().context("chart without metadata")?;
    let entry = history
        .as_array()
        .and_then(|h| h.iter().find(|e| e["revision"] == json!(record.version)))
        .with_context(|| format!("revision {rev} missing from helm history {history}"))?;
    ensure!(
        entry["status"] == json!(info.status.as_str()),
        "status: {entry}"
    );
    ensure!(
        entry["description"] == json!(info.description),
        "description: {entry}"
    );
    ensure!(
        entry["chart"] == json!(format!("{}-{}", metadata.name, metadata.version)),
        "chart: {entry}"
    );
    ensure!(
        entry["app_version"] == json!(metadata.app_version),
        "app_version: {entry}"
    );
    ensure!(
        entry["updated"] == json!(info.last_deployed.to_rfc3339_nano()),
        "updated: {entry} vs {}",
        info.last_deployed.to_rfc3339_nano()
    );
    let values = env.helm_json(&[
        "get",
        "values",
        name,
        "-n",
        ns,
        "--revision",
        &rev,
        "-o",
        "json",
    ])?;
    let ours = if record.config.is_empty() {
        Json::Null
    } else {
        record.config_json()
    };
    // Decoded numbers are float64, as in Helm; compare them as numbers.
    let (values, ours) = (floats(values), floats(ours));
    ensure!(values == ours, "values: helm {values} tether {ours}");
    let manifest = env.helm(&["get", "manifest", name, "-n", ns, "--revision", &rev])?;
    ensure!(
        manifest == format!("{}\n", record.manifest),
        "manifest differs:\n{manifest}"
    );
    let hooks = env.helm(&["get", "hooks", name, "-n", ns, "--revision", &rev])?;
    let ours: String = record
        .hooks
        .iter()
        .map(|h| format!("---\n# Source: {}\n{}\n", h.path, h.manifest))
        .collect();
    ensure!(hooks == ours, "hooks: helm\n{hooks}\ntether\n{ours}");
    let notes = env.helm(&["get", "notes", name, "-n", ns, "--revision", &rev])?;
    let ours = if info.notes.is_empty() {
        String::new()
    } else {
        format!("NOTES:\n{}\n", info.notes)
    };
    ensure!(notes == ours, "notes: helm {notes:?} tether {ours:?}");
    let md = env.helm_json(&[
        "get",
        "metadata",
        name,
        "-n",
        ns,
        "--revision",
        &rev,
        "-o",
        "json",
    ])?;
    ensure!(md["chart"] == json!(metadata.name), "metadata chart: {md}");
    ensure!(
        md["version"] == json!(metadata.version),
        "metadata version: {md}"
    );
    ensure!(
        md["namespace"] == json!(record.namespace),
        "metadata namespace: {md}"
    );
    ensure!(
        md["status"] == json!(info.status.as_str()),
        "metadata status: {md}"
    );
    let annotations: BTreeMap<String, String> =
        serde_json::from_value(md.get("annotations").cloned().unwrap_or(json!({})))?;
    ensure!(annotations == metadata.annotations, "annotations: {md}");
    let labels: BTreeMap<String, String> =
        serde_json::from_value(md.get("labels").cloned().unwrap_or(json!({})))?;
    let custom: BTreeMap<String, String> = labels
        .into_iter()
        .filter(|(k, _)| !storage::SYSTEM_LABELS.contains(&k.as_str()))
        .collect();
    ensure!(
        custom == record.labels,
        "labels: {md} vs {:?}",
        record.labels
    );
    Ok(())
}

fn user_values(pairs: &[&str]) -> anyhow::Result<tether_helm::Values> {
    let sources = tether_helm::user_values::ValueSources {
        set: pairs.iter().map(|p| (*p).to_owned()).collect(),
        ..Default::default()
    };
    Ok(tether_helm::user_values::merge_user_values(
        &sources,
        &|_| Err("no files".into()),
    )?)
}

fn render(
    chart_dir: &Path,
    name: &str,
    ns: &str,
    revision: i64,
    values: &tether_helm::Values,
) -> anyhow::Result<(tether_helm::Rendered, tether_helm::Chart)> {
    let chart = load::load_path(chart_dir, load::Limits::default())?;
    let opts = TemplateOptions {
        release: ReleaseOptions {
            name: name.into(),
            namespace: ns.into(),
            revision,
            is_upgrade: revision > 1,
        },
        values: values.clone(),
        ..TemplateOptions::default()
    };
    Ok(template_for_release(chart, &opts)?)
}

#[test]
fn tether_builds_the_install_record_helm_builds_byte_for_byte() -> anyhow::Result<()> {
    let Some(env) = offline_env()? else {
        return Ok(());
    };
    let chart_dir = atlas_chart(env.dir())?;
    let chart_arg = chart_dir.to_string_lossy().into_owned();
    let set = ["beacon.enabled=true", "replicas=3", "name=x<y>&z"];
    let mut args = vec![
        "install",
        "maps",
        &chart_arg,
        "-n",
        "geo",
        "--dry-run=client",
        "-o",
        "json",
    ];
    for s in &set {
        args.extend(["--set", s]);
    }
    let printed = env.helm(&args)?;
    let theirs = Release::from_json_bytes(printed.as_bytes())?;
    let reencoded = theirs.to_json_string();
    assert!(
        format!("{reencoded}\n") == printed,
        "re-encoding differs {}",
        first_difference(&printed, &reencoded)
    );

    let values = user_values(&set)?;
    let (rendered, processed) = render(&chart_dir, "maps", "geo", 1, &values)?;
    let their_info = theirs.info.as_ref().context("no info")?;
    let record = NewRecord {
        chart: &processed,
        sorted: &rendered.sorted,
        config: values,
        now: their_info.first_deployed,
        apply_method: ApplyMethod::ServerSide,
    };
    let mut ours = Release::for_install("maps", "geo", record)?;
    ours.set_status(Status::PendingInstall, "Dry run complete");
    let built = format!("{}\n", ours.to_json_string());
    assert!(
        built == printed,
        "tether's record differs {}",
        first_difference(&printed, &built)
    );
    Ok(())
}

#[tokio::test]
async fn records_written_by_helm_install_and_upgrade_decode_field_for_field() -> anyhow::Result<()>
{
    let Some(env) = env()? else { return Ok(()) };
    let client = tether_testkit::cluster::client().await?;
    let ns = TestNamespace::create(&client, "helm-release-read").await?;
    let chart_dir = env.create_chart("demo")?;
    let chart_arg = chart_dir.to_string_lossy().into_owned();
    env.helm(&[
        "install",
        "web",
        &chart_arg,
        "-n",
        &ns.name,
        "--set",
        "replicaCount=2",
        "--labels",
        "team=a",
    ])?;
    env.helm(&[
        "upgrade",
        "web",
        &chart_arg,
        "-n",
        &ns.name,
        "--set",
        "service.port=8080",
    ])?;

    let api: Api<Secret> = ns.api();
    let records = stored(&api, "web").await?;
    let versions: Vec<(i64, Status)> = records
        .iter()
        .map(|(_, r)| (r.version, r.status()))
        .collect();
    assert_eq!(versions, [(1, Status::Superseded), (2, Status::Deployed)]);
    let history = env.helm_json(&["history", "web", "-n", &ns.name, "-o", "json"])?;
    for (secret, record) in &records {
        let theirs = stored_json(secret)?;
        let ours = record.to_json_string();
        assert!(
            ours == theirs,
            "re-encoding differs {}",
            first_difference(&theirs, &ours)
        );
        check_helm_views(&env, &ns.name, record, &history)?;
        assert_eq!(record.labels, BTreeMap::from([("team".into(), "a".into())]));
        let hook = record
            .hooks
            .iter()
            .find(|h| h.name == "web-hook")
            .context("no hook")?;
        assert_eq!(hook.last_run.phase, "Succeeded");
        assert!(!hook.last_run.started_at.is_zero() && !hook.last_run.completed_at.is_zero());
    }

    // The record tether builds for the same install is Helm's, deploy and hook run times and the
    // apply method aside (the chart's file times are the directory's, as Helm reads them).
    let (_, theirs) = &records[0];
    let values = user_values(&["replicaCount=2"])?;
    let (rendered, processed) = render(&chart_dir, "web", &ns.name, 1, &values)?;
    let record = NewRecord {
        chart: &processed,
        sorted: &rendered.sorted,
        config: values,
        now: GoTime::ZERO,
        apply_method: ApplyMethod::ClientSide,
    };
    let mut ours = Release::for_install("web", &ns.name, record)?;
    ours.set_status(Status::Superseded, "Install complete");
    ours.labels = theirs.labels.clone();
    ours.apply_method = theirs.apply_method.clone();
    let (Some(info), Some(their_info)) = (ours.info.as_mut(), theirs.info.as_ref()) else {
        bail!("records without info");
    };
    info.first_deployed = their_info.first_deployed;
    info.last_deployed = their_info.last_deployed;
    for (h, t) in ours.hooks.iter_mut().zip(&theirs.hooks) {
        h.last_run = t.last_run.clone();
    }
    let (want, got) = (theirs.to_json_string(), ours.to_json_string());
    assert!(
        want == got,
        "tether's install record differs {}",
        first_difference(&want, &got)
    );
    Ok(())
}

#[tokio::test]
async fn helm_lists_rolls_back_and_prunes_records_written_by_tether() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let client = tether_testkit::cluster::client().await?;
    let ns = TestNamespace::create(&client, "helm-release-write").await?;
    let api: Api<Secret> = ns.api();
    let chart_dir = env.ledger_chart()?;
    let labels = BTreeMap::from([("team".to_owned(), "b".to_owned())]);

    // Revision 1: an install.
    let v1_values = user_values(&["greeting=hi <there> & all"])?;
    let (rendered, processed) = render(&chart_dir, "book", &ns.name, 1, &v1_values)?;
    let record = NewRecord {
        chart: &processed,
        sorted: &rendered.sorted,
        config: v1_values,
        now: GoTime::now(),
        apply_method: ApplyMethod::ClientSide,
    };
    let mut v1 = Release::for_install("book", &ns.name, record)?;
    v1.labels = labels.clone();
    storage::check_custom_labels(&v1.labels)?;
    v1.set_status(Status::Deployed, "Install complete");
    create_record(&api, &v1, 1_000).await?;

    let list = env.helm_json(&[
        "list",
        "-n",
        &ns.name,
        "-o",
        "json",
        "--time-format",
        "2006-01-02T15:04:05.999999999Z07:00",
    ])?;
    let info = v1.info.as_ref().context("no info")?;
    assert_eq!(
        list,
        json!([{
            "name": "book",
            "namespace": ns.name,
            "revision": "1",
            "updated": info.last_deployed.to_rfc3339_nano(),
            "status": "deployed",
            "chart": "ledger-0.3.0",
            "app_version": "1.2",
        }])
    );
    let history = env.helm_json(&["history", "book", "-n", &ns.name, "-o", "json"])?;
    check_helm_views(&env, &ns.name, &v1, &history)?;

    // Revision 2: an upgrade from what is stored; revision 1 superseded.
    let hist = History::new(
        stored(&api, "book")
            .await?
            .into_iter()
            .map(|(_, r)| r)
            .collect(),
    );
    let base = hist.upgrade_base("book")?;
    let version = hist.next_version();
    let v2_values = user_values(&["count=7"])?;
    let (rendered, processed) = render(&chart_dir, "book", &ns.name, version, &v2_values)?;
    let record = NewRecord {
        chart: &processed,
        sorted: &rendered.sorted,
        config: v2_values,
        now: GoTime::now(),
        apply_method: ApplyMethod::ClientSide,
    };
    let mut v2 = Release::for_upgrade(base, record, &BTreeMap::new())?;
    assert_eq!(v2.version, version);
    let mut superseded = base.current.clone();
    superseded.set_status(Status::Superseded, "Install complete");
    v2.set_status(Status::Deployed, "Upgrade complete");
    create_record(&api, &v2, 2_000).await?;
    update_record(&api, &superseded, 2_001).await?;

    let history = env.helm_json(&["history", "book", "-n", &ns.name, "-o", "json"])?;
    check_helm_views(&env, &ns.name, &superseded, &history)?;
    check_helm_views(&env, &ns.name, &v2, &history)?;
    let list = env.helm_json(&["list", "-n", &ns.name, "-o", "json"])?;
    assert_eq!(list[0]["revision"], json!("2"), "{list}");

    // helm rolls back to revision 1, writing revision 3, which tether reads.
    env.helm(&["rollback", "book", "1", "-n", &ns.name])?;
    let records = stored(&api, "book").await?;
    let statuses: Vec<(i64, Status)> = records
        .iter()
        .map(|(_, r)| (r.version, r.status()))
        .collect();
    assert_eq!(
        statuses,
        [
            (1, Status::Superseded),
            (2, Status::Superseded),
            (3, Status::Deployed)
        ]
    );
    let (secret, v3) = &records[2];
    let theirs = stored_json(secret)?;
    let ours = v3.to_json_string();
    assert!(
        ours == theirs,
        "re-encoding differs {}",
        first_difference(&theirs, &ours)
    );
    let v3_info = v3.info.as_ref().context("no info")?;
    assert_eq!(v3_info.description, "Rollback to 1");
    assert_eq!(v3.manifest, v1.manifest);
    assert_eq!(v3.config, v1.config);
    assert_eq!(v3.chart, v1.chart);
    assert_eq!(v3.labels, labels);
    assert_eq!(
        v3_info.first_deployed,
        v1.info.as_ref().context("no info")?.first_deployed
    );
    let hook = v3.hooks.first().context("no hook")?;
    assert_eq!(
        (hook.name.as_str(), hook.last_run.phase.as_str()),
        ("book-rollback-mark", "Succeeded")
    );
    let config: Api<ConfigMap> = ns.api();
    let cm = config.get("book-config").await?;
    let data = cm.data.unwrap_or_default();
    assert_eq!(
        data.get("greeting").map(String::as_str),
        Some("hi <there> & all")
    );
    assert_eq!(data.get("count").map(String::as_str), Some("3"));

    // `helm upgrade --history-max 2` prunes exactly the records tether's rule picks.
    let hist = History::new(records.into_iter().map(|(_, r)| r).collect());
    let pruned = hist.prune_before_create(2);
    let chart_arg = chart_dir.to_string_lossy().into_owned();
    env.helm(&[
        "upgrade",
        "book",
        &chart_arg,
        "-n",
        &ns.name,
        "--history-max",
        "2",
    ])?;
    let left: Vec<i64> = stored(&api, "book")
        .await?
        .iter()
        .map(|(_, r)| r.version)
        .collect();
    let expected: Vec<i64> = (1..=4).filter(|v| !pruned.contains(v)).collect();
    assert_eq!(left, expected, "tether would prune {pruned:?}");
    Ok(())
}

#[tokio::test]
async fn helm_runs_hooks_in_the_order_tether_plans() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let client = tether_testkit::cluster::client().await?;
    let ns = TestNamespace::create(&client, "helm-release-hooks").await?;
    let dir = env.dir().join("hooked");
    std::fs::create_dir_all(dir.join("templates"))?;
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: hooked\nversion: 1.0.0\n",
    )?;
    let hooks = [
        ("ConfigMap", "b", "1"),
        ("ConfigMap", "c", "0"),
        ("Secret", "c2", "0"),
        ("ConfigMap", "a", "0"),
        ("ServiceAccount", "z", "-1"),
        ("ConfigMap", "w", "-1"),
    ];
    for (kind, name, weight) in hooks {
        std::fs::write(
            dir.join(format!("templates/{name}.yaml")),
            format!(
                "apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n  annotations:\n    helm.sh/hook: pre-install,post-install\n    helm.sh/hook-weight: \"{weight}\"\n"
            ),
        )?;
    }
    let chart_arg = dir.to_string_lossy().into_owned();
    env.helm(&["install", "hk", &chart_arg, "-n", &ns.name])?;
    let api: Api<Secret> = ns.api();
    let records = stored(&api, "hk").await?;
    let (_, record) = records.first().context("no record")?;
    let mut ran: Vec<&tether_helm::release::Hook> = record.hooks.iter().collect();
    ran.sort_by_key(|h| h.last_run.started_at.datetime());
    let ran: Vec<&str> = ran.iter().map(|h| h.name.as_str()).collect();
    let planned: Vec<&str> = hooks_for(&record.hooks, HookEvent::PostInstall)
        .iter()
        .map(|p| p.hook.name.as_str())
        .collect();
    assert_eq!(
        ran, planned,
        "helm ran the post-install hooks in another order"
    );
    assert_eq!(planned, ["w", "z", "a", "c", "c2", "b"]);
    Ok(())
}
