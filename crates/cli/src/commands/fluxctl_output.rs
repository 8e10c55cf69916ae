//! fluxctl's output: the `list-workloads` and `list-images` tables (and `list-images -o
//! json` in fluxd's `ImageStatus` shape), and the `WORKLOAD STATUS UPDATES` result table of
//! release and policy verbs, aligned as Go's tabwriter (padding 2) aligned them.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tether_fluxv1::{AvailableTag, ContainerImages, WorkloadImages};
use tether_workloads::release::{ReleasePlan, ReleaseStatus};
use tether_workloads::{ImageRef, ResourceId, Workload};

/// What fluxd's registry said when it had no data for an image.
const NO_IMAGE_DATA: &str = "image data not available";
/// The result table's heading, with fluxd's trailing spaces.
const RESULT_HEADING: &str = "WORKLOAD \tSTATUS \tUPDATES";

/// Aligns tab-separated lines: every tab-terminated cell is padded to its column's widest
/// cell plus two spaces; the last cell of a line is written as it is.
fn tabwrite(lines: &[String]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split('\t').collect();
        for (i, cell) in cells[..cells.len() - 1].iter().enumerate() {
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in lines {
        let cells: Vec<&str> = line.split('\t').collect();
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i] + 2 - cell.chars().count();
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// `automated,ignore,locked`, as fluxctl's POLICY column.
fn policies(workload: &Workload) -> String {
    let mut names = Vec::new();
    if workload.policy.automated {
        names.push("automated");
    }
    if workload.policy.locked {
        names.push("locked");
    }
    if workload.policy.ignore {
        names.push("ignore");
    }
    names.sort_unstable();
    names.join(",")
}

/// `list-workloads`: `WORKLOAD CONTAINER IMAGE RELEASE POLICY`, one line per container.
pub fn workloads_table(
    workloads: &[Workload],
    statuses: &BTreeMap<ResourceId, String>,
    header: bool,
) -> String {
    let mut lines = Vec::new();
    if header {
        lines.push("WORKLOAD\tCONTAINER\tIMAGE\tRELEASE\tPOLICY".to_owned());
    }
    for workload in workloads {
        let status = statuses.get(&workload.id).map_or("", String::as_str);
        let policy = policies(workload);
        match workload.containers.split_first() {
            Some((first, rest)) => {
                lines.push(format!(
                    "{}\t{}\t{}\t{status}\t{policy}",
                    workload.id, first.name, first.image
                ));
                for container in rest {
                    lines.push(format!("\t{}\t{}\t\t", container.name, container.image));
                }
            }
            None => lines.push(format!("{}\t\t\t{status}\t{policy}", workload.id)),
        }
    }
    tabwrite(&lines)
}

/// fluxd's RFC 822 time: `02 Jan 06 15:04 UTC`.
fn created_text(tag: &AvailableTag) -> String {
    tag.created
        .map(|t| t.format("%d %b %y %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// `list-images`: per container its repository, then the allowed tags newest first with the
/// current one marked `'->`; `limit` tags at most (0: all), the current one always.
pub fn images_table(images: &[WorkloadImages], limit: usize, header: bool) -> String {
    let mut lines = Vec::new();
    if header {
        lines.push("WORKLOAD\tCONTAINER\tIMAGE\tCREATED".to_owned());
    }
    for workload in images {
        if workload.containers.is_empty() {
            lines.push(format!("{}\t\t\t", workload.workload));
            continue;
        }
        let mut name = workload.workload.to_string();
        for container in &workload.containers {
            container_lines(&mut lines, &name, container, limit);
            name.clear();
        }
    }
    tabwrite(&lines)
}

fn container_lines(lines: &mut Vec<String>, name: &str, container: &ContainerImages, limit: usize) {
    let available: &[AvailableTag] = container.available.as_deref().unwrap_or_default();
    let note = match &container.available {
        Err(error) => error.to_string(),
        Ok(tags) if tags.is_empty() => NO_IMAGE_DATA.to_owned(),
        Ok(_) => String::new(),
    };
    lines.push(format!(
        "{name}\t{}\t{}\t{note}",
        container.container, container.repository
    ));
    let mut found_current = false;
    for (index, tag) in available.iter().enumerate() {
        let count = index + 1;
        let marker = if tag.current {
            found_current = true;
            "'->"
        } else if found_current {
            "   "
        } else {
            "|  "
        };
        let within = limit == 0 || count <= limit;
        if !within && tag.current && count > limit + 1 {
            let omitted = count - limit - 1;
            lines.push(format!("\t\t: ({omitted} image(s) omitted)\t"));
        }
        if within || tag.current {
            lines.push(format!("\t\t{marker} {}\t{}", tag.tag, created_text(tag)));
        }
    }
    if !found_current {
        let current = container.current_tag.as_deref().unwrap_or("(untagged)");
        lines.push(format!("\t\t'-> {current}\t?"));
    }
}

/// `list-images -o json`: fluxd's `ImageStatus` list (`ID`, `Containers` with `Current`,
/// `LatestFiltered`, `Available`, `AvailableError`).
pub fn images_json(images: &[WorkloadImages], limit: usize) -> Value {
    let workloads: Vec<Value> = images
        .iter()
        .map(|workload| {
            let containers: Vec<Value> = workload
                .containers
                .iter()
                .map(|c| container_json(c, limit))
                .collect();
            json!({"ID": workload.workload.to_string(), "Containers": containers})
        })
        .collect();
    Value::Array(workloads)
}

fn container_json(container: &ContainerImages, limit: usize) -> Value {
    let image = |tag: &AvailableTag| {
        let mut value = json!({"ID": format!("{}:{}", container.repository, tag.tag)});
        if let Some(created) = tag.created {
            value["CreatedAt"] = Value::from(created.to_rfc3339());
        }
        value
    };
    let (available, error) = match &container.available {
        Ok(tags) => (tags.as_slice(), String::new()),
        Err(error) => (&[][..], error.to_string()),
    };
    let shown = if limit == 0 {
        available
    } else {
        &available[..available.len().min(limit)]
    };
    let mut value = json!({
        "Name": container.container,
        "Current": {"ID": container.image},
        "Available": shown.iter().map(image).collect::<Vec<_>>(),
        "AvailableError": error,
        "FilteredImagesCount": available.len(),
    });
    if let Some(newest) = available.iter().find(|t| t.newest) {
        value["LatestFiltered"] = image(newest);
    }
    value
}

/// The result of a release: each workload's status and updates (`container: old -> tag`);
/// skipped ones with `-v`, ignored ones with `-vv`.
pub fn release_table(plan: &ReleasePlan, verbosity: u8) -> String {
    let mut lines = vec![RESULT_HEADING.to_owned()];
    for (id, result) in &plan.results {
        let shown = match result.status {
            ReleaseStatus::Success | ReleaseStatus::Failed => true,
            ReleaseStatus::Skipped => verbosity >= 1,
            ReleaseStatus::Ignored => verbosity >= 2,
        };
        if !shown {
            continue;
        }
        let status = result.status.as_str();
        let updates: Vec<String> = plan
            .updates
            .iter()
            .filter(|u| &u.workload == id)
            .map(|u| {
                let tag = ImageRef::parse(&u.new_image)
                    .ok()
                    .and_then(|r| r.tag().map(str::to_owned))
                    .unwrap_or_else(|| u.new_image.clone());
                format!("{}: {} -> {tag}", u.container, u.old_image)
            })
            .collect();
        match updates.split_first() {
            Some((first, rest)) => {
                lines.push(format!("{id}\t{status}\t{first}"));
                lines.extend(rest.iter().map(|u| format!("\t\t{u}")));
            }
            None => lines.push(format!(
                "{id}\t{status}\t{}",
                result.reason.as_deref().unwrap_or("")
            )),
        }
    }
    tabwrite(&lines)
}

/// The result of a policy change: the workloads whose manifest changed.
pub fn policy_table(changed: &[ResourceId]) -> String {
    let mut lines = vec![RESULT_HEADING.to_owned()];
    lines.extend(changed.iter().map(|id| format!("{id}\tsuccess\t")));
    tabwrite(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_terminated_cells_are_padded_and_last_cells_are_not() {
        let lines = vec![
            "WORKLOAD\tCONTAINER\tIMAGE".to_owned(),
            "default:deployment/web\tapp\tnginx:1.27".to_owned(),
            "\tsidecar\tbusybox".to_owned(),
        ];
        let table = tabwrite(&lines);
        assert_eq!(
            table,
            "WORKLOAD                CONTAINER  IMAGE\n\
             default:deployment/web  app        nginx:1.27\n\
             \x20                       sidecar    busybox\n"
        );
    }

    fn tag(name: &str, current: bool, newest: bool) -> AvailableTag {
        AvailableTag {
            tag: name.to_owned(),
            created: None,
            current,
            newest,
        }
    }

    #[test]
    fn images_mark_the_current_tag_and_omit_beyond_the_limit() {
        let images = vec![WorkloadImages {
            workload: "default:deployment/web".parse().expect("valid"),
            containers: vec![ContainerImages {
                container: "app".to_owned(),
                image: "reg.example/app:1.0".to_owned(),
                repository: "reg.example/app".to_owned(),
                current_tag: Some("1.0".to_owned()),
                pattern: "semver:^1".to_owned(),
                available: Ok(vec![
                    tag("1.3", false, true),
                    tag("1.2", false, false),
                    tag("1.1", false, false),
                    tag("1.0", true, false),
                ]),
            }],
        }];
        let table = images_table(&images, 1, true);
        let lines: Vec<&str> = table.lines().map(str::trim_end).collect();
        assert_eq!(
            lines,
            vec![
                "WORKLOAD                CONTAINER  IMAGE                   CREATED",
                "default:deployment/web  app        reg.example/app",
                "                                   |   1.3",
                "                                   : (2 image(s) omitted)",
                "                                   '-> 1.0",
            ]
        );
        let json = images_json(&images, 0);
        assert_eq!(
            json[0]["Containers"][0]["LatestFiltered"]["ID"],
            "reg.example/app:1.3"
        );
        assert_eq!(
            json[0]["Containers"][0]["Available"]
                .as_array()
                .map(Vec::len),
            Some(4)
        );
    }
}
