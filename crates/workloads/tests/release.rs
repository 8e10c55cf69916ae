//! Release planning (automation run and `fluxctl release`), commit messages, and applying a
//! plan to files.

use std::fs;
use std::path::Path;

use tether_workloads::release::{
    ContainerTarget, ContainerUpdate, ContainersError, ContainersSpec, ImageSelector, ReleaseSpec,
    ReleaseStatus, WorkloadSelector, apply_updates, message, plan_automated, plan_containers,
    plan_release, reason, render_updates,
};
use tether_workloads::{ResourceId, Workload, workloads_in_text};

fn id(s: &str) -> ResourceId {
    s.parse().expect("valid id")
}

/// Five workloads covering the policy combinations.
const MANIFESTS: &str = "\
kind: Deployment
metadata:
  name: auto
  annotations:
    fluxcd.io/automated: \"true\"
    fluxcd.io/tag.app: glob:1.*
spec:
  template:
    spec:
      containers:
      - name: app
        image: acme/app:1.0
      - name: sidecar
        image: docker.io/library/nginx:1.25
---
kind: Deployment
metadata:
  name: auto-locked
  annotations:
    fluxcd.io/automated: \"true\"
    fluxcd.io/locked: \"true\"
spec:
  template:
    spec:
      containers:
      - name: app
        image: acme/app:1.0
---
kind: StatefulSet
metadata:
  name: auto-ignored
  annotations:
    flux.weave.works/automated: \"true\"
    fluxcd.io/ignore: \"true\"
spec:
  template:
    spec:
      containers:
      - name: app
        image: acme/app:1.0
---
kind: DaemonSet
metadata:
  name: manual
spec:
  template:
    spec:
      containers:
      - name: app
        image: acme/app:1.0
---
kind: CronJob
metadata:
  name: legacy-auto
  annotations:
    flux.weave.works/automated: \"true\"
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - name: init
            image: nginx:1.25
";

fn workloads() -> Vec<Workload> {
    workloads_in_text(MANIFESTS, Path::new("apps.yaml")).expect("parsed")
}

/// A registry stand-in: the newest tag per repository and pattern.
fn newest(repo: &str, _current: &str, pattern: &str) -> Option<String> {
    match (repo, pattern) {
        ("acme/app", "glob:1.*") => Some("1.2".into()),
        ("acme/app", "glob:*") => Some("2.0".into()),
        ("nginx" | "docker.io/library/nginx", "glob:*") => Some("1.27".into()),
        _ => None,
    }
}

fn summary(updates: &[ContainerUpdate]) -> Vec<String> {
    updates
        .iter()
        .map(|u| {
            format!(
                "{} {} {} -> {}",
                u.workload, u.container, u.old_image, u.new_image
            )
        })
        .collect()
}

#[test]
fn automation_updates_only_automated_unlocked_unignored_workloads() {
    let mut asked = Vec::new();
    let updates = plan_automated(&workloads(), |repo, tag, pattern| {
        asked.push(format!("{repo}:{tag} {pattern}"));
        newest(repo, tag, pattern)
    });
    assert_eq!(
        summary(&updates),
        [
            "default:deployment/auto app acme/app:1.0 -> acme/app:1.2",
            "default:deployment/auto sidecar docker.io/library/nginx:1.25 -> docker.io/library/nginx:1.27",
            "default:cronjob/legacy-auto init nginx:1.25 -> nginx:1.27",
        ]
    );
    assert_eq!(
        asked,
        [
            "acme/app:1.0 glob:1.*",
            "docker.io/library/nginx:1.25 glob:*",
            "nginx:1.25 glob:*"
        ]
    );
    assert!(updates.iter().all(|u| u.file == Path::new("apps.yaml")));
}

#[test]
fn automation_skips_containers_already_on_the_newest_tag() {
    let updates = plan_automated(&workloads(), |_, current, _| Some(current.to_string()));
    assert!(updates.is_empty());
}

fn spec(workloads: WorkloadSelector, image: ImageSelector, force: bool) -> ReleaseSpec {
    ReleaseSpec {
        workloads,
        excludes: Vec::new(),
        image,
        force,
    }
}

#[test]
fn release_all_latest_ignores_automation_but_respects_locks() {
    let all = spec(WorkloadSelector::All, ImageSelector::AllLatest, false);
    let plan = plan_release(&workloads(), &all, newest, |_, _| true).expect("plan");
    assert_eq!(
        summary(&plan.updates),
        [
            "default:deployment/auto app acme/app:1.0 -> acme/app:1.2",
            "default:deployment/auto sidecar docker.io/library/nginx:1.25 -> docker.io/library/nginx:1.27",
            "default:daemonset/manual app acme/app:1.0 -> acme/app:2.0",
            "default:cronjob/legacy-auto init nginx:1.25 -> nginx:1.27",
        ]
    );
    let locked = &plan.results[&id("default:deployment/auto-locked")];
    assert_eq!(
        (locked.status, locked.reason.as_deref()),
        (ReleaseStatus::Skipped, Some(reason::LOCKED))
    );
    let ignored = &plan.results[&id("default:statefulset/auto-ignored")];
    assert_eq!(
        (ignored.status, ignored.reason.as_deref()),
        (ReleaseStatus::Skipped, Some(reason::IGNORE))
    );
    assert_eq!(
        plan.results[&id("default:deployment/auto")].status,
        ReleaseStatus::Success
    );
    assert_eq!(message::release(&all), "Release all latest to all");
}

#[test]
fn force_with_named_workloads_releases_locked_ones() {
    let named = WorkloadSelector::Ids(vec![
        id("default:deployment/auto-locked"),
        id("default:deployment/gone"),
    ]);
    let unforced = plan_release(
        &workloads(),
        &spec(named.clone(), ImageSelector::AllLatest, false),
        newest,
        |_, _| true,
    )
    .expect("plan");
    assert!(unforced.updates.is_empty());
    assert_eq!(
        unforced.results[&id("default:deployment/auto-locked")]
            .reason
            .as_deref(),
        Some(reason::LOCKED)
    );
    assert_eq!(
        unforced.results[&id("default:daemonset/manual")]
            .reason
            .as_deref(),
        Some(reason::NOT_INCLUDED)
    );
    assert_eq!(
        unforced.results[&id("default:deployment/gone")]
            .reason
            .as_deref(),
        Some(reason::NOT_IN_REPO)
    );

    let forced = plan_release(
        &workloads(),
        &spec(named, ImageSelector::AllLatest, true),
        newest,
        |_, _| true,
    )
    .expect("plan");
    assert_eq!(
        summary(&forced.updates),
        ["default:deployment/auto-locked app acme/app:1.0 -> acme/app:2.0"]
    );
}

#[test]
fn force_with_all_does_not_release_locked_workloads() {
    let all = spec(
        WorkloadSelector::All,
        ImageSelector::Specific("acme/app:3.0".into()),
        true,
    );
    let plan = plan_release(&workloads(), &all, newest, |_, _| false).expect("plan");
    assert_eq!(
        plan.results[&id("default:deployment/auto-locked")]
            .reason
            .as_deref(),
        Some(reason::LOCKED)
    );
    // --force disregards tag patterns for a specific image.
    assert_eq!(
        summary(&plan.updates),
        [
            "default:deployment/auto app acme/app:1.0 -> acme/app:3.0",
            "default:daemonset/manual app acme/app:1.0 -> acme/app:3.0",
        ]
    );
}

#[test]
fn specific_image_matches_repositories_canonically_and_checks_patterns() {
    let release = spec(
        WorkloadSelector::All,
        ImageSelector::Specific("index.docker.io/library/nginx:1.26".into()),
        false,
    );
    let mut checked = Vec::new();
    let plan = plan_release(&workloads(), &release, newest, |pattern, tag| {
        checked.push(format!("{pattern} {tag}"));
        true
    })
    .expect("plan");
    assert_eq!(
        summary(&plan.updates),
        [
            "default:deployment/auto sidecar docker.io/library/nginx:1.25 -> docker.io/library/nginx:1.26",
            "default:cronjob/legacy-auto init nginx:1.25 -> nginx:1.26",
        ]
    );
    assert!(checked.is_empty(), "glob:* allows every tag: {checked:?}");
    let manual = &plan.results[&id("default:daemonset/manual")];
    assert_eq!(
        (manual.status, manual.reason.as_deref()),
        (ReleaseStatus::Ignored, Some(reason::DIFFERENT_IMAGE))
    );

    let disallowed = spec(
        WorkloadSelector::All,
        ImageSelector::Specific("acme/app:2.0".into()),
        false,
    );
    let plan = plan_release(&workloads(), &disallowed, newest, |pattern, tag| {
        checked.push(format!("{pattern} {tag}"));
        tag.starts_with("1.")
    })
    .expect("plan");
    assert_eq!(checked, ["glob:1.* 2.0"]);
    assert_eq!(
        summary(&plan.updates),
        ["default:daemonset/manual app acme/app:1.0 -> acme/app:2.0"]
    );
    let auto = &plan.results[&id("default:deployment/auto")];
    assert_eq!(
        (auto.status, auto.reason.as_deref()),
        (ReleaseStatus::Skipped, Some(reason::IMAGE_NOT_FOUND))
    );

    let current = spec(
        WorkloadSelector::All,
        ImageSelector::Specific("acme/app:1.0".into()),
        false,
    );
    let plan = plan_release(&workloads(), &current, newest, |_, _| true).expect("plan");
    assert!(plan.updates.is_empty());
    assert_eq!(
        plan.results[&id("default:daemonset/manual")]
            .reason
            .as_deref(),
        Some(reason::IMAGE_UP_TO_DATE)
    );
}

#[test]
fn excludes_and_bad_images() {
    let mut release = spec(WorkloadSelector::All, ImageSelector::AllLatest, false);
    release.excludes = vec![id("default:deployment/auto")];
    let plan = plan_release(&workloads(), &release, newest, |_, _| true).expect("plan");
    assert_eq!(
        plan.results[&id("default:deployment/auto")]
            .reason
            .as_deref(),
        Some(reason::EXCLUDED)
    );
    let blank = spec(
        WorkloadSelector::All,
        ImageSelector::Specific("acme/app".into()),
        false,
    );
    let err = plan_release(&workloads(), &blank, newest, |_, _| true).expect_err("blank tag");
    assert!(err.to_string().contains("blank tag"), "{err}");
}

#[test]
fn commit_messages_read_like_fluxd() {
    let updates = plan_automated(&workloads(), newest);
    assert_eq!(
        message::auto_release(&updates),
        "Auto-release multiple (3) images\n\n - acme/app:1.2\n - docker.io/library/nginx:1.27\n - nginx:1.27\n"
    );
    assert_eq!(
        message::auto_release(&updates[..1]),
        "Auto-release acme/app:1.2"
    );
    assert_eq!(
        message::with_ci_skip("Auto-release acme/app:1.2"),
        "Auto-release acme/app:1.2\n\n[ci skip]"
    );
    let release = spec(
        WorkloadSelector::Ids(vec![
            id("default:deployment/auto"),
            id("team:daemonset/agent"),
        ]),
        ImageSelector::Specific("acme/app:1.2".into()),
        false,
    );
    assert_eq!(
        message::release(&release),
        "Release acme/app:1.2 to default:deployment/auto, team:daemonset/agent"
    );
}

#[test]
fn policy_commit_messages_list_events() {
    use tether_workloads::PolicyUpdate;
    let one = [(id("default:deployment/web"), PolicyUpdate::automate())];
    assert_eq!(
        message::policy_change(&one, None),
        "Automated: default:deployment/web\n"
    );
    let several = [
        (id("default:deployment/web"), PolicyUpdate::automate()),
        (
            id("default:deployment/api"),
            PolicyUpdate::lock(Some("jane"), None),
        ),
        (
            id("default:deployment/api"),
            PolicyUpdate::default().tag("app", "1.*"),
        ),
    ];
    assert_eq!(
        message::policy_change(&several, None),
        "Updated workload policies\n\n- Automated: default:deployment/web\n- Locked: default:deployment/api\n- Updated policies: default:deployment/api\n"
    );
    assert_eq!(
        message::policy_change(&one, Some("freeze for the launch")),
        "freeze for the launch\n\n- Automated: default:deployment/web\n"
    );
}

#[test]
fn applying_a_plan_edits_only_changed_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("apps.yaml"), MANIFESTS).expect("write");
    fs::write(dir.path().join("other.yaml"), "kind: ConfigMap\n").expect("write");
    let updates = plan_automated(&workloads(), newest);
    let rendered = render_updates(dir.path(), &updates).expect("rendered");
    assert_eq!(rendered.len(), 1);
    let expected = MANIFESTS
        .replacen("image: acme/app:1.0", "image: acme/app:1.2", 1)
        .replace(
            "docker.io/library/nginx:1.25",
            "docker.io/library/nginx:1.27",
        )
        .replace("image: nginx:1.25", "image: nginx:1.27");
    assert_eq!(rendered[0].text, expected);
    assert_eq!(
        fs::read_to_string(dir.path().join("apps.yaml")).expect("read"),
        MANIFESTS
    );

    let written = apply_updates(dir.path(), &updates).expect("applied");
    assert_eq!(written, [Path::new("apps.yaml")]);
    assert_eq!(
        fs::read_to_string(dir.path().join("apps.yaml")).expect("read"),
        expected
    );
    // A second run changes nothing.
    assert!(
        apply_updates(dir.path(), &updates)
            .expect("applied")
            .is_empty()
    );
}

#[test]
fn applying_refuses_files_outside_the_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let update = ContainerUpdate {
        workload: id("default:deployment/auto"),
        file: "../apps.yaml".into(),
        container: "app".into(),
        old_image: "acme/app:1.0".into(),
        new_image: "acme/app:1.2".into(),
    };
    let err = apply_updates(dir.path(), &[update]).expect_err("outside");
    assert!(
        err.to_string()
            .contains("must be relative to the repository root"),
        "{err}"
    );
}

fn chosen(container: &str, current: &str, target: &str) -> ContainerTarget {
    ContainerTarget {
        container: container.into(),
        current: current.into(),
        target: target.into(),
    }
}

#[test]
fn an_interactive_release_moves_only_containers_still_at_the_image_the_user_saw() {
    let auto = id("default:deployment/auto");
    let mut spec = ContainersSpec::default();
    spec.targets.insert(
        auto.clone(),
        vec![
            chosen("app", "acme/app:1.0", "acme/app:1.5"),
            chosen("sidecar", "docker.io/library/nginx:1.20", "nginx:1.27"),
        ],
    );
    // The sidecar moved on since the user looked: nothing is released.
    let (plan, verdict) = plan_containers(&workloads(), &spec);
    assert_eq!(verdict, Err(ContainersError::CannotSatisfy));
    assert!(plan.updates.is_empty());
    let result = &plan.results[&auto];
    assert_eq!(
        (result.status, result.reason.as_deref()),
        (
            ReleaseStatus::Failed,
            Some("container(s) tag mismatch: sidecar")
        )
    );
    assert_eq!(
        plan.results[&id("default:daemonset/manual")]
            .reason
            .as_deref(),
        Some(reason::NOT_INCLUDED)
    );

    // Skipping mismatches releases the rest, and says what was skipped.
    spec.skip_mismatches = true;
    let (plan, verdict) = plan_containers(&workloads(), &spec);
    assert_eq!(verdict, Ok(()));
    assert_eq!(
        summary(&plan.updates),
        ["default:deployment/auto app acme/app:1.0 -> acme/app:1.5"]
    );
    assert_eq!(plan.results[&auto].status, ReleaseStatus::Success);
    assert_eq!(
        message::containers(&plan),
        "Update image refs in default:deployment/auto\n\ndefault:deployment/auto\n- acme/app:1.5\n"
    );

    // A container that is gone fails; a locked workload is skipped unless forced.
    let mut spec = ContainersSpec::default();
    spec.targets
        .insert(auto.clone(), vec![chosen("gone", "", "acme/app:2.0")]);
    let locked = id("default:deployment/auto-locked");
    spec.targets
        .insert(locked.clone(), vec![chosen("app", "", "acme/app:2.0")]);
    let (plan, verdict) = plan_containers(&workloads(), &spec);
    assert_eq!(verdict, Err(ContainersError::CannotSatisfy));
    assert_eq!(
        plan.results[&auto].reason.as_deref(),
        Some("container(s) not found: gone")
    );
    assert_eq!(plan.results[&locked].status, ReleaseStatus::Skipped);
    spec.targets.remove(&auto);
    spec.force = true;
    let (plan, verdict) = plan_containers(&workloads(), &spec);
    assert_eq!(verdict, Ok(()));
    assert_eq!(plan.results[&locked].status, ReleaseStatus::Success);

    // Asking for what is already there changes nothing.
    let mut spec = ContainersSpec::default();
    spec.targets
        .insert(auto, vec![chosen("app", "acme/app:1.0", "acme/app:1.0")]);
    let (_, verdict) = plan_containers(&workloads(), &spec);
    assert_eq!(verdict, Err(ContainersError::NoChanges));
}
