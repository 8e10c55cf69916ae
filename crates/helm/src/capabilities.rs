//! `.Capabilities` as `helm template` fills it without a cluster: the Kubernetes version
//! (Helm's default, or `--kube-version` parsed as Kubernetes parses versions), the API
//! versions client-go knows plus `--api-versions`, and Helm's build information.

use tether_gotemplate::{Func, Methods, Param, Slice, Struct, Value};

/// The Kubernetes version Helm v4.3.2 assumes without a cluster (client-go v0.37 + 1).
pub const DEFAULT_KUBE_VERSION: &str = "v1.37.0";
/// The Helm release whose behaviour this crate follows.
pub const HELM_VERSION: &str = "v4.3.2";
/// The Go toolchain the pinned `helm` was built with (part of `.Capabilities.HelmVersion`).
const GO_VERSION: &str = "go1.26.8";
/// client-go's version as Helm reports it.
const KUBE_CLIENT_VERSION: &str = "v1.37";

/// The group/versions client-go's scheme registers, in its priority order.
const DEFAULT_API_VERSIONS: &str = include_str!("api_versions.txt");

/// A Kubernetes version as `.Capabilities.KubeVersion` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    /// As given, with a `v` prefix (`GitVersion`).
    pub version: String,
    /// `vMAJOR.MINOR.PATCH`, used for constraint checks and printing.
    pub normalized: String,
    /// Major version.
    pub major: String,
    /// Minor version.
    pub minor: String,
}

impl KubeVersion {
    /// Helm's `ParseKubeVersion` (Kubernetes' `ParseGeneric`: `1.30`, `v1.30.2`, `1.30.2-gke.1`).
    pub fn parse(text: &str) -> Result<KubeVersion, String> {
        let trimmed = text.trim();
        let body = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let numeric_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let parts: Vec<&str> = body[..numeric_end].split('.').collect();
        let valid = (2..=3).contains(&parts.len())
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && (p.len() == 1 || !p.starts_with('0'))
            });
        if !valid {
            return Err(format!("could not parse {text:?} as version"));
        }
        let num = |i: usize| {
            parts
                .get(i)
                .and_then(|p| p.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let version = if text.starts_with('v') {
            text.to_owned()
        } else {
            format!("v{text}")
        };
        Ok(KubeVersion {
            version,
            normalized: format!(
                "v{}",
                (0..parts.len())
                    .map(|i| num(i).to_string())
                    .collect::<Vec<_>>()
                    .join(".")
            ),
            major: num(0).to_string(),
            minor: num(1).to_string(),
        })
    }
}

impl Default for KubeVersion {
    fn default() -> Self {
        KubeVersion {
            version: DEFAULT_KUBE_VERSION.into(),
            normalized: DEFAULT_KUBE_VERSION.into(),
            major: "1".into(),
            minor: "37".into(),
        }
    }
}

/// What `.Capabilities` reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// The target Kubernetes version.
    pub kube_version: KubeVersion,
    /// Extra API versions (`--api-versions`), after the defaults.
    pub extra_api_versions: Vec<String>,
}

impl Capabilities {
    /// Every API version `.Capabilities.APIVersions` holds.
    pub fn api_versions(&self) -> Vec<String> {
        DEFAULT_API_VERSIONS
            .lines()
            .map(str::to_owned)
            .chain(self.extra_api_versions.iter().cloned())
            .collect()
    }

    /// The Go value templates see.
    pub fn to_value(&self) -> Value {
        let kv = &self.kube_version;
        // String() has a pointer receiver: printed directly the version shows, passed to a
        // function the fields do (the unexported one included, as fmt prints it).
        let kube = Struct::new("common.KubeVersion")
            .field("Version", kv.version.as_str())
            .field("normalizedVersion", kv.normalized.as_str())
            .field("Major", kv.major.as_str())
            .field("Minor", kv.minor.as_str())
            .method("GitVersion", kv.version.as_str())
            .method("String", kv.normalized.as_str())
            .pointer_stringer(kv.normalized.as_str());
        let versions = self.api_versions();
        let mut methods = Methods::default();
        let known = versions.clone();
        methods.add(
            "Has",
            Func::new(&[Param::String], move |a| {
                let wanted = match &a[0] {
                    Value::String(s) => s.as_str(),
                    _ => "",
                };
                Ok(Value::Bool(known.iter().any(|v| v == wanted)))
            }),
        );
        let api = Value::Slice(Slice {
            type_name: "common.VersionSet".into(),
            items: versions.into_iter().map(Value::String).collect(),
            methods,
        });
        let helm = Struct::new("version.BuildInfo")
            .field("Version", HELM_VERSION)
            .field("GitCommit", "")
            .field("GitTreeState", "")
            .field("GoVersion", GO_VERSION)
            .field("KubeClientVersion", KUBE_CLIENT_VERSION);
        let caps = Struct::new("*common.Capabilities")
            .field("KubeVersion", kube)
            .field("APIVersions", api)
            .field("HelmVersion", helm);
        Value::Struct(caps)
    }
}
