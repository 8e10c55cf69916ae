//! What an automation run does when the branch moves under it, against a real smart-HTTP git
//! server and a real registry: the credentials lookup (called after the clone, before the
//! push) pushes a foreign commit, so the run's push is rejected for real; the run must redo
//! its edit on the new tip and push on top of it, never over it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use tether_fluxv1::{CommitSettings, CredentialsLookup, Error, ImageScanner, Repository};
use tether_registry::{Credentials, ImageName, RegistryClient};
use tether_source::{CloneSpec, GitAuth, GitReference};
use tether_testkit::git::{GitRepoFixture, HttpGitServer};
use tether_testkit::registry::RegistryServer;

const USER: &str = "flux";
const PASSWORD: &str = "retry-secret-pw";
const MANIFEST: &str = "# web, kept on the newest 1.x\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\n  annotations:\n    fluxcd.io/automated: \"true\"\n    fluxcd.io/tag.app: glob:1.*\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: IMAGE:1.0 # pinned by automation\n";

/// Anonymous credentials; the first `interfere` lookups each push a commit to the branch.
struct Interfering {
    repo: Arc<GitRepoFixture>,
    interfere: usize,
    calls: AtomicUsize,
}

impl CredentialsLookup for Interfering {
    fn credentials_for(&self, _image: &ImageName) -> Credentials {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.interfere {
            let path = format!("other/{call}.txt");
            let pushed = self
                .repo
                .commit("master", &[(&path, "someone else")], "foreign");
            assert!(pushed.is_ok(), "foreign push failed: {pushed:?}");
        }
        Credentials::Anonymous
    }
}

struct Setup {
    repo: Arc<GitRepoFixture>,
    _server: HttpGitServer,
    registry: RegistryServer,
    repository: Repository,
}

async fn setup() -> anyhow::Result<Setup> {
    let registry = RegistryServer::start()?;
    for (tag, created) in [
        ("1.0", "2024-05-01T01:00:00Z"),
        ("1.1", "2024-05-01T02:00:00Z"),
    ] {
        registry
            .push_image_created("app", tag, Some(created))
            .await?;
    }
    let repo = Arc::new(GitRepoFixture::new("fleet")?);
    let manifest = MANIFEST.replace("IMAGE", &registry.image("app"));
    repo.commit("master", &[("apps/web.yaml", &manifest)], "fleet")?;
    let server = HttpGitServer::start(&repo.projects_root(), USER, PASSWORD)?;
    let repository = Repository {
        clone: CloneSpec {
            url: server.repo_url(repo.name()),
            checkout: GitReference::branch("master"),
            push_branch: None,
            auth: GitAuth {
                username: Some(USER.into()),
                password: Some(PASSWORD.into()),
                ..GitAuth::default()
            },
            timeout: Duration::from_secs(30),
        },
        paths: vec![PathBuf::from("apps")],
        target_namespace: None,
        store: None,
    };
    Ok(Setup {
        repo,
        _server: server,
        registry,
        repository,
    })
}

fn scanner(repo: &Arc<GitRepoFixture>, interfere: usize) -> ImageScanner {
    let lookup = Interfering {
        repo: repo.clone(),
        interfere,
        calls: AtomicUsize::new(0),
    };
    ImageScanner::new(RegistryClient::default(), lookup)
}

#[tokio::test]
async fn a_rejected_push_is_redone_on_the_new_tip() -> anyhow::Result<()> {
    let setup = setup().await?;
    let run = tether_fluxv1::automate_once(
        &setup.repository,
        &scanner(&setup.repo, 1),
        &CommitSettings::default(),
    )
    .await?;
    let pushed = run.commit.context("no commit pushed")?;
    assert_eq!(setup.repo.rev_parse("master")?, pushed);
    let foreign = setup.repo.rev_parse("master~1")?;
    assert_eq!(setup.repo.show(&foreign, "other/0.txt")?, "someone else");
    assert_eq!(setup.repo.show("master", "other/0.txt")?, "someone else");
    let expected = MANIFEST.replace("IMAGE:1.0", &format!("{}:1.1", setup.registry.image("app")));
    assert_eq!(setup.repo.show("master", "apps/web.yaml")?, expected);
    assert_eq!(run.updates.len(), 1);
    Ok(())
}

/// A server that declines every update (a pre-receive hook): each attempt is redone and
/// rejected, then the run gives up with an error naming the repository, not its password.
#[tokio::test]
async fn a_branch_that_refuses_every_push_is_a_push_conflict() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let setup = setup().await?;
    let tip = setup.repo.rev_parse("master")?;
    let hook = setup.repo.bare_path().join("hooks/pre-receive");
    std::fs::create_dir_all(hook.parent().context("hooks dir")?)?;
    std::fs::write(&hook, "#!/bin/sh\necho 'master is protected' >&2\nexit 1\n")?;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
    let settings = CommitSettings {
        push_attempts: 2,
        ..CommitSettings::default()
    };
    let error =
        tether_fluxv1::automate_once(&setup.repository, &scanner(&setup.repo, 0), &settings)
            .await
            .expect_err("every push is declined");
    assert!(
        matches!(error, Error::PushConflict { attempts: 2, .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&setup.repository.display_url()),
        "{message}"
    );
    assert!(!message.contains(PASSWORD), "{message}");
    assert_eq!(setup.repo.rev_parse("master")?, tip, "nothing landed");
    Ok(())
}
