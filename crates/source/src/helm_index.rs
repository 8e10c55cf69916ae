//! A Helm chart repository index (`index.yaml`) read with bounded memory, and Helm's chart
//! version lookup on it.
//!
//! Parsing streams the document straight into a compact typed form ([`HelmIndex`]): per chart
//! version only what choosing and downloading a chart needs (name, version, appVersion, urls,
//! digest, created, deprecated, apiVersion, type, kubeVersion); descriptions, maintainers,
//! dependencies and annotations are skipped as they are read, never held. The input is capped
//! ([`IndexLimits::max_bytes`], 256 MiB by default as Flux's `helm.MaxIndexSize`), and YAML
//! aliases are refused outright: `helm repo index` never writes them, and they are how a small
//! document expands into a huge one.
//!
//! Loading follows Helm's `loadIndex` (`pkg/repo/v1/index.go`): an empty document and a missing
//! `apiVersion` are errors, a chart version's `apiVersion` defaults to `v1`, entries that fail
//! Helm's metadata validation (no name, a name with a path, an invalid version, an unknown type)
//! are skipped, and each chart's versions are sorted newest first. JSON indexes are read too
//! (JSON is YAML). Lookup ([`HelmIndex::get`]) is source-controller's `getChartVersion`, through
//! [`tether_semver::select_chart_version`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use tether_semver::{ConstraintError, Version};

/// The default cap on an index document, as Flux's `helm.MaxIndexSize`.
pub const DEFAULT_MAX_INDEX_BYTES: u64 = 256 * 1024 * 1024;

/// Bounds applied while reading an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexLimits {
    /// The largest document accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for IndexLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_INDEX_BYTES,
        }
    }
}

/// Why an index cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HelmIndexError {
    /// The document is empty (Helm's `ErrEmptyIndexYaml`).
    #[error("empty index.yaml file")]
    Empty,
    /// The document has no top-level `apiVersion` (Helm's `ErrNoAPIVersion`).
    #[error("no API version specified")]
    NoApiVersion,
    /// The document is larger than the configured cap.
    #[error("index exceeds the maximum index file size of {max} bytes")]
    TooLarge {
        /// The cap, in bytes.
        max: u64,
    },
    /// The document uses YAML aliases (`*name`), refused to rule out alias bombs.
    #[error("index.yaml uses YAML aliases, which a chart repository index never needs")]
    Aliases,
    /// The document is not a valid index.
    #[error("failed to parse index.yaml: {message}")]
    Parse {
        /// The parser's message, with its location.
        message: String,
    },
    /// The document could not be read.
    #[error("cannot read index.yaml: {0}")]
    Io(#[from] std::io::Error),
}

/// Why [`HelmIndex::get`] found no chart version.
#[derive(Debug, thiserror::Error)]
pub enum ChartLookupError {
    /// The index has no chart of that name (Helm's `ErrNoChartName`).
    #[error("no chart name found")]
    NoChartName {
        /// The chart asked for.
        name: String,
    },
    /// The chart has no (valid) versions (Helm's `ErrNoChartVersion`).
    #[error("no chart version found")]
    NoChartVersion {
        /// The chart asked for.
        name: String,
    },
    /// No version satisfies the constraint (Helm's `Get` message).
    #[error("no chart version found for {name}-{constraint}")]
    NoMatchingVersion {
        /// The chart asked for.
        name: String,
        /// The constraint as given.
        constraint: String,
    },
    /// The constraint is neither a version in the index nor a valid range.
    #[error("invalid chart version constraint '{constraint}': {source}")]
    InvalidConstraint {
        /// The constraint as given.
        constraint: String,
        /// Why it does not parse.
        source: ConstraintError,
    },
}

impl ChartLookupError {
    /// Whether asking again without a change of spec cannot help (a bad constraint).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::InvalidConstraint { .. })
    }
}

/// One chart version of an index, as far as choosing and fetching it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartVersion {
    /// The chart's name (shared with the index entry when they agree, as they do).
    pub name: Arc<str>,
    /// The chart's version as written.
    pub version: Box<str>,
    /// `appVersion`, when given.
    pub app_version: Option<Box<str>>,
    /// Where the archive is: absolute, or relative to the repository URL.
    pub urls: Box<[Box<str>]>,
    /// The archive's sha256 (hex), when the index gives one.
    pub digest: Option<Box<str>>,
    /// When the version was added to the index.
    pub created: Option<DateTime<Utc>>,
    /// Whether the chart is marked deprecated.
    pub deprecated: bool,
    /// The chart API version (`v1` when the index leaves it out).
    pub api_version: Cow<'static, str>,
    /// `application` or `library`, when given.
    pub chart_type: Option<Cow<'static, str>>,
    /// The `kubeVersion` constraint, when given.
    pub kube_version: Option<Box<str>>,
}

/// A parsed repository index.
#[derive(Debug, Clone, Default)]
pub struct HelmIndex {
    api_version: Box<str>,
    entries: HashMap<Arc<str>, Box<[ChartVersion]>>,
    skipped: usize,
}

#[derive(Deserialize)]
struct RawIndex {
    #[serde(default, rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(default)]
    entries: Option<Entries>,
}

/// `entries`, built while it is read: each chart version is validated and made compact as soon
/// as it is parsed, so no raw form of the whole index ever exists.
#[derive(Default)]
struct Entries {
    charts: HashMap<Arc<str>, Box<[ChartVersion]>>,
    skipped: usize,
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of chart names to lists of chart versions")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
        let mut entries = Entries::default();
        while let Some(name) = map.next_key::<String>()? {
            let name: Arc<str> = name.into();
            let (versions, skipped) = map.next_value_seed(VersionsSeed { name: &name })?;
            entries.skipped += skipped;
            entries.charts.insert(name, versions);
        }
        Ok(entries)
    }
}

/// One chart's list of versions (or null), kept valid ones sorted newest first.
#[derive(Clone, Copy)]
struct VersionsSeed<'n> {
    name: &'n Arc<str>,
}

impl<'de> DeserializeSeed<'de> for VersionsSeed<'_> {
    type Value = (Box<[ChartVersion]>, usize);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for VersionsSeed<'_> {
    type Value = (Box<[ChartVersion]>, usize);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of chart versions")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok((Box::default(), 0))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok((Box::default(), 0))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut kept: Vec<(Version, ChartVersion)> = Vec::new();
        let mut skipped = 0;
        while let Some(raw) = seq.next_element::<Option<RawChartVersion>>()? {
            match raw.and_then(|raw| validated(raw, self.name)) {
                Some(valid) => kept.push(valid),
                None => skipped += 1,
            }
        }
        // Helm's SortEntries: newest first, by semver precedence (stable).
        kept.sort_by(|(a, _), (b, _)| b.precedence_cmp(a));
        Ok((kept.into_iter().map(|(_, cv)| cv).collect(), skipped))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawChartVersion {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    app_version: Option<String>,
    #[serde(default)]
    urls: Option<Vec<String>>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    deprecated: Option<bool>,
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default, rename = "type")]
    chart_type: Option<String>,
    #[serde(default)]
    kube_version: Option<String>,
}

impl HelmIndex {
    /// Reads an index from `reader`, which must not yield more than `limits.max_bytes`.
    pub fn from_reader(reader: impl Read, limits: IndexLimits) -> Result<Self, HelmIndexError> {
        let mut counted = CountingReader {
            inner: reader.take(limits.max_bytes.saturating_add(1)),
            read: 0,
        };
        let raw: Result<RawIndex, _> =
            serde_saphyr::from_reader_with_options(&mut counted, parse_options(limits));
        if counted.read > limits.max_bytes {
            return Err(HelmIndexError::TooLarge {
                max: limits.max_bytes,
            });
        }
        if counted.read == 0 {
            return Err(HelmIndexError::Empty);
        }
        Self::from_raw(raw.map_err(parse_error)?)
    }

    /// Reads an index from bytes in memory.
    pub fn from_slice(bytes: &[u8], limits: IndexLimits) -> Result<Self, HelmIndexError> {
        Self::from_reader(bytes, limits)
    }

    /// Reads an index file (e.g. the artifact of a HelmRepository).
    pub fn from_path(path: &Path, limits: IndexLimits) -> Result<Self, HelmIndexError> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() > limits.max_bytes {
            return Err(HelmIndexError::TooLarge {
                max: limits.max_bytes,
            });
        }
        Self::from_reader(std::io::BufReader::new(file), limits)
    }

    fn from_raw(raw: RawIndex) -> Result<Self, HelmIndexError> {
        let api_version = raw
            .api_version
            .filter(|v| !v.is_empty())
            .ok_or(HelmIndexError::NoApiVersion)?;
        let entries = raw.entries.unwrap_or_default();
        Ok(Self {
            api_version: api_version.into_boxed_str(),
            entries: entries.charts,
            skipped: entries.skipped,
        })
    }

    /// The index's `apiVersion`.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The chart names in the index, in no particular order.
    pub fn chart_names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(|name| &**name)
    }

    /// A chart's valid versions, newest first; `None` when the index has no such chart.
    pub fn versions(&self, chart: &str) -> Option<&[ChartVersion]> {
        self.entries.get(chart).map(|versions| &**versions)
    }

    /// How many chart versions the index holds (after skipping invalid ones).
    pub fn total_versions(&self) -> usize {
        self.entries.values().map(|versions| versions.len()).sum()
    }

    /// How many entries were skipped as invalid, as Helm does.
    pub fn skipped_entries(&self) -> usize {
        self.skipped
    }

    /// The version of `chart` that `constraint` selects: an exact version string, a
    /// Masterminds range (`61.x`, `>=1.2 <2`, `~1.2`, `^1`), or empty / `*` for the latest
    /// stable version (see [`tether_semver::select`]).
    pub fn get(&self, chart: &str, constraint: &str) -> Result<&ChartVersion, ChartLookupError> {
        let versions = self
            .entries
            .get(chart)
            .ok_or_else(|| ChartLookupError::NoChartName { name: chart.into() })?;
        if versions.is_empty() {
            return Err(ChartLookupError::NoChartVersion { name: chart.into() });
        }
        tether_semver::select_chart_version(versions, constraint, |cv| &cv.version, |cv| cv.created)
            .map_err(|source| ChartLookupError::InvalidConstraint {
                constraint: constraint.into(),
                source,
            })?
            .ok_or_else(|| ChartLookupError::NoMatchingVersion {
                name: chart.into(),
                constraint: constraint.into(),
            })
    }
}

/// Helm's `Metadata.Validate` as far as the kept fields go; `None` drops the entry.
fn validated(raw: RawChartVersion, entry_name: &Arc<str>) -> Option<(Version, ChartVersion)> {
    let name = raw.name.unwrap_or_default();
    let version_text = raw.version.unwrap_or_default();
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
        return None;
    }
    let version = Version::parse_lenient(&version_text).ok()?;
    if !matches!(
        raw.chart_type.as_deref(),
        None | Some("" | "application" | "library")
    ) {
        return None;
    }
    let boxed = |text: Option<String>| text.filter(|t| !t.is_empty()).map(String::into_boxed_str);
    let urls = raw.urls.unwrap_or_default();
    let chart = ChartVersion {
        name: if name == **entry_name {
            Arc::clone(entry_name)
        } else {
            name.into()
        },
        version: version_text.into_boxed_str(),
        app_version: boxed(raw.app_version),
        urls: urls.into_iter().map(String::into_boxed_str).collect(),
        digest: boxed(raw.digest),
        created: raw
            .created
            .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
            .map(|time| time.with_timezone(&Utc)),
        deprecated: raw.deprecated.unwrap_or(false),
        api_version: well_known(raw.api_version).unwrap_or(Cow::Borrowed("v1")),
        chart_type: well_known(raw.chart_type),
        kube_version: boxed(raw.kube_version),
    };
    Some((version, chart))
}

/// Common values without an allocation of their own.
fn well_known(text: Option<String>) -> Option<Cow<'static, str>> {
    let text = text.filter(|t| !t.is_empty())?;
    Some(match text.as_str() {
        "v1" => Cow::Borrowed("v1"),
        "v2" => Cow::Borrowed("v2"),
        "application" => Cow::Borrowed("application"),
        "library" => Cow::Borrowed("library"),
        _ => Cow::Owned(text),
    })
}

fn parse_options(limits: IndexLimits) -> serde_saphyr::Options {
    let cap = usize::try_from(limits.max_bytes).unwrap_or(usize::MAX);
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(cap);
    // Every event, node and scalar byte comes from at least one input byte: the input cap
    // bounds them, so the per-document defaults (sized for configuration files) are lifted.
    budget.max_events = cap;
    budget.max_nodes = cap;
    budget.max_total_scalar_bytes = cap;
    budget.max_aliases = 0;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

fn parse_error(error: serde_saphyr::Error) -> HelmIndexError {
    if let serde_saphyr::Error::Budget { breach, .. } = error.without_snippet()
        && matches!(breach, serde_saphyr::budget::BudgetBreach::Aliases { .. })
    {
        return HelmIndexError::Aliases;
    }
    HelmIndexError::Parse {
        message: error.to_string(),
    }
}

struct CountingReader<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"apiVersion: v1
entries:
  podinfo:
  - apiVersion: v2
    appVersion: 6.5.0
    created: "2024-01-02T10:00:00.123456789Z"
    description: Podinfo Helm chart for Kubernetes
    digest: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    maintainers:
    - name: someone
      email: someone@example.invalid
    name: podinfo
    type: application
    urls:
    - podinfo-6.5.0.tgz
    version: 6.5.0
  - apiVersion: v2
    created: "2024-03-02T10:00:00Z"
    name: podinfo
    urls:
    - https://charts.example.invalid/podinfo-6.6.0-rc.1.tgz
    version: 6.6.0-rc.1
  - name: podinfo
    created: "2023-03-02T10:00:00Z"
    version: 6.4.1
    urls: [podinfo-6.4.1.tgz]
    dependencies:
    - name: redis
      version: ">=1"
  - name: podinfo
    version: not-semver
  - name: podinfo
    version: 6.0.0
    type: plugin
  -
  empty: []
generated: "2024-03-02T10:00:00Z"
serverInfo: {}
"#;

    fn index() -> HelmIndex {
        HelmIndex::from_slice(INDEX.as_bytes(), IndexLimits::default()).expect("index parses")
    }

    #[test]
    fn parses_kept_fields_and_skips_invalid_entries() {
        let index = index();
        assert_eq!(index.api_version(), "v1");
        let versions = index.versions("podinfo").expect("podinfo listed");
        let listed: Vec<&str> = versions.iter().map(|v| &*v.version).collect();
        assert_eq!(listed, ["6.6.0-rc.1", "6.5.0", "6.4.1"]);
        assert_eq!(index.skipped_entries(), 3);
        let stable = &versions[1];
        assert_eq!(stable.app_version.as_deref(), Some("6.5.0"));
        assert_eq!(&*stable.urls[0], "podinfo-6.5.0.tgz");
        assert_eq!(stable.chart_type.as_deref(), Some("application"));
        assert!(stable.digest.is_some());
        assert_eq!(&*versions[2].api_version, "v1");
        assert!(stable.created.is_some());
    }

    #[test]
    fn get_follows_helm_and_flux_rules() {
        let index = index();
        assert_eq!(&*index.get("podinfo", "").expect("latest").version, "6.5.0");
        assert_eq!(&*index.get("podinfo", "*").expect("star").version, "6.5.0");
        assert_eq!(
            &*index.get("podinfo", "6.4.x").expect("range").version,
            "6.4.1"
        );
        assert_eq!(
            &*index.get("podinfo", ">=6.6.0-0").expect("pre").version,
            "6.6.0-rc.1"
        );
        assert_eq!(
            &*index.get("podinfo", "6.6.0-rc.1").expect("exact").version,
            "6.6.0-rc.1"
        );
    }

    #[test]
    fn get_errors_carry_helms_messages() {
        let index = index();
        let missing = index.get("nginx", "*").expect_err("no such chart");
        assert_eq!(missing.to_string(), "no chart name found");
        let empty = index.get("empty", "*").expect_err("no versions");
        assert_eq!(empty.to_string(), "no chart version found");
        let none = index.get("podinfo", "61.x").expect_err("no match");
        assert_eq!(none.to_string(), "no chart version found for podinfo-61.x");
        let invalid = index.get("podinfo", ">=abc").expect_err("bad range");
        assert!(invalid.is_terminal(), "{invalid}");
    }

    #[test]
    fn empty_document_and_missing_api_version_are_errors() {
        let empty = HelmIndex::from_slice(b"", IndexLimits::default());
        assert!(matches!(empty, Err(HelmIndexError::Empty)));
        let no_api = HelmIndex::from_slice(b"entries: {}\n", IndexLimits::default());
        assert!(matches!(no_api, Err(HelmIndexError::NoApiVersion)));
    }

    #[test]
    fn aliases_are_refused() {
        let bomb = "apiVersion: v1\nx: &a [1, 2]\ny: [*a, *a]\nentries: {}\n";
        let result = HelmIndex::from_slice(bomb.as_bytes(), IndexLimits::default());
        assert!(matches!(result, Err(HelmIndexError::Aliases)), "{result:?}");
    }

    #[test]
    fn oversized_documents_are_refused() {
        let limits = IndexLimits { max_bytes: 64 };
        let result = HelmIndex::from_slice(INDEX.as_bytes(), limits);
        assert!(
            matches!(result, Err(HelmIndexError::TooLarge { max: 64 })),
            "{result:?}"
        );
    }

    #[test]
    fn json_indexes_are_read() {
        let json = r#"{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"1.0.0","urls":["a-1.0.0.tgz"]}]}}"#;
        let index = HelmIndex::from_slice(json.as_bytes(), IndexLimits::default()).expect("json");
        assert_eq!(&*index.get("a", "").expect("a").version, "1.0.0");
    }

    #[test]
    fn malformed_yaml_is_a_parse_error() {
        let result = HelmIndex::from_slice(b"apiVersion: v1\nentries: [\n", IndexLimits::default());
        assert!(
            matches!(result, Err(HelmIndexError::Parse { .. })),
            "{result:?}"
        );
    }
}
