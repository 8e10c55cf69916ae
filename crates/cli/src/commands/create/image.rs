//! `create image repository|policy|update`: the image automation objects, with Flux's checks
//! in Flux's order; each is waited for with Flux's generic `upsertAndWait` lines (`<Kind>
//! reconciliation completed`).

use super::flags::{self, object_name};
use super::{Fields, Steps, export_or_apply, object_json};
use crate::cli::{
    CreateArgs, CreateImageKind, CreateImagePolicyArgs, CreateImageRepositoryArgs,
    CreateImageUpdateArgs,
};
use anyhow::bail;
use serde_json::{Value, json};
use std::time::Duration;
use tether_api::image::v1::{ImagePolicy, ImageRepository, ImageUpdateAutomation};

pub fn run(args: &CreateArgs, kind: &CreateImageKind) -> anyhow::Result<()> {
    match kind {
        CreateImageKind::Repository(repository) => create_repository(args, repository),
        CreateImageKind::Policy(policy) => create_policy(args, policy),
        CreateImageKind::Update(update) => create_update(args, update),
    }
}

/// `<Kind> reconciliation completed`, what `upsertAndWait` prints at the end.
fn completed(kind: &str) -> Vec<String> {
    vec![format!("{kind} reconciliation completed")]
}

fn create_repository(args: &CreateArgs, repo: &CreateImageRepositoryArgs) -> anyhow::Result<()> {
    let interval = args.interval()?;
    let scan_timeout =
        flags::duration("scan-timeout", repo.scan_timeout.as_deref(), Duration::ZERO)?;
    let name = object_name(&repo.name)?;
    if repo.image.is_empty() {
        bail!("an image repository (--image) is required");
    }
    if let Err(e) = tether_registry::ImageName::parse(&repo.image) {
        bail!("unable to parse image value: {e}");
    }
    let metadata = args.metadata(&name)?;
    let spec = Fields::new()
        .always("image", Value::from(repo.image.as_str()))
        .always("interval", Value::from(interval))
        .with(
            "timeout",
            (!scan_timeout.is_zero()).then(|| Value::from(flags::go_duration(scan_timeout))),
        )
        .reference("secretRef", &repo.secret_ref)
        .reference("certSecretRef", &repo.cert_ref);
    let repository = object_json::<ImageRepository>(&metadata, spec.build())?;
    export_or_apply(
        args,
        repository,
        Steps::plain("ImageRepository"),
        |_: &ImageRepository| Ok(completed("ImageRepository")),
    )
}

/// `asc` or `desc` for `--select-alpha` / `--select-numeric`.
fn order(flag: &str, value: &str) -> anyhow::Result<Value> {
    if value != "asc" && value != "desc" {
        bail!("--{flag} must be one of [\"asc\", \"desc\"]");
    }
    Ok(json!({ "order": value }))
}

fn create_policy(args: &CreateArgs, policy: &CreateImagePolicyArgs) -> anyhow::Result<()> {
    // The policy's own --interval (digest reflection, none by default) shadows create's.
    let interval = flags::duration("interval", args.interval.as_deref(), Duration::ZERO)?;
    let name = object_name(&policy.name)?;
    if policy.image_ref.is_empty() {
        bail!("the name of an ImageRepository in the namespace is required (--image-ref)");
    }
    let metadata = args.metadata(&name)?;
    let (semver, alpha, numeric) = (
        !policy.select_semver.is_empty(),
        !policy.select_alpha.is_empty(),
        !policy.select_numeric.is_empty(),
    );
    // Flux's switch: two of semver/alpha/numeric with semver leave the policy empty; alpha
    // with numeric is refused.
    let choice = match (semver, alpha, numeric) {
        (true, true, _) | (true, _, true) => Fields::new(),
        (false, true, true) => {
            bail!(
                "only one of --select-semver, --select-alpha or --select-numeric can be specified"
            )
        }
        (true, false, false) => {
            Fields::new().always("semver", json!({ "range": policy.select_semver }))
        }
        (false, true, false) => {
            Fields::new().always("alphabetical", order("select-alpha", &policy.select_alpha)?)
        }
        (false, false, true) => Fields::new().always(
            "numerical",
            order("select-numeric", &policy.select_numeric)?,
        ),
        (false, false, false) => {
            bail!("a policy must be provided with either --select-semver or --select-alpha")
        }
    };
    let filter_tags = filter_tags(&policy.filter_regex, &policy.filter_extract)?;
    let reflect = policy.reflect_digest.as_str();
    if !reflect.is_empty() && !["Never", "IfNotPresent", "Always"].contains(&reflect) {
        bail!(
            "invalid value for --reflect-digest, must be one of 'Never', 'IfNotPresent', 'Always'"
        );
    }
    if !interval.is_zero() && reflect != "Always" {
        bail!(
            "the --interval flag can only be used with the 'Always' digest reflection policy, use --reflect-digest=Always"
        );
    }
    let spec = Fields::new()
        .always("imageRepositoryRef", json!({ "name": policy.image_ref }))
        .always("policy", choice.build())
        .with("filterTags", filter_tags)
        .text("digestReflectionPolicy", reflect)
        .with(
            "interval",
            (!interval.is_zero()).then(|| Value::from(flags::go_duration(interval))),
        );
    let image_policy = object_json::<ImagePolicy>(&metadata, spec.build())?;
    export_or_apply(
        args,
        image_policy,
        Steps::plain("ImagePolicy"),
        |_: &ImagePolicy| Ok(completed("ImagePolicy")),
    )
}

/// `--filter-regex` (Go RE2 syntax) and `--filter-extract` (whose named groups must exist).
fn filter_tags(pattern: &str, extract: &str) -> anyhow::Result<Option<Value>> {
    if pattern.is_empty() {
        if !extract.is_empty() {
            bail!("cannot specify --filter-extract without specifying --filter-regex");
        }
        return Ok(None);
    }
    let Ok(regex) = regex::Regex::new(pattern) else {
        bail!("--filter-regex is an invalid regex pattern");
    };
    if !extract.is_empty() {
        let names: Vec<&str> = regex.capture_names().flatten().collect();
        check_extract(extract, &names)?;
    }
    Ok(Some(
        Fields::new()
            .always("pattern", Value::from(pattern))
            .always("extract", Value::from(extract))
            .build(),
    ))
}

/// Flux's `validateExtractStr`: every `$name` / `${name}` in the template names a group of
/// the pattern (numbers are not checked), `$$` is a literal dollar.
fn check_extract(template: &str, group_names: &[&str]) -> anyhow::Result<()> {
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        rest = &rest[at..];
        if rest.as_bytes().get(1) == Some(&b'$') {
            rest = &rest[2..];
            continue;
        }
        let braced = rest.as_bytes().get(1) == Some(&b'{');
        let body = &rest[if braced { 2 } else { 1 }..];
        let end = body
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..end];
        if name.is_empty() || (braced && !body[end..].starts_with('}')) {
            bail!("--filter-extract is malformed");
        }
        let numeric = name.chars().all(|c| c.is_ascii_digit())
            && !(name.starts_with('0') && name.len() > 1)
            && name.len() <= 8;
        if !numeric && !group_names.contains(&name) {
            bail!("capture group ${name} used in --filter-extract not found in --filter-regex");
        }
        rest = &body[end + usize::from(braced)..];
    }
    Ok(())
}

fn create_update(args: &CreateArgs, update: &CreateImageUpdateArgs) -> anyhow::Result<()> {
    let interval = args.interval()?;
    let name = object_name(&update.name)?;
    if update.git_repo_ref.is_empty() {
        bail!("a reference to a GitRepository is required (--git-repo-ref)");
    }
    if update.checkout_branch.is_empty() {
        bail!("the Git repository branch is required (--checkout-branch)");
    }
    if update.author_name.is_empty() {
        bail!("the author name is required (--author-name)");
    }
    if update.author_email.is_empty() {
        bail!("the author email is required (--author-email)");
    }
    let key_type = update.signing_key_type.as_str();
    if !key_type.is_empty() && update.signing_key_secret.is_empty() {
        bail!("--signing-key-type requires --signing-key-secret");
    }
    if !key_type.is_empty() && key_type != "gpg" && key_type != "ssh" {
        bail!("--signing-key-type must be one of: gpg, ssh");
    }
    let metadata = args.metadata(&name)?;
    let signing_key = (!update.signing_key_secret.is_empty()).then(|| {
        Fields::new()
            .always("secretRef", json!({ "name": update.signing_key_secret }))
            .text("type", key_type)
            .build()
    });
    let commit = Fields::new()
        .always(
            "author",
            json!({ "name": update.author_name, "email": update.author_email }),
        )
        .text("messageTemplate", &update.commit_template)
        .with("signingKey", signing_key);
    let git = Fields::new()
        .always(
            "checkout",
            json!({ "ref": { "branch": update.checkout_branch } }),
        )
        .always("commit", commit.build())
        .with(
            "push",
            (!update.push_branch.is_empty()).then(|| json!({ "branch": update.push_branch })),
        );
    let source_ref = Fields::new()
        .always("kind", Value::from("GitRepository"))
        .always("name", Value::from(update.git_repo_ref.as_str()))
        .text("namespace", &update.git_repo_namespace);
    let spec = Fields::new()
        .always("sourceRef", source_ref.build())
        .always("git", git.build())
        .always("interval", Value::from(interval))
        .with(
            "update",
            (!update.git_repo_path.is_empty())
                .then(|| json!({ "path": update.git_repo_path, "strategy": "Setters" })),
        );
    let automation = object_json::<ImageUpdateAutomation>(&metadata, spec.build())?;
    export_or_apply(
        args,
        automation,
        Steps::plain("ImageUpdateAutomation"),
        |_: &ImageUpdateAutomation| Ok(completed("ImageUpdateAutomation")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_templates_are_checked_against_the_groups() {
        assert!(check_extract("$ts", &["ts"]).is_ok());
        assert!(check_extract("${ts}-$1 $$", &["ts"]).is_ok());
        assert_eq!(
            check_extract("$other", &["ts"])
                .err()
                .map(|e| e.to_string())
                .as_deref(),
            Some("capture group $other used in --filter-extract not found in --filter-regex")
        );
        assert!(check_extract("${ts", &["ts"]).is_err());
    }
}
