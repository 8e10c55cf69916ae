//! The `helm create` scaffold, generated at test time by the Go-built `helm`, rendered under
//! many values by `helm template` and by the engine: services, ingress with hosts and TLS,
//! HTTPRoute, autoscaling, service accounts, long names cut to 63 characters, resources,
//! probes, volumes, scheduling, and the scaffold vendored as a subchart (also aliased).

mod common;

use common::{Files, Tally, args, compare};

fn scaffold(bin: &std::path::Path, name: &str) -> Files {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = std::process::Command::new(bin)
        .args(["create", name])
        .current_dir(dir.path())
        .env("HELM_CACHE_HOME", dir.path().join(".h/cache"))
        .env("HELM_CONFIG_HOME", dir.path().join(".h/config"))
        .env("HELM_DATA_HOME", dir.path().join(".h/data"))
        .output()
        .expect("helm create runs");
    assert!(status.status.success(), "helm create failed");
    let mut files = Files::new();
    collect(dir.path(), dir.path(), &mut files);
    files
}

fn collect(root: &std::path::Path, dir: &std::path::Path, out: &mut Files) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            out.insert(rel.to_string_lossy().into_owned(), text);
        }
    }
}

/// Value flag sets for the scaffold, under `prefix` (empty for the chart itself).
fn value_sets(prefix: &str) -> Vec<Vec<String>> {
    let p = |s: &str| format!("{prefix}{s}");
    let sets: Vec<Vec<String>> = vec![
        vec![],
        vec!["--set".into(), p("replicaCount=3")],
        vec!["--set".into(), p("replicaCount=1000000")],
        vec!["--set".into(), p("service.type=NodePort,service.port=8080")],
        vec!["--set".into(), p("ingress.enabled=true")],
        vec![
            "--set".into(),
            p(
                "ingress.enabled=true,ingress.className=nginx,ingress.hosts[0].host=a.example.com,ingress.hosts[0].paths[0].path=/api,ingress.hosts[0].paths[0].pathType=Prefix",
            ),
            "--set".into(),
            p("ingress.tls[0].secretName=tls,ingress.tls[0].hosts[0]=a.example.com"),
        ],
        vec![
            "--set".into(),
            p("ingress.enabled=true,ingress.annotations.kubernetes\\.io/ingress\\.class=nginx"),
        ],
        vec!["--set".into(), p("httpRoute.enabled=true")],
        vec![
            "--set".into(),
            p("httpRoute.enabled=true,httpRoute.hostnames[0]=x.example.com"),
        ],
        vec!["--set".into(), p("autoscaling.enabled=true")],
        vec![
            "--set".into(),
            p("autoscaling.enabled=true,autoscaling.targetMemoryUtilizationPercentage=70"),
        ],
        vec![
            "--set".into(),
            p("autoscaling.enabled=true,autoscaling.targetCPUUtilizationPercentage=null"),
        ],
        vec!["--set".into(), p("serviceAccount.create=false")],
        vec![
            "--set".into(),
            p("serviceAccount.create=false,serviceAccount.name=custom"),
        ],
        vec![
            "--set".into(),
            p("serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/x"),
        ],
        vec!["--set".into(), p("serviceAccount.automount=false")],
        vec!["--set".into(), p("fullnameOverride=short")],
        vec![
            "--set".into(),
            p(
                "nameOverride=a-very-long-name-override-that-is-longer-than-sixty-three-characters-for-sure",
            ),
        ],
        vec![
            "--set".into(),
            p(
                "fullnameOverride=another-extremely-long-full-name-override-exceeding-the-limit-of-dns-",
            ),
        ],
        vec![
            "--set".into(),
            p("image.tag=v2.0.0,image.pullPolicy=Always"),
        ],
        vec![
            "--set".into(),
            p("image.repository=registry.example.com:5000/team/app"),
        ],
        vec!["--set-string".into(), p("image.tag=1.10")],
        vec!["--set".into(), p("imagePullSecrets[0].name=regcred")],
        vec![
            "--set".into(),
            p("podAnnotations.prometheus\\.io/scrape=true,podAnnotations.checksum=abc"),
        ],
        vec![
            "--set-string".into(),
            p("podAnnotations.a=yes,podAnnotations.b=1.5,podLabels.tier=on"),
        ],
        vec!["--set".into(), p("podLabels.team=core")],
        vec![
            "--set".into(),
            p("resources.limits.cpu=100m,resources.limits.memory=128Mi,resources.requests.cpu=1"),
        ],
        vec![
            "--set-json".into(),
            p("resources={\"limits\":{\"memory\":1e9,\"cpu\":0.5}}"),
        ],
        vec!["--set".into(), p("nodeSelector.disktype=ssd")],
        vec![
            "--set-json".into(),
            p("tolerations=[{\"key\":\"k\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]"),
        ],
        vec![
            "--set-json".into(),
            p(
                "affinity={\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"x\",\"y\"]}]}]}}}",
            ),
        ],
        vec![
            "--set".into(),
            p(
                "podSecurityContext.fsGroup=2000,securityContext.runAsNonRoot=true,securityContext.runAsUser=1000",
            ),
        ],
        vec![
            "--set-json".into(),
            p(
                "securityContext={\"capabilities\":{\"drop\":[\"ALL\"]},\"readOnlyRootFilesystem\":true}",
            ),
        ],
        vec!["--set".into(), p("livenessProbe=null")],
        vec![
            "--set".into(),
            p("readinessProbe.httpGet.path=/ready,readinessProbe.periodSeconds=5"),
        ],
        vec![
            "--set-json".into(),
            p(
                "volumes=[{\"name\":\"foo\",\"secret\":{\"secretName\":\"mysecret\",\"optional\":false}}]",
            ),
        ],
        vec![
            "--set-json".into(),
            p("volumeMounts=[{\"name\":\"foo\",\"mountPath\":\"/etc/foo\",\"readOnly\":true}]"),
        ],
        vec!["--set".into(), p("service.port=0")],
        vec![
            "--set".into(),
            p(
                "ingress.enabled=true,service.type=LoadBalancer,autoscaling.enabled=true,serviceAccount.create=false",
            ),
        ],
        vec!["--set".into(), p("image=null")],
    ];
    sets
}

#[test]
fn helm_create_scaffolds_render_as_helm_renders_them_under_many_values() {
    let Some(bin) = common::helm_binary() else {
        return;
    };
    let mut tally = Tally::default();
    let demo = scaffold(&bin, "demo");
    let release_flags: Vec<Vec<String>> = vec![
        vec![],
        args(&["--namespace", "prod"]),
        args(&["--is-upgrade"]),
        args(&["--kube-version", "1.28.0"]),
        args(&["--skip-tests"]),
    ];
    for (i, set) in value_sets("").iter().enumerate() {
        let mut case = args(&["rel", "demo"]);
        case.extend(set.iter().cloned());
        case.extend(release_flags[i % release_flags.len()].iter().cloned());
        tally.record(
            &format!("scaffold#{i} {}", case.join(" ")),
            compare(&bin, &demo, &case),
        );
    }
    // The scaffold vendored twice into another scaffold: by name, and under an alias.
    let mut parent = scaffold(&bin, "parent");
    for (path, text) in &demo {
        parent.insert(format!("parent/charts/{path}"), text.clone());
    }
    let chart = parent.get("parent/Chart.yaml").cloned().unwrap_or_default();
    parent.insert(
        "parent/Chart.yaml".into(),
        format!(
            "{chart}\ndependencies:\n  - name: demo\n    version: 0.1.0\n    repository: file://charts/demo\n  - name: demo\n    version: 0.1.0\n    repository: file://charts/demo\n    alias: second\n    condition: second.enabled\n"
        ),
    );
    let subsets: Vec<(&str, Vec<Vec<String>>)> = vec![
        ("demo.", value_sets("demo.")),
        ("second.", value_sets("second.")),
    ];
    for (prefix, sets) in subsets {
        for (i, set) in sets.iter().enumerate().step_by(2) {
            let mut case = args(&["rel", "parent", "-s", "charts/*/templates/*.yaml"]);
            case.extend(set.iter().cloned());
            if i % 4 == 0 {
                case.extend(args(&["--set", "second.enabled=false"]));
            }
            tally.record(
                &format!("subchart {prefix}#{i} {}", case.join(" ")),
                compare(&bin, &parent, &case),
            );
        }
    }
    tally.summary("helm create scaffolds");
    assert!(tally.different.is_empty(), "{:#?}", tally.different);
}
