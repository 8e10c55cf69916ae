//! Round trips over every golden input: policy changes read back as the intended policies,
//! image edits read back as the new images, and undoing a change restores the original bytes
//! when the original had the same shape.

use std::fs;
use std::path::Path;

use tether_workloads::{
    PolicyUpdate, Workload, set_container_image, update_policies, workloads_in_text,
};

fn inputs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut cases: Vec<_> = fs::read_dir(&root)
        .expect("testdata")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    cases
        .into_iter()
        .map(|c| {
            (
                c.display().to_string(),
                fs::read_to_string(c.join("input.yaml")).expect("input"),
            )
        })
        .collect()
}

fn reread(text: &str, workload: &Workload) -> Workload {
    workloads_in_text(text, Path::new("x.yaml"))
        .expect("still parses")
        .into_iter()
        .find(|w| w.id == workload.id)
        .expect("still there")
}

#[test]
fn policy_changes_read_back_and_undo_restores_bytes() {
    for (case, text) in inputs() {
        for workload in workloads_in_text(&text, Path::new("x.yaml")).expect("parses") {
            let id = &workload.id;
            let locked =
                update_policies(&text, id, &PolicyUpdate::lock(Some("ops"), Some("freeze")))
                    .expect("lock");
            let policy = reread(&locked, &workload).policy;
            assert!(policy.locked, "{case} {id}");
            assert_eq!(policy.locked_user.as_deref(), Some("ops"));
            assert_eq!(policy.locked_msg.as_deref(), Some("freeze"));
            let unlocked = update_policies(&locked, id, &PolicyUpdate::unlock()).expect("unlock");
            assert!(!reread(&unlocked, &workload).policy.locked, "{case} {id}");

            let automated =
                update_policies(&text, id, &PolicyUpdate::automate()).expect("automate");
            assert!(
                reread(&automated, &workload).policy.automated,
                "{case} {id}"
            );
            let tagged = update_policies(&automated, id, &PolicyUpdate::default().tag_all("1.*"))
                .expect("tag-all");
            let policy = reread(&tagged, &workload).policy;
            for name in workload.container_names() {
                assert_eq!(policy.tag_pattern(name), "glob:1.*", "{case} {id} {name}");
            }
            let deautomated =
                update_policies(&automated, id, &PolicyUpdate::deautomate()).expect("deautomate");
            assert!(
                !reread(&deautomated, &workload).policy.automated,
                "{case} {id}"
            );
            let had_shape = !text.contains("annotations: {}") && !workload.policy.automated;
            if had_shape {
                assert_eq!(deautomated, text, "{case} {id}: automate then deautomate");
            }
        }
    }
}

#[test]
fn image_changes_read_back_and_undo_restores_bytes() {
    for (case, text) in inputs() {
        for workload in workloads_in_text(&text, Path::new("x.yaml")).expect("parses") {
            for container in &workload.containers {
                let new = "example.com/replaced/image:9.9.9";
                let edited =
                    set_container_image(&text, &workload.id, &container.name, new).expect("edit");
                assert_eq!(
                    reread(&edited, &workload)
                        .container(&container.name)
                        .expect("c")
                        .image,
                    new
                );
                assert_eq!(edited.lines().count(), text.lines().count(), "{case}");
                let undone =
                    set_container_image(&edited, &workload.id, &container.name, &container.image)
                        .expect("undo");
                assert_eq!(undone, text, "{case} {} {}", workload.id, container.name);
            }
        }
    }
}
