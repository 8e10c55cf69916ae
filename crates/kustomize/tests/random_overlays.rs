//! Random differential suite, independent of the hand-written cases: each seed composes a base,
//! an optional component and an overlay from generators, patches of all three kinds with and
//! without targets, prefixes and suffixes, labels and annotations, images, replicas,
//! replacements, namespaces and builtin plugin configurations; the tree is built by the engine
//! and by the real kustomize binary, and the outputs must be byte-identical (or both fail).
//!
//! CI runs the fixed seeds `0..FIXED_SEEDS`. `TETHER_RANDOM_CASES=N` (with an optional
//! `TETHER_RANDOM_FROM=S`, default the clock) runs N fresh seeds instead and prints the pass
//! rate and every difference (`bench/kustomize/random.sh` wraps it). Every difference found
//! becomes a named case under `testdata/`. Without a kustomize binary the suite is skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tether_kustomize::{DiskFs, Kustomizer, Options};

/// Seeds every CI run checks.
const FIXED_SEEDS: u64 = 500;

/// Seeds of the fixed range whose difference is known and named in `testdata/` (see
/// `testdata/KNOWN_DIFFERENCES`). None today: 81 and 210, now
/// `f-replacements-created-decimal-text-after-smp`, were fixed.
const KNOWN_DIFFERENT_SEEDS: &[u64] = &[];

/// splitmix64: a small deterministic generator, so a seed names one tree forever.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with `percent` per cent probability.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// The objects every base starts from; deployments refer to the ConfigMap and Secret.
const WORKLOADS: &[&str] = &[
    r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.0
        envFrom:
        - configMapRef:
            name: settings
        - secretRef:
            name: creds
        ports:
        - containerPort: 80
      volumes:
      - name: conf
        configMap:
          name: settings
"#,
    r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels:
    app: api
spec:
  replicas: 2
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - name: api
        image: redis:6
      - name: sidecar
        image: busybox
"#,
    r#"apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
"#,
    r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: web
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
      - name: db
        image: postgres:15
"#,
    r#"apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: read
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
- kind: ServiceAccount
  name: default
"#,
];

/// A generated tree: file path (relative) to content, and the directory to build.
struct Tree {
    files: BTreeMap<String, String>,
    build: String,
}

/// Builds the kustomization of one layer (`base`, `comp` or `overlay`) line by line.
struct Layer<'r> {
    rng: &'r mut Rng,
    lines: Vec<String>,
    transformers: Vec<String>,
    generators: Vec<String>,
    is_base: bool,
    /// Deployments in the base (`web`, maybe `api`), so patches and replicas mostly find one.
    deployments: Vec<&'static str>,
    /// Names replicas may address: the deployments and maybe the StatefulSet `db`.
    workloads: Vec<&'static str>,
}

impl Layer<'_> {
    fn deployment(&mut self) -> &'static str {
        self.deployments[self.rng.below(self.deployments.len())]
    }

    fn push(&mut self, text: &str) {
        self.lines.push(text.to_string());
    }

    /// A target selector for patches: by kind, by name, by label, or by regex name.
    fn target(&mut self) -> String {
        match self.rng.below(5) {
            0 => "  target:\n    kind: Deployment\n".into(),
            1 => {
                let name = if self.rng.chance(20) {
                    "w.*"
                } else {
                    self.deployment()
                };
                format!("  target:\n    kind: Deployment\n    name: {name}\n")
            }
            2 => "  target:\n    labelSelector: app=web\n".into(),
            3 => {
                "  target:\n    group: apps\n    version: v1\n    kind: Deployment\n    name: web\n"
                    .into()
            }
            _ => "  target:\n    name: web\n".into(),
        }
    }

    fn name_affixes(&mut self) {
        if self.rng.chance(40) {
            let p = self.rng.pick(&["pre-", "a-", "x-"]);
            self.push(&format!("namePrefix: {p}"));
        }
        if self.rng.chance(30) {
            let s = self.rng.pick(&["-suf", "-v2", "-z"]);
            self.push(&format!("nameSuffix: {s}"));
        }
        if self.rng.chance(30) {
            let ns = self.rng.pick(&["prod", "staging", "team-a"]);
            self.push(&format!("namespace: {ns}"));
        }
    }

    fn metadata(&mut self) {
        match self.rng.below(5) {
            0 => self.push("commonLabels:\n  env: prod"),
            1 => self.push("labels:\n- pairs:\n    tier: front\n  includeSelectors: true"),
            2 => self.push("labels:\n- pairs:\n    owner: ops\n  includeTemplates: true"),
            3 => self.push("labels:\n- pairs:\n    plain: \"yes\""),
            _ => {}
        }
        if self.rng.chance(30) {
            self.push("commonAnnotations:\n  note: generated");
        }
    }

    fn images_and_replicas(&mut self) {
        if self.rng.chance(35) {
            let entry = match self.rng.below(4) {
                0 => "- name: nginx\n  newTag: \"1.27\"",
                1 => "- name: redis\n  newName: registry.local/redis\n  newTag: \"7\"",
                2 => {
                    "- name: nginx\n  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                }
                _ => "- name: busybox\n  newName: alpine",
            };
            self.push(&format!("images:\n{entry}"));
        }
        if self.rng.chance(30) {
            let name = self.workloads[self.rng.below(self.workloads.len())];
            let count = self.rng.below(5);
            self.push(&format!("replicas:\n- name: {name}\n  count: {count}"));
        }
    }

    fn patches(&mut self) {
        let mut entries = Vec::new();
        if self.rng.chance(35) {
            let target = self.target();
            entries.push(format!(
                "- patch: |-\n    - op: add\n      path: /metadata/annotations/patched\n      value: json\n{target}"
            ));
        }
        if self.rng.chance(35) {
            let name = self.deployment();
            let smp = format!(
                "- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: {name}\n    spec:\n      template:\n        spec:\n          containers:\n          - name: {name}\n            env:\n            - name: MODE\n              value: smp\n"
            );
            entries.push(smp);
        }
        if self.rng.chance(20) {
            let target = self.target();
            entries.push(format!(
                "- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: any\n    spec:\n      revisionHistoryLimit: 3\n{target}"
            ));
        }
        if self.rng.chance(20) {
            let target = self.target();
            let op = match self.rng.below(5) {
                0 => "    - op: replace\n      path: /spec/replicas\n      value: 7\n",
                1 => "    - op: remove\n      path: /spec/template/metadata/labels\n",
                2 => {
                    "    - op: copy\n      from: /metadata/name\n      path: /metadata/annotations~1copied\n"
                }
                3 => {
                    "    - op: test\n      path: /kind\n      value: Deployment\n    - op: add\n      path: /spec/template/spec/containers/0/args\n      value: [\"--v=2\"]\n"
                }
                _ => "    - op: add\n      path: /metadata/labels/app\n      value: patched\n",
            };
            entries.push(format!("- patch: |-\n{op}{target}"));
        }
        if self.rng.chance(15) {
            let name = self.deployment();
            let directive = match self.rng.below(3) {
                0 => format!("          containers:\n          - name: {name}\n            $patch: delete\n          - name: extra\n            image: extra:1\n"),
                1 => "          volumes:\n          - $patch: replace\n          - name: fresh\n            emptyDir: {}\n".to_string(),
                _ => format!("          containers:\n          - name: {name}\n            image: null\n            imagePullPolicy: Always\n"),
            };
            entries.push(format!(
                "- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: {name}\n    spec:\n      template:\n        spec:\n{directive}"
            ));
        }
        if !entries.is_empty() {
            self.push(&format!("patches:\n{}", entries.join("")));
        }
        if self.rng.chance(20) {
            self.push("patchesStrategicMerge:\n- |-\n  apiVersion: v1\n  kind: Service\n  metadata:\n    name: web\n  spec:\n    type: NodePort");
        }
        if self.rng.chance(20) {
            self.push("patchesJson6902:\n- target:\n    version: v1\n    kind: Service\n    name: web\n  patch: |-\n    - op: add\n      path: /metadata/labels\n      value: {exposed: \"true\"}");
        }
    }

    fn generators_fields(&mut self) {
        if self.is_base {
            self.push(
                "configMapGenerator:\n- name: settings\n  literals:\n  - mode=fast\n  - level=1",
            );
            if self.rng.chance(60) {
                self.push("secretGenerator:\n- name: creds\n  literals:\n  - password=s3cret");
            }
        } else if self.rng.chance(40) {
            let behavior = self.rng.pick(&["merge", "replace", "merge"]);
            self.push(&format!(
                "configMapGenerator:\n- name: settings\n  behavior: {behavior}\n  literals:\n  - mode=slow"
            ));
        }
        if self.rng.chance(15) {
            self.push("generatorOptions:\n  disableNameSuffixHash: true");
        }
    }

    fn replacements(&mut self) {
        if !self.rng.chance(35) {
            return;
        }
        let target = self.rng.pick(&["Deployment", "StatefulSet"]);
        let entry = match self.rng.below(4) {
            0 => format!(
                "- source:\n    kind: ConfigMap\n    name: settings\n    fieldPath: data.mode\n  targets:\n  - select:\n      kind: {target}\n    fieldPaths:\n    - metadata.annotations.mode\n    options:\n      create: true"
            ),
            1 => "- source:\n    kind: Service\n    name: web\n  targets:\n  - select:\n      kind: Deployment\n    reject:\n    - name: api\n    fieldPaths:\n    - spec.template.metadata.annotations.service\n    options:\n      create: true".to_string(),
            2 => "- source:\n    kind: Deployment\n    name: web\n    fieldPath: spec.template.spec.containers.[name=web].image\n    options:\n      delimiter: ':'\n      index: 1\n  targets:\n  - select:\n      kind: Service\n    fieldPaths:\n    - metadata.labels.version\n    options:\n      create: true".to_string(),
            _ => "- source:\n    kind: ConfigMap\n    name: settings\n    fieldPath: metadata.name\n  targets:\n  - select:\n      kind: Deployment\n      name: web\n    fieldPaths:\n    - spec.template.spec.containers.0.image\n    options:\n      delimiter: ':'\n      index: 1".to_string(),
        };
        self.push(&format!("replacements:\n{entry}"));
    }

    /// Builtin plugin configurations, inline under `transformers:`/`generators:`.
    fn plugins(&mut self) {
        if self.rng.chance(30) {
            let config = match self.rng.below(7) {
                0 => {
                    "kind: PrefixTransformer\n  metadata:\n    name: p\n  prefix: plug-\n  fieldSpecs:\n  - path: metadata/name"
                }
                1 => {
                    "kind: SuffixTransformer\n  metadata:\n    name: s\n  suffix: -plug\n  fieldSpecs:\n  - kind: Deployment\n    path: metadata/name"
                }
                2 => {
                    "kind: LabelTransformer\n  metadata:\n    name: l\n  labels:\n    plugin: label\n  fieldSpecs:\n  - path: metadata/labels\n    create: true"
                }
                3 => {
                    "kind: AnnotationsTransformer\n  metadata:\n    name: a\n  annotations:\n    plugin: note\n  fieldSpecs:\n  - path: metadata/annotations\n    create: true"
                }
                4 => {
                    "kind: NamespaceTransformer\n  metadata:\n    name: n\n    namespace: plugged\n  unsetOnly: true"
                }
                5 => {
                    "kind: ImageTagTransformer\n  metadata:\n    name: i\n  imageTag:\n    name: nginx\n    newTag: plugged"
                }
                _ => {
                    "kind: PatchTransformer\n  metadata:\n    name: pt\n  target:\n    kind: Service\n  patch: |-\n    - op: add\n      path: /spec/sessionAffinity\n      value: ClientIP"
                }
            };
            self.transformers
                .push(format!("- |-\n  apiVersion: builtin\n  {config}"));
        }
        if self.rng.chance(15) {
            self.generators.push(
                "- |-\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata:\n    name: plugged\n  literals:\n  - from=plugin"
                    .into(),
            );
        }
    }

    fn finish(mut self) -> String {
        if !self.transformers.is_empty() {
            let list = self.transformers.join("\n");
            self.push(&format!("transformers:\n{list}"));
        }
        if !self.generators.is_empty() {
            let list = self.generators.join("\n");
            self.push(&format!("generators:\n{list}"));
        }
        let mut text = self.lines.join("\n");
        text.push('\n');
        text
    }
}

fn layer<'r>(rng: &'r mut Rng, is_base: bool, objects: &[&str]) -> Layer<'r> {
    let has = |name: &str| {
        objects
            .iter()
            .any(|o| o.contains(&format!("  name: {name}\n")))
    };
    let deployments: Vec<&'static str> = ["web", "api"].into_iter().filter(|n| has(n)).collect();
    let mut workloads = deployments.clone();
    if has("db") {
        workloads.push("db");
    }
    Layer {
        rng,
        lines: Vec::new(),
        transformers: Vec::new(),
        generators: Vec::new(),
        is_base,
        deployments,
        workloads,
    }
}

/// The tree seed `seed` names.
fn generate(seed: u64) -> Tree {
    let mut rng = Rng(seed);
    let mut files = BTreeMap::new();
    let mut objects: Vec<&str> = vec![WORKLOADS[0], WORKLOADS[2]];
    for extra in [WORKLOADS[1], WORKLOADS[3], WORKLOADS[4]] {
        if rng.chance(50) {
            objects.push(extra);
        }
    }
    files.insert("base/workloads.yaml".to_string(), objects.join("---\n"));

    let mut base = layer(&mut rng, true, &objects);
    base.push("resources:\n- workloads.yaml");
    base.generators_fields();
    if base.rng.chance(50) {
        base.name_affixes();
    }
    if base.rng.chance(40) {
        base.metadata();
    }
    if base.rng.chance(30) {
        base.patches();
    }
    if base.rng.chance(20) {
        base.plugins();
    }
    if base.rng.chance(30) {
        base.replacements();
    }
    files.insert("base/kustomization.yaml".into(), base.finish());

    let with_component = rng.chance(30);
    if with_component {
        let mut comp = layer(&mut rng, false, &objects);
        comp.push("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component");
        comp.patches();
        comp.images_and_replicas();
        comp.plugins();
        if comp.lines.len() == 1 && comp.transformers.is_empty() {
            comp.push("commonAnnotations:\n  component: \"on\"");
        }
        files.insert("comp/kustomization.yaml".into(), comp.finish());
    }

    let mut overlay = layer(&mut rng, false, &objects);
    overlay.push("resources:\n- ../base");
    if with_component {
        overlay.push("components:\n- ../comp");
    }
    overlay.name_affixes();
    overlay.metadata();
    overlay.images_and_replicas();
    overlay.patches();
    overlay.generators_fields();
    overlay.replacements();
    overlay.plugins();
    files.insert("overlay/kustomization.yaml".into(), overlay.finish());
    Tree {
        files,
        build: "overlay".into(),
    }
}

fn kustomize_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TETHER_KUSTOMIZE") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var("HOME").ok()?;
    std::fs::read_dir(Path::new(&home).join(".cache/tether/testbin"))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("kustomize"))
        .find(|p| p.is_file())
}

/// How one seed came out.
enum Verdict {
    Same,
    BothFail,
    Different(String),
}

fn run_seed(bin: &Path, seed: u64) -> Result<Verdict, String> {
    let tree = generate(seed);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (path, text) in &tree.files {
        let file = dir.path().join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&file, text).map_err(|e| e.to_string())?;
    }
    let fs = DiskFs::new(dir.path(), 1 << 24).map_err(|e| e.to_string())?;
    let ours = Kustomizer::new(Options::default())
        .build(&fs, &tree.build)
        .map(|m| m.to_yaml())
        .map_err(|e| e.to_string());
    let out = std::process::Command::new(bin)
        .arg("build")
        .arg(dir.path().join(&tree.build))
        .output()
        .map_err(|e| e.to_string())?;
    let theirs = if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    };
    Ok(match (ours, theirs) {
        (Ok(a), Ok(b)) if a == b => Verdict::Same,
        (Err(_), Err(e)) => {
            if std::env::var_os("TETHER_RANDOM_VERBOSE").is_some() {
                let last = e.trim().lines().last().unwrap_or_default().to_string();
                println!("seed {seed}: both fail: {last}");
            }
            Verdict::BothFail
        }
        (Ok(a), Ok(b)) => Verdict::Different(first_difference(&b, &a)),
        (Err(e), Ok(_)) => Verdict::Different(format!("tether fails, kustomize builds: {e}")),
        (Ok(_), Err(e)) => Verdict::Different(format!("tether builds, kustomize fails: {e}")),
    })
}

fn first_difference(want: &str, got: &str) -> String {
    let line = want
        .lines()
        .zip(got.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(want.lines().count().min(got.lines().count()));
    format!(
        "line {}: kustomize `{}` tether `{}`",
        line + 1,
        want.lines().nth(line).unwrap_or("<eof>"),
        got.lines().nth(line).unwrap_or("<eof>")
    )
}

/// Runs `seeds`, printing every difference; returns the seeds that differ.
fn run_seeds(bin: &Path, seeds: impl Iterator<Item = u64>) -> Vec<u64> {
    let (mut same, mut both_fail, mut different) = (0u64, 0u64, Vec::new());
    for seed in seeds {
        match run_seed(bin, seed) {
            Ok(Verdict::Same) => same += 1,
            Ok(Verdict::BothFail) => both_fail += 1,
            Ok(Verdict::Different(why)) => {
                println!("seed {seed}: {why}");
                different.push(seed);
            }
            Err(e) => {
                println!("seed {seed}: could not run: {e}");
                different.push(seed);
            }
        }
    }
    let total = same + both_fail + different.len() as u64;
    println!(
        "random overlays: {total} cases, {same} byte-identical, {both_fail} both failing, {} different ({:.2}% agree)",
        different.len(),
        100.0 * (same + both_fail) as f64 / total.max(1) as f64
    );
    different
}

#[test]
fn random_overlays_match_real_kustomize() {
    let Some(bin) = kustomize_binary() else {
        println!("no kustomize binary; skipping the random suite");
        return;
    };
    if let Some(n) = std::env::var("TETHER_RANDOM_CASES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        let from = std::env::var("TETHER_RANDOM_FROM")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() << 20)
                    .unwrap_or(1 << 40)
            });
        println!("fresh seeds {from}..{}", from + n);
        run_seeds(&bin, from..from + n);
        return;
    }
    let different = run_seeds(&bin, 0..FIXED_SEEDS);
    let unexpected: Vec<u64> = different
        .into_iter()
        .filter(|s| !KNOWN_DIFFERENT_SEEDS.contains(s))
        .collect();
    assert!(
        unexpected.is_empty(),
        "seeds whose output differs from kustomize: {unexpected:?}"
    );
}

#[test]
fn a_seed_names_one_tree() {
    let a = generate(42);
    let b = generate(42);
    assert_eq!(a.files, b.files);
    assert!(a.files.contains_key("overlay/kustomization.yaml"));
}

/// Writes the tree of `TETHER_RANDOM_DUMP=<seed>` to `TETHER_RANDOM_DUMP_DIR` (to turn a
/// difference into a named case).
#[test]
fn dump_a_seed_when_asked() {
    let (Ok(seed), Ok(dir)) = (
        std::env::var("TETHER_RANDOM_DUMP"),
        std::env::var("TETHER_RANDOM_DUMP_DIR"),
    ) else {
        return;
    };
    let Ok(seed) = seed.parse::<u64>() else {
        return;
    };
    for (path, text) in generate(seed).files {
        let file = Path::new(&dir).join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("create the dump directory");
        }
        std::fs::write(&file, text).expect("write a dumped file");
    }
}
