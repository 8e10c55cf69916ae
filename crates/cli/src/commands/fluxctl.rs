//! The fluxctl verbs (`list-workloads`, `list-images`, `release`, `automate`, `deautomate`,
//! `lock`, `unlock`, `policy`, `sync`, `identity`): their command-line definitions and what
//! each does. Finding the Git repository is in `fluxctl_target`, the tables fluxctl printed
//! in `fluxctl_output`; the operations themselves are `tether-fluxv1`'s.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tether_fluxv1::{CommitSettings, Committed};
use tether_workloads::release::{ImageSelector, ReleaseSpec, WorkloadSelector};
use tether_workloads::{PolicyUpdate, ResourceId};

use super::cluster;
use super::fluxctl_output as output;
use super::fluxctl_target::{self as target, Target};
use crate::cli::{ClusterArgs, ReconcileArgs, ReconcileKind};

/// The fluxctl verbs, flattened into tether's top-level commands.
#[derive(Subcommand, Debug)]
pub enum FluxctlCommand {
    /// List the workloads defined in the Git repository, as `fluxctl list-workloads` did.
    #[command(visible_alias = "list-controllers")]
    ListWorkloads(ListWorkloadsArgs),
    /// Show deployed and available images, as `fluxctl list-images` did.
    ListImages(ListImagesArgs),
    /// Release a new image to workloads (one commit), as `fluxctl release` did.
    Release(ReleaseArgs),
    /// Turn on image automation for a workload (`fluxcd.io/automated`).
    Automate(PolicyVerbArgs),
    /// Turn off image automation for a workload.
    Deautomate(PolicyVerbArgs),
    /// Lock a workload so that neither automation nor releases change it.
    Lock(PolicyVerbArgs),
    /// Unlock a workload.
    Unlock(PolicyVerbArgs),
    /// Manage a workload's policies (automation, lock, tag patterns).
    Policy(PolicyArgs),
    /// Fetch the Git repository and apply it now (`reconcile ks --with-source`).
    Sync(SyncArgs),
    /// Print the public SSH key of the Git repository's deploy key.
    Identity(IdentityArgs),
}

/// Which repository, and how to reach the cluster and the registries.
#[derive(Args, Debug, Clone)]
pub struct RepoArgs {
    /// Namespace of workloads given as KIND/NAME.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// The GitRepository to work on, NAMESPACE/NAME (default: the one whose Kustomization
    /// applied the workload).
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub git_repository: Option<String>,
    /// Directory of the repository holding the workloads (default: the Kustomization's path,
    /// or the whole repository).
    #[arg(long)]
    pub path: Option<String>,
    /// Docker config Secrets (NAMESPACE/NAME) with registry credentials; anonymous otherwise.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub registry_secret: Vec<String>,
    /// Path of the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// How long the whole operation may take.
    #[arg(long, default_value = "5m", value_parser = super::fluxctl_target::parse_duration)]
    pub timeout: std::time::Duration,
}

impl RepoArgs {
    fn cluster(&self, namespace: &str) -> ClusterArgs {
        ClusterArgs {
            namespace: namespace.to_owned(),
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            timeout: self.timeout,
        }
    }
}

/// How commits are written.
#[derive(Args, Debug, Clone)]
pub struct CommitArgs {
    /// Attach a message to the update (it becomes the commit message).
    #[arg(short, long)]
    pub message: Option<String>,
    /// The user reported as initiating the update (default: git's user.name <user.email>).
    #[arg(long)]
    pub user: Option<String>,
    #[command(flatten)]
    pub git: crate::cli::GitAuthorArgs,
}

impl CommitArgs {
    fn settings(&self) -> CommitSettings {
        self.git.settings()
    }

    fn cause(&self) -> Option<&str> {
        self.message.as_deref().filter(|m| !m.is_empty())
    }
}

#[derive(Args, Debug)]
pub struct ListWorkloadsArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Only workloads with a container of this name.
    #[arg(short, long)]
    pub container: Option<String>,
    /// List workloads of every namespace, not only those in -n.
    #[arg(short, long)]
    pub all_namespaces: bool,
    /// Don't print headers.
    #[arg(long)]
    pub no_headers: bool,
    /// A workload whose Kustomization names the repository.
    #[arg(short, long, value_name = "NAMESPACE:KIND/NAME")]
    pub workload: Option<String>,
}

#[derive(Args, Debug)]
pub struct ListImagesArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Show images for this workload only.
    #[arg(short, long, value_name = "NAMESPACE:KIND/NAME")]
    pub workload: Option<String>,
    /// Number of images to show (0 for all).
    #[arg(short, long, default_value_t = 10)]
    pub limit: usize,
    /// Don't print headers.
    #[arg(long)]
    pub no_headers: bool,
    /// Output format: tab or json.
    #[arg(short, long, default_value = "tab", value_parser = ["tab", "json"])]
    pub output_format: String,
}

#[derive(Args, Debug)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
    /// Workloads to release (repeatable, or comma separated).
    #[arg(long, value_delimiter = ',', value_name = "NAMESPACE:KIND/NAME")]
    pub workload: Vec<String>,
    /// Release all workloads of the repository.
    #[arg(long)]
    pub all: bool,
    /// Update a specific image, IMAGE:TAG.
    #[arg(short = 'i', long)]
    pub update_image: Option<String>,
    /// Update all images to the newest tags their patterns allow.
    #[arg(long)]
    pub update_all_images: bool,
    /// Workloads to leave out.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Disregard locks and tag patterns (no effect with --all or --update-all-images).
    #[arg(short, long)]
    pub force: bool,
    /// Include skipped (and ignored, with -vv) workloads in the output.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Do not release anything; report what would have been done.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct PolicyVerbArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub commit: CommitArgs,
    /// The workload.
    #[arg(short, long, value_name = "NAMESPACE:KIND/NAME")]
    pub workload: String,
}

#[derive(Args, Debug)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub verb: PolicyVerbArgs,
    /// Tag filter pattern for every container not named with --tag.
    #[arg(long)]
    pub tag_all: Option<String>,
    /// Tag filter per container, CONTAINER=PATTERN (`*` removes it).
    #[arg(long, value_delimiter = ',')]
    pub tag: Vec<String>,
    #[arg(long, conflicts_with = "deautomate")]
    /// Automate the workload.
    pub automate: bool,
    /// Deautomate the workload.
    #[arg(long)]
    pub deautomate: bool,
    /// Lock the workload.
    #[arg(long, conflicts_with = "unlock")]
    pub lock: bool,
    /// Unlock the workload.
    #[arg(long)]
    pub unlock: bool,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// A workload whose Kustomization is synced.
    #[arg(short, long, value_name = "NAMESPACE:KIND/NAME")]
    pub workload: Option<String>,
    /// The Kustomization to sync, NAMESPACE/NAME.
    #[arg(long, value_name = "NAMESPACE/NAME", conflicts_with = "workload")]
    pub kustomization: Option<String>,
}

#[derive(Args, Debug)]
pub struct IdentityArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// A workload whose GitRepository's key is printed.
    #[arg(short, long, value_name = "NAMESPACE:KIND/NAME")]
    pub workload: Option<String>,
}

pub fn run(command: FluxctlCommand) -> anyhow::Result<()> {
    match command {
        FluxctlCommand::ListWorkloads(args) => bounded(args.repo.timeout, list_workloads(args)),
        FluxctlCommand::ListImages(args) => bounded(args.repo.timeout, list_images(args)),
        FluxctlCommand::Release(args) => bounded(args.repo.timeout, release(args)),
        FluxctlCommand::Automate(args) => run_policy(args, PolicyUpdate::automate()),
        FluxctlCommand::Deautomate(args) => run_policy(args, PolicyUpdate::deautomate()),
        FluxctlCommand::Lock(args) => {
            let user = args.commit.user.clone().or_else(target::git_config_user);
            let update = PolicyUpdate::lock(user.as_deref(), args.commit.message.as_deref());
            run_policy(args, update)
        }
        FluxctlCommand::Unlock(args) => run_policy(args, PolicyUpdate::unlock()),
        FluxctlCommand::Policy(args) => {
            let update = policy_update(&args)?;
            run_policy(args.verb, update)
        }
        FluxctlCommand::Sync(args) => sync(args),
        FluxctlCommand::Identity(args) => bounded(args.repo.timeout, identity(args)),
    }
}

/// Runs a verb, failing when it takes longer than `--timeout`.
fn bounded(
    timeout: std::time::Duration,
    verb: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    cluster::block_on(async move {
        match tokio::time::timeout(timeout, verb).await {
            Ok(result) => result,
            Err(_) => bail!("timed out after {}s", timeout.as_secs()),
        }
    })
}

/// `--workload`, when given, read in the default namespace.
fn optional_workload(
    repo: &RepoArgs,
    workload: Option<&str>,
) -> anyhow::Result<Option<ResourceId>> {
    workload
        .map(|w| parse_workload(&repo.namespace, w))
        .transpose()
}

/// A client for the cluster and the repository the verb works on: the one that holds
/// `workload`, or the namespace's only one.
async fn connect(
    repo: &RepoArgs,
    workload: Option<&ResourceId>,
) -> anyhow::Result<(kube::Client, Target)> {
    let client = cluster::client(&repo.cluster(&repo.namespace)).await?;
    let target = target::resolve(&client, repo, workload).await?;
    Ok((client, target))
}

fn parse_workload(namespace: &str, text: &str) -> anyhow::Result<ResourceId> {
    Ok(ResourceId::parse_with_namespace(namespace, text)?)
}

async fn list_workloads(args: ListWorkloadsArgs) -> anyhow::Result<()> {
    let workload = optional_workload(&args.repo, args.workload.as_deref())?;
    let (client, target) = connect(&args.repo, workload.as_ref()).await?;
    let mut workloads = tether_fluxv1::read_workloads(&target.repository).await?;
    workloads.retain(|w| {
        let namespace_ok = args.all_namespaces || w.id.namespace() == args.repo.namespace;
        let container_ok = args
            .container
            .as_deref()
            .is_none_or(|c| w.containers.iter().any(|k| k.name == c));
        namespace_ok && container_ok
    });
    let statuses = target::rollout_statuses(&client, &workloads).await;
    print!(
        "{}",
        output::workloads_table(&workloads, &statuses, !args.no_headers)
    );
    Ok(())
}

async fn list_images(args: ListImagesArgs) -> anyhow::Result<()> {
    let workload = optional_workload(&args.repo, args.workload.as_deref())?;
    let (client, target) = connect(&args.repo, workload.as_ref()).await?;
    let scanner = target::scanner(&client, &args.repo).await?;
    let mut workloads = tether_fluxv1::read_workloads(&target.repository).await?;
    if let Some(id) = &workload {
        workloads.retain(|w| &w.id == id);
        if workloads.is_empty() {
            bail!(
                "workload {id} not found in {}",
                target.repository.display_url()
            );
        }
    }
    let images = tether_fluxv1::list_images(&workloads, &scanner).await;
    match args.output_format.as_str() {
        "json" => println!("{}", output::images_json(&images, args.limit)),
        _ => print!(
            "{}",
            output::images_table(&images, args.limit, !args.no_headers)
        ),
    }
    Ok(())
}

async fn release(args: ReleaseArgs) -> anyhow::Result<()> {
    let image = match (&args.update_image, args.update_all_images) {
        (Some(image), false) => ImageSelector::Specific(image.clone()),
        (None, true) => ImageSelector::AllLatest,
        _ => bail!("please supply exactly one of --update-image=<image> or --update-all-images"),
    };
    let namespace = &args.repo.namespace;
    let ids = args
        .workload
        .iter()
        .map(|w| parse_workload(namespace, w))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let workloads = match (args.all, ids.is_empty()) {
        (true, true) => WorkloadSelector::All,
        (false, false) => WorkloadSelector::Ids(ids.clone()),
        _ => bail!("please supply either --all, or at least one --workload=<workload>"),
    };
    let excludes = args
        .exclude
        .iter()
        .map(|w| parse_workload(namespace, w))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let spec = ReleaseSpec {
        workloads,
        excludes,
        image,
        force: args.force,
    };
    let (client, target) = connect(&args.repo, ids.first()).await?;
    let scanner = target::scanner(&client, &args.repo).await?;
    if args.dry_run {
        let plan = tether_fluxv1::preview_release(&target.repository, &scanner, &spec).await?;
        print!("{}", output::release_table(&plan, args.verbose.max(1)));
        eprintln!("Dry run: nothing was committed");
        return Ok(());
    }
    eprintln!("Submitting release ...");
    let settings = args.commit.settings();
    let done = tether_fluxv1::release(
        &target.repository,
        &scanner,
        &spec,
        args.commit.cause(),
        &settings,
    )
    .await?;
    // When nothing was released, say why (fluxctl needed -v for that).
    let verbosity = match done.commit {
        Some(_) => args.verbose,
        None => args.verbose.max(1),
    };
    print!("{}", output::release_table(&done.report, verbosity));
    report_commit(&done);
    Ok(())
}

fn policy_update(args: &PolicyArgs) -> anyhow::Result<PolicyUpdate> {
    let mut update = PolicyUpdate::default();
    if args.automate {
        update = update.adding("automated", "true");
    }
    if args.deautomate {
        update = update.removing("automated");
    }
    if args.lock {
        let user = args
            .verb
            .commit
            .user
            .clone()
            .or_else(target::git_config_user);
        let lock = PolicyUpdate::lock(user.as_deref(), args.verb.commit.message.as_deref());
        update.add.extend(lock.add);
    }
    if args.unlock {
        update.remove.extend(PolicyUpdate::unlock().remove);
    }
    if let Some(pattern) = &args.tag_all {
        update = update.tag_all(pattern);
    }
    for pair in &args.tag {
        let Some((container, pattern)) = pair.split_once('=').filter(|(_, p)| !p.contains('='))
        else {
            bail!("invalid container/tag pair: {pair:?}. Expected format is 'container=filter'");
        };
        update = update.tag(container, pattern);
    }
    if update.add.is_empty() && update.remove.is_empty() {
        bail!("no policy change given: use --automate, --lock, --tag-all, --tag, ...");
    }
    Ok(update)
}

fn run_policy(args: PolicyVerbArgs, update: PolicyUpdate) -> anyhow::Result<()> {
    bounded(args.repo.timeout, async move {
        let id = parse_workload(&args.repo.namespace, &args.workload)?;
        let (_, target) = connect(&args.repo, Some(&id)).await?;
        let settings = args.commit.settings();
        let updates = [(id, update)];
        let done =
            tether_fluxv1::set_policy(&target.repository, &updates, args.commit.cause(), &settings)
                .await?;
        print!("{}", output::policy_table(&done.report));
        report_commit(&done);
        Ok(())
    })
}

/// `Commit pushed: <short sha>`, or that nothing changed, on stderr as fluxctl did.
fn report_commit<T>(done: &Committed<T>) {
    match &done.commit {
        Some(commit) => eprintln!("Commit pushed:\t{}", &commit[..commit.len().min(7)]),
        None => eprintln!("Nothing to do"),
    }
}

/// Finds the Kustomization, then leaves the lookup's runtime before `reconcile` starts its own.
fn sync(args: SyncArgs) -> anyhow::Result<()> {
    let namespace = args.repo.namespace.clone();
    let mut found = None;
    cluster::block_on(async {
        let (ks_namespace, ks_name) = match (&args.kustomization, &args.workload) {
            (Some(named), _) => target::split_namespaced(named, &namespace)?,
            (None, Some(workload)) => {
                let id = parse_workload(&namespace, workload)?;
                let client = cluster::client(&args.repo.cluster(&namespace)).await?;
                target::owning_kustomization(&client, &id).await?
            }
            (None, None) => {
                bail!("please supply --workload=<workload> or --kustomization=<ns/name>")
            }
        };
        found = Some((ks_namespace, ks_name));
        Ok(())
    })?;
    let (ks_namespace, name) = found.context("no Kustomization found")?;
    super::reconcile::run(ReconcileArgs {
        cluster: args.repo.cluster(&ks_namespace),
        kind: ReconcileKind::Kustomization {
            name,
            with_source: true,
        },
    })
}

async fn identity(args: IdentityArgs) -> anyhow::Result<()> {
    let workload = optional_workload(&args.repo, args.workload.as_deref())?;
    let (client, Target { git, .. }) = connect(&args.repo, workload.as_ref()).await?;
    let key = target::deploy_public_key(&client, &git).await?;
    print!("{key}");
    if !key.ends_with('\n') {
        println!();
    }
    Ok(())
}
