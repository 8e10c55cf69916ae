//! Property tests over the public build: strategic merge patches (identity, idempotence,
//! `$patch: replace`, list merge by key) and name references (a prefix and suffix rewrite every
//! reference to the renamed ConfigMaps, and only those).

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};
use tether_kustomize::{Kustomizer, MemFs, Options, yaml};

/// Builds the kustomization at the root of an in-memory tree.
fn build(files: &[(&str, String)]) -> Result<Vec<Value>, TestCaseError> {
    let mut fs = MemFs::new();
    for (path, text) in files {
        fs.add(path, text.as_bytes().to_vec());
    }
    Kustomizer::new(Options::default())
        .build(&fs, "")
        .map(|m| m.objects().cloned().collect())
        .map_err(|e| TestCaseError::fail(e.to_string()))
}

fn deployment(containers: &BTreeMap<String, u8>) -> Value {
    let list: Vec<Value> = containers
        .iter()
        .map(|(name, tag)| json!({"name": name, "image": format!("img:{tag}")}))
        .collect();
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": list}}}
    })
}

fn patch_with(containers: Vec<Value>) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": containers}}}
    })
}

fn containers_of(objects: &[Value]) -> Vec<(String, String)> {
    objects
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .and_then(|d| d.pointer("/spec/template/spec/containers"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                    (s("name"), s("image"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn with_patches(target: &Value, patches: &[&Value]) -> Vec<(&'static str, String)> {
    const NAMES: [&str; 3] = ["p0.yaml", "p1.yaml", "p2.yaml"];
    let listed: Vec<&str> = NAMES.iter().take(patches.len()).copied().collect();
    let mut files = vec![
        (
            "kustomization.yaml",
            format!(
                "resources: [deploy.yaml]\npatchesStrategicMerge: [{}]\n",
                listed.join(", ")
            ),
        ),
        ("deploy.yaml", yaml::to_string(target)),
    ];
    for (name, p) in NAMES.iter().zip(patches) {
        files.push((name, yaml::to_string(p)));
    }
    files
}

fn containers() -> impl Strategy<Value = BTreeMap<String, u8>> {
    prop::collection::btree_map("[a-f]", 0u8..9, 1..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn empty_patch_is_identity(target in containers()) {
        let d = deployment(&target);
        let plain = build(&with_patches(&d, &[]))?;
        let identity = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        prop_assert_eq!(build(&with_patches(&d, &[&identity]))?, plain);
    }

    #[test]
    fn patch_twice_equals_patch_once(target in containers(), change in containers()) {
        let d = deployment(&target);
        let p = patch_with(deployment(&change)["spec"]["template"]["spec"]["containers"]
            .as_array().cloned().unwrap_or_default());
        prop_assert_eq!(build(&with_patches(&d, &[&p, &p]))?, build(&with_patches(&d, &[&p]))?);
    }

    #[test]
    fn list_merges_by_name(target in containers(), change in containers()) {
        let d = deployment(&target);
        let p = patch_with(deployment(&change)["spec"]["template"]["spec"]["containers"]
            .as_array().cloned().unwrap_or_default());
        let got: BTreeMap<String, String> = containers_of(&build(&with_patches(&d, &[&p]))?)
            .into_iter().collect();
        let mut want: BTreeMap<String, String> =
            target.iter().map(|(n, t)| (n.clone(), format!("img:{t}"))).collect();
        want.extend(change.iter().map(|(n, t)| (n.clone(), format!("img:{t}"))));
        prop_assert_eq!(got, want);
    }

    #[test]
    fn patch_replace_directive_replaces_the_list(target in containers(), change in containers()) {
        let d = deployment(&target);
        let mut list = deployment(&change)["spec"]["template"]["spec"]["containers"]
            .as_array().cloned().unwrap_or_default();
        list.push(json!({"$patch": "replace"}));
        let got = containers_of(&build(&with_patches(&d, &[&patch_with(list)]))?);
        let want: Vec<(String, String)> =
            change.iter().map(|(n, t)| (n.clone(), format!("img:{t}"))).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn prefix_and_suffix_keep_references_consistent(
        maps in prop::collection::btree_set("[a-e]{1,3}", 1..5),
        refs in prop::collection::vec(("[a-e]{1,3}", any::<bool>()), 0..6),
        prefix in "[a-z]{0,3}",
        suffix in "[a-z]{0,3}",
    ) {
        // kustomize also follows a reference to the name a ConfigMap has after the prefix and
        // before the suffix: real kustomize 5.8 turns a reference to "baa" into "baaa" for
        // ConfigMap "aa" with prefix "b" and suffix "a" (not one to "aaa"). Such references
        // are left out here; the differential case f-prefix-suffix-intermediate-name-ref
        // holds kustomize's exact output.
        prop_assume!(refs.iter().all(|(r, _)| maps.contains(r)
            || maps.iter().all(|m| *r != format!("{prefix}{m}"))));
        let mut docs: Vec<Value> = maps.iter().map(|m| json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": m}, "data": {"k": "v"}
        })).collect();
        let env: Vec<Value> = refs.iter().filter(|(_, as_env)| *as_env)
            .map(|(n, _)| json!({"configMapRef": {"name": n}})).collect();
        let vols: Vec<Value> = refs.iter().filter(|(_, as_env)| !*as_env).enumerate()
            .map(|(i, (n, _))| json!({"name": format!("v{i}"), "configMap": {"name": n}})).collect();
        docs.push(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"volumes": vols,
                "containers": [{"name": "c", "image": "i", "envFrom": env}]}}}
        }));
        let files = vec![
            ("kustomization.yaml", format!(
                "resources: [all.yaml]\nnamePrefix: \"{prefix}\"\nnameSuffix: \"{suffix}\"\n")),
            ("all.yaml", yaml::to_multi_doc(&docs)),
        ];
        let out = build(&files)?;
        let renamed = |n: &str| if maps.contains(n) { format!("{prefix}{n}{suffix}") } else { n.to_string() };
        let deploy = out.iter().find(|o| o["kind"] == "Deployment").cloned().unwrap_or_default();
        let spec = &deploy["spec"]["template"]["spec"];
        let got_env: Vec<&str> = spec["containers"][0]["envFrom"].as_array().into_iter().flatten()
            .filter_map(|e| e["configMapRef"]["name"].as_str()).collect();
        let got_vols: Vec<&str> = spec["volumes"].as_array().into_iter().flatten()
            .filter_map(|v| v["configMap"]["name"].as_str()).collect();
        let want_env: Vec<String> = refs.iter().filter(|(_, e)| *e).map(|(n, _)| renamed(n)).collect();
        let want_vols: Vec<String> = refs.iter().filter(|(_, e)| !*e).map(|(n, _)| renamed(n)).collect();
        prop_assert_eq!(got_env, want_env);
        prop_assert_eq!(got_vols, want_vols);
        let names: Vec<&str> = out.iter().filter(|o| o["kind"] == "ConfigMap")
            .filter_map(|o| o["metadata"]["name"].as_str()).collect();
        for m in &maps {
            let renamed_map = renamed(m);
            prop_assert!(names.contains(&renamed_map.as_str()));
        }
    }
}
