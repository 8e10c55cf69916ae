//! SOPS decryption end to end: fixtures encrypted at test time by the Go-built sops (age keys
//! from age-keygen, an OpenPGP key from gpg) are pushed to a real git server; Kustomizations
//! with `spec.decryption` apply a Secret manifest and a `secretGenerator` env file decrypted.
//! The plaintext must appear nowhere but in the applied Secrets: not in the controller's log,
//! events, status, or artifact storage. A wrong key gives a clear condition and the Secret
//! applied before stays. A `secretGenerator` file of encrypted YAML keeps its comments as
//! `sops -d` prints them.

mod common;

use anyhow::{Context, Result};
use common::InProcessController;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};
use tether_testkit::flux::{
    GitSourceFixture, condition, create, kustomization, kustomizations, wait_ready_where,
};
use tether_testkit::sops::{Encrypt, age_keygen, gpg_key, sops_encrypt};

/// Everything the controller logs in this test binary, at debug level.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut log) = self.0.lock() {
            log.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLog {
    type Writer = CapturedLog;
    fn make_writer(&'a self) -> CapturedLog {
        self.clone()
    }
}

fn captured_log() -> &'static CapturedLog {
    static LOG: OnceLock<CapturedLog> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = CapturedLog::default();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,tether_controller=debug,tether_ssa=debug")
            .with_writer(log.clone())
            .try_init();
        log
    })
}

const KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - secret.yaml\nsecretGenerator:\n  - name: app-env\n    envs:\n      - app.env\ngeneratorOptions:\n  disableNameSuffixHash: true\n";

fn secret_manifest(name: &str, password: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: Opaque\nstringData:\n  password: {password}\n"
    )
}

fn decoded(secret: &Secret, key: &str) -> Option<String> {
    let data = secret.data.as_ref()?.get(key)?;
    String::from_utf8(data.0.clone()).ok()
}

/// Every text the controller could have leaked a value into: its log, the namespace's events,
/// the Kustomizations' status and every file of the artifact storage (tarballs unpacked).
async fn everything_but_the_secrets(
    source: &GitSourceFixture,
    controller: &InProcessController,
) -> Result<String> {
    let mut text = String::from_utf8_lossy(
        &captured_log()
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("log"))?,
    )
    .into_owned();
    let events: Api<Event> = Api::namespaced(source.client.clone(), &source.ns.name);
    for event in events.list(&ListParams::default()).await? {
        text.push_str(&serde_json::to_string(&event)?);
    }
    let api = kustomizations(&source.client, &source.ns.name);
    for ks in api.list(&ListParams::default()).await? {
        text.push_str(&serde_json::to_string(&ks.data["status"])?);
    }
    let mut stack = vec![controller.storage_path()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".tar.gz") {
                let file = std::fs::File::open(&path)?;
                let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
                for member in archive.entries()? {
                    let mut member = member?;
                    let mut content = Vec::new();
                    member.read_to_end(&mut content)?;
                    text.push_str(&String::from_utf8_lossy(&content));
                }
            } else {
                text.push_str(&String::from_utf8_lossy(&std::fs::read(&path)?));
            }
        }
    }
    Ok(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_encrypted_by_sops_with_age_and_openpgp_are_applied_decrypted_and_leak_nowhere()
-> Result<()> {
    captured_log();
    let source = GitSourceFixture::start("sops", "2s").await?;
    let ns = source.ns.name.clone();
    let age = age_keygen()?;
    let gpg = gpg_key("tether-e2e")?;
    let with_age = Encrypt {
        age: vec![&age.recipient],
        flags: vec!["--encrypted-regex".into(), "^(data|stringData)$".into()],
        ..Encrypt::default()
    };
    let with_pgp = Encrypt {
        pgp: vec![&gpg.fingerprint],
        gnupg_home: Some(gpg.home.path()),
        flags: vec!["--encrypted-regex".into(), "^(data|stringData)$".into()],
        ..Encrypt::default()
    };
    let plain = [
        "age-password-4f1c9e",
        "AGE_ENV_VALUE_77d2a",
        "pgp-password-b83e10",
        "PGP_ENV_VALUE_5ac61",
    ];
    let encrypt = |text: String, format: &str, with: &Encrypt<'_>| -> Result<String> {
        Ok(String::from_utf8(sops_encrypt(
            text.as_bytes(),
            format,
            with,
        )?)?)
    };
    let files = [
        (
            "age/kustomization.yaml".to_string(),
            KUSTOMIZATION.to_string(),
        ),
        (
            "age/secret.yaml".into(),
            encrypt(secret_manifest("app-age", plain[0]), "yaml", &with_age)?,
        ),
        (
            "age/app.env".into(),
            encrypt(
                format!("TOKEN={}\n", plain[1]),
                "dotenv",
                &Encrypt {
                    flags: vec![],
                    ..with_age.clone()
                },
            )?,
        ),
        (
            "pgp/kustomization.yaml".into(),
            KUSTOMIZATION.replace("app-env", "app-env-pgp"),
        ),
        (
            "pgp/secret.yaml".into(),
            encrypt(secret_manifest("app-pgp", plain[2]), "yaml", &with_pgp)?,
        ),
        (
            "pgp/app.env".into(),
            encrypt(
                format!("TOKEN={}\n", plain[3]),
                "dotenv",
                &Encrypt {
                    flags: vec![],
                    ..with_pgp.clone()
                },
            )?,
        ),
    ];
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    source.repo.commit("master", &refs, "encrypted secrets")?;

    let secrets: Api<Secret> = Api::namespaced(source.client.clone(), &ns);
    let key_secret = |name: &str, key: &str, value: &str| -> Result<Secret> {
        Ok(serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": &ns},
            "stringData": {key: value}
        }))?)
    };
    secrets
        .create(
            &PostParams::default(),
            &key_secret("sops-age", "identity.agekey", &age.identity)?,
        )
        .await?;
    secrets
        .create(
            &PostParams::default(),
            &key_secret("sops-gpg", "tether.asc", &gpg.secret_armored)?,
        )
        .await?;

    let controller = InProcessController::start(&ns).await?;
    let api = kustomizations(&source.client, &ns);
    for (name, key_secret) in [("age", "sops-age"), ("pgp", "sops-gpg")] {
        let mut ks = kustomization(name, &ns, &ns, &format!("./{name}"));
        ks["spec"]["decryption"] = json!({"provider": "sops", "secretRef": {"name": key_secret}});
        create(&api, ks).await?;
    }
    for name in ["age", "pgp"] {
        wait_ready_where(&api, name, |status, _, _| status == "True")
            .await
            .with_context(|| format!("Kustomization {name}"))?;
    }
    assert_eq!(
        decoded(&secrets.get("app-age").await?, "password").as_deref(),
        Some(plain[0])
    );
    assert_eq!(
        decoded(&secrets.get("app-env").await?, "TOKEN").as_deref(),
        Some(plain[1])
    );
    assert_eq!(
        decoded(&secrets.get("app-pgp").await?, "password").as_deref(),
        Some(plain[2])
    );
    assert_eq!(
        decoded(&secrets.get("app-env-pgp").await?, "TOKEN").as_deref(),
        Some(plain[3])
    );

    // A new value encrypted for the age key, while the decryption Secret now holds another key.
    let other = age_keygen()?;
    secrets
        .replace(
            "sops-age",
            &PostParams::default(),
            &key_secret("sops-age", "identity.agekey", &other.identity)?,
        )
        .await?;
    let new_password = "age-password-rotated-0e9b";
    let rotated = encrypt(secret_manifest("app-age", new_password), "yaml", &with_age)?;
    source
        .repo
        .commit("master", &[("age/secret.yaml", &rotated)], "rotate")?;
    let failed = wait_ready_where(&api, "age", |status, _, message| {
        status == "False" && message.contains("decrypt")
    })
    .await?;
    let (_, reason, message) = condition(&failed, "Ready").context("Ready")?;
    assert_eq!(reason, "BuildFailed", "{message}");
    assert!(
        message.contains("age/secret.yaml"),
        "the message names the file: {message}"
    );
    assert!(
        message.contains("data key"),
        "the message says why: {message}"
    );
    assert_eq!(
        decoded(&secrets.get("app-age").await?, "password").as_deref(),
        Some(plain[0]),
        "the Secret applied before stays"
    );

    let leaks = everything_but_the_secrets(&source, &controller).await?;
    for value in plain.iter().chain([&new_password]) {
        assert!(
            !leaks.contains(value),
            "{value} leaked into the log, events, status or storage"
        );
    }
    assert!(
        leaks.contains("ENC[AES256_GCM"),
        "the storage holds the encrypted files"
    );
    Ok(())
}

/// A `secretGenerator` file holding encrypted YAML with comments reaches the cluster exactly as
/// `sops -d` prints it, comments and all (Flux decrypts such files with sops' own store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_secret_file_of_encrypted_yaml_keeps_its_comments_as_sops_prints_them()
-> Result<()> {
    let source = GitSourceFixture::start("sops-comments", "2s").await?;
    let ns = source.ns.name.clone();
    let age = age_keygen()?;
    let plain = "# settings for the app\nserver:\n    # where it listens\n    port: 8080 # the usual\n    hosts:\n        # first\n        - a.example\n        - b.example\n    # end of server\n# end\n";
    let with_age = Encrypt {
        age: vec![&age.recipient],
        ..Encrypt::default()
    };
    let encrypted = String::from_utf8(sops_encrypt(plain.as_bytes(), "yaml", &with_age)?)?;
    let expected = tether_testkit::sops::sops_decrypt(
        encrypted.as_bytes(),
        "yaml",
        Some(&age.identity),
        None,
    )?;
    assert!(String::from_utf8_lossy(&expected).contains("# the usual"));
    let kustomization_yaml = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nsecretGenerator:\n  - name: app-config\n    files:\n      - config.yaml\ngeneratorOptions:\n  disableNameSuffixHash: true\n";
    source.repo.commit(
        "master",
        &[
            ("config/kustomization.yaml", kustomization_yaml),
            ("config/config.yaml", encrypted.as_str()),
        ],
        "encrypted config with comments",
    )?;
    let secrets: Api<Secret> = Api::namespaced(source.client.clone(), &ns);
    let key: Secret = serde_json::from_value(json!({
        "metadata": {"name": "sops-age"},
        "stringData": {"identity.agekey": age.identity}
    }))?;
    secrets.create(&PostParams::default(), &key).await?;
    let _controller = InProcessController::start(&ns).await?;
    let api = kustomizations(&source.client, &ns);
    let mut ks = kustomization("config", &ns, &ns, "./config");
    ks["spec"]["decryption"] = json!({"provider": "sops", "secretRef": {"name": "sops-age"}});
    create(&api, ks).await?;
    wait_ready_where(&api, "config", |status, _, _| status == "True").await?;
    assert_eq!(
        decoded(&secrets.get("app-config").await?, "config.yaml").as_deref(),
        Some(String::from_utf8(expected)?.as_str())
    );
    Ok(())
}
