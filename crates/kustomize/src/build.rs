//! The build pipeline: load a kustomization, accumulate its resources, bases and components,
//! run generators and transformers in kustomize's order, then add hashes, fix name references
//! and sort.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde_json::Value;

use crate::config::TransformerConfig;
use crate::error::{Error, Result};
use crate::fs::{self, FileSystem};
use crate::kustfile::{KUSTOMIZATION_FILE_NAMES, Kustomization};
use crate::metadata::{self, Tracking};
use crate::openapi::CustomSchema;
use crate::resource::{ResMap, Resource};
use crate::vars::VarSet;
use crate::{crds, flux, generate, nameref, plugin, sort, transform, yaml};

/// How a build may behave.
#[derive(Debug, Clone)]
pub struct Options {
    /// Allow `resources` that are URLs or git repositories (not implemented: refused either way).
    pub allow_remote: bool,
    /// Allow exec/function plugins and helm charts (not implemented: refused either way).
    pub allow_plugins: bool,
    /// Largest single file read, in bytes.
    pub max_file_bytes: u64,
    /// Largest total of bytes read by one build.
    pub max_total_bytes: u64,
    /// Flux Kustomization overrides applied on top of the user's kustomization.
    pub overrides: Option<flux::Overrides>,
    /// Where files a kustomization names may live (kustomize's `--load-restrictor`).
    pub load_restrictions: LoadRestrictions,
    /// Sort the output in kustomize's legacy order when the kustomization sets no
    /// `sortOptions` (`kustomize build` does; Flux's build keeps the input order).
    pub legacy_order: bool,
}

/// kustomize's `--load-restrictor`: whether a kustomization may read files outside its own
/// directory. Either way nothing outside the [`FileSystem`] root can be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoadRestrictions {
    /// Files must be in or below the directory of the kustomization naming them (the default).
    #[default]
    RootOnly,
    /// Files may be anywhere in the filesystem.
    None,
}

impl std::str::FromStr for LoadRestrictions {
    type Err = String;

    /// Parses kustomize's flag values `LoadRestrictionsRootOnly` and `LoadRestrictionsNone`.
    fn from_str(text: &str) -> std::result::Result<LoadRestrictions, String> {
        match text {
            "LoadRestrictionsRootOnly" => Ok(LoadRestrictions::RootOnly),
            "LoadRestrictionsNone" => Ok(LoadRestrictions::None),
            other => Err(format!(
                "unknown load restrictor {other:?}; want LoadRestrictionsRootOnly or LoadRestrictionsNone"
            )),
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            allow_remote: false,
            allow_plugins: false,
            max_file_bytes: 16 << 20,
            max_total_bytes: 512 << 20,
            overrides: None,
            load_restrictions: LoadRestrictions::RootOnly,
            legacy_order: true,
        }
    }
}

/// Builds kustomizations.
#[derive(Debug, Clone, Default)]
pub struct Kustomizer {
    options: Options,
}

impl Kustomizer {
    /// A kustomizer with the given options.
    pub fn new(options: Options) -> Kustomizer {
        Kustomizer { options }
    }

    /// Builds the kustomization in directory `path` (logical, relative to the filesystem root).
    pub fn build(&self, fs: &dyn FileSystem, path: &str) -> Result<ResMap> {
        let dir = fs::join(fs, "", path)?;
        let mut ctx = Ctx {
            fs,
            options: &self.options,
            stack: RefCell::new(Vec::new()),
            read: Cell::new(0),
            top: &dir,
            tracking: Tracking::default(),
            schema: RefCell::new(None),
            schema_set: Cell::new(false),
            builtin: Rc::new(TransformerConfig::builtin()),
        };
        let (mut acc, top) = match &self.options.overrides {
            Some(o) => {
                let k = flux::wrapping_kustomization(fs, &dir, o)?;
                ctx.tracking = Tracking::of(&k);
                ctx.set_schema(&dir, &k, true)?;
                let acc = ctx.accumulate(&dir, &k, Accumulation::default())?;
                (acc, k)
            }
            None => {
                let k = ctx.load_kustomization(&dir)?;
                ctx.tracking = Tracking::of(&k);
                ctx.set_schema(&dir, &k, true)?;
                let acc = ctx.accumulate_dir(&dir, &k, Accumulation::default())?;
                (acc, k)
            }
        };
        let resources = &mut acc.resources;
        generate::add_hashes(resources)?;
        nameref::fix_references(resources, &acc.config.name_reference)?;
        acc.vars.resolve(resources, &acc.config.var_reference)?;
        resources.retain(|r| !is_local_config(r));
        resources
            .iter_mut()
            .for_each(crate::untyped::settle_annotations);
        metadata::stamp(ctx.tracking, resources);
        let mut map = ResMap {
            resources: acc.resources,
        };
        if top.sort_options.is_some() || ctx.options.legacy_order {
            sort::apply(&mut map, top.sort_options.as_ref())?;
        }
        Ok(map)
    }
}

/// State shared by one build.
pub(crate) struct Ctx<'a> {
    pub fs: &'a dyn FileSystem,
    pub options: &'a Options,
    stack: RefCell<Vec<String>>,
    read: Cell<u64>,
    /// The directory of the top kustomization (build metadata paths are relative to it).
    pub top: &'a str,
    /// The `buildMetadata` options the top kustomization enables.
    pub tracking: Tracking,
    /// The custom OpenAPI schema strategic merges use (`openapi: path:`), if any.
    schema: RefCell<Option<Rc<CustomSchema>>>,
    /// Whether a kustomization already chose the schema (kyaml keeps one schema per process:
    /// the top kustomization's, else the first base or component that names one).
    schema_set: Cell<bool>,
    /// kustomize's built-in transformer configuration, shared by every kustomization.
    builtin: Rc<TransformerConfig>,
}

/// What accumulating a kustomization yields: its objects, the transformer configuration in
/// force (built-in tables plus `configurations` and `crds` of it and its bases), and its vars.
#[derive(Debug, Default)]
pub struct Accumulation {
    /// The objects, in order.
    pub resources: Vec<Resource>,
    /// The transformer configuration.
    pub config: Rc<TransformerConfig>,
    /// The legacy vars declared so far.
    pub vars: VarSet,
}

impl Accumulation {
    /// kustomize's `ResAccumulator.MergeConfig`.
    fn merge_config(&mut self, other: &Rc<TransformerConfig>) -> Result<()> {
        if Rc::ptr_eq(&self.config, other) {
            return Ok(());
        }
        if *self.config == TransformerConfig::default() {
            self.config = Rc::clone(other);
            return Ok(());
        }
        Rc::make_mut(&mut self.config).merge(other)
    }

    /// kustomize's `MergeAccumulator`: a base's objects, configuration and vars join.
    fn absorb(&mut self, sub: Accumulation) -> Result<()> {
        append_all(&mut self.resources, sub.resources)?;
        self.merge_config(&sub.config)?;
        self.vars.absorb(sub.vars)
    }
}

impl Ctx<'_> {
    /// The custom schema in force.
    pub fn schema(&self) -> Option<Rc<CustomSchema>> {
        self.schema.borrow().clone()
    }

    /// kyaml's `SetSchema` for the kustomization in `dir`: its `openapi:` file is read either
    /// way, and becomes the schema unless one was chosen before (`reset` at the top).
    fn set_schema(&self, dir: &str, k: &Kustomization, reset: bool) -> Result<()> {
        let field = |key: &str| {
            k.openapi
                .as_ref()
                .and_then(|o| o.get(key))
                .map(yaml::to_compact_string)
        };
        let loaded = match field("path") {
            Some(path) => {
                let (file, bytes) = self.read_restricted(dir, &path)?;
                let text = String::from_utf8_lossy(&bytes);
                Some((file, text.into_owned(), path))
            }
            None => None,
        };
        if self.schema_set.get() && !reset {
            return Ok(());
        }
        let version = field("version");
        if let Some((_, text, path)) = loaded {
            if version.is_some() {
                return Err(self.openapi_error(
                    dir,
                    "builtin version and custom schema provided, cannot use both",
                ));
            }
            let schema = CustomSchema::parse(&path, &text)?;
            *self.schema.borrow_mut() = Some(Rc::new(schema));
            self.schema_set.set(true);
            return Ok(());
        }
        match version.as_deref() {
            None | Some("") => Ok(()),
            Some(BUILTIN_OPENAPI_VERSION) => {
                *self.schema.borrow_mut() = None;
                self.schema_set.set(true);
                Ok(())
            }
            Some(_) => {
                Err(self.openapi_error(dir, "the specified OpenAPI version is not built in"))
            }
        }
    }

    fn openapi_error(&self, dir: &str, message: &str) -> Error {
        Error::InvalidKustomization {
            path: self.fs.display(dir),
            message: format!("openapi: {message}"),
        }
    }

    /// Merges the built-in tables, the `configurations` files and the `crds` files of the
    /// kustomization in `dir` into the accumulation's configuration.
    fn merge_configurations(
        &self,
        dir: &str,
        k: &Kustomization,
        acc: &mut Accumulation,
    ) -> Result<()> {
        let mut own = Rc::clone(&self.builtin);
        for path in &k.configurations {
            let (file, bytes) = self.read_restricted(dir, path)?;
            let custom = TransformerConfig::parse(
                &self.fs.display(&file),
                &String::from_utf8_lossy(&bytes),
            )?;
            Rc::make_mut(&mut own).merge(&custom)?;
        }
        acc.merge_config(&own)?;
        for path in &k.crds {
            let (file, bytes) = self.read_restricted(dir, path)?;
            let custom = crds::config_from_definitions(&self.fs.display(&file), &bytes)?;
            acc.merge_config(&Rc::new(custom))?;
        }
        Ok(())
    }

    /// Reads a file, counting it against the build's byte budget.
    pub fn read(&self, path: &str) -> Result<Vec<u8>> {
        let bytes = self.fs.read(path)?;
        if bytes.len() as u64 > self.options.max_file_bytes {
            return Err(Error::TooLarge {
                path: self.fs.display(path),
                limit: self.options.max_file_bytes,
            });
        }
        let total = self.read.get() + bytes.len() as u64;
        if total > self.options.max_total_bytes {
            return Err(Error::TooLarge {
                path: self.fs.display(path),
                limit: self.options.max_total_bytes,
            });
        }
        self.read.set(total);
        Ok(bytes)
    }

    /// Reads a UTF-8 file.
    pub fn read_text(&self, path: &str) -> Result<String> {
        let bytes = self.read(path)?;
        String::from_utf8(bytes).map_err(|e| Error::Io {
            path: self.fs.display(path),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
    }

    /// Reads a file a kustomization in `dir` refers to, enforcing kustomize's root-only load
    /// restriction: the file must be in or below `dir`.
    pub fn read_restricted(&self, dir: &str, reference: &str) -> Result<(String, Vec<u8>)> {
        let path = fs::join(self.fs, dir, reference)?;
        let escapes_by_link = || -> Result<bool> {
            Ok(!fs::is_within(
                &self.fs.real_path(&path)?,
                &self.fs.real_path(dir)?,
            ))
        };
        let restricted = self.options.load_restrictions == LoadRestrictions::RootOnly;
        if restricted && (!fs::is_within(&path, dir) || escapes_by_link()?) {
            return Err(Error::OutsideRoot {
                path: self.fs.display(&path),
                root: self.fs.display(dir),
            });
        }
        let bytes = self.read(&path)?;
        Ok((path, bytes))
    }

    /// Reads and validates the kustomization file of `dir`.
    pub fn load_kustomization(&self, dir: &str) -> Result<Kustomization> {
        let found: Vec<String> = KUSTOMIZATION_FILE_NAMES
            .iter()
            .map(|n| {
                if dir.is_empty() {
                    n.to_string()
                } else {
                    format!("{dir}/{n}")
                }
            })
            .filter(|p| self.fs.is_file(p))
            .collect();
        let path = match found.as_slice() {
            [] => {
                return Err(Error::MissingKustomization {
                    dir: self.fs.display(dir),
                });
            }
            [one] => one.clone(),
            _ => {
                return Err(Error::MultipleKustomizations {
                    dir: self.fs.display(dir),
                });
            }
        };
        let text = self.read_text(&path)?;
        parse_kustomization(&text).map_err(|message| match message {
            ParseFailure::Yaml(source) => Error::Yaml {
                path: self.fs.display(&path),
                source,
            },
            ParseFailure::Schema(message) => Error::InvalidKustomization {
                path: self.fs.display(&path),
                message,
            },
        })
    }

    /// Builds a directory's kustomization as a base (its own accumulation, no hashes yet).
    fn accumulate_dir(
        &self,
        dir: &str,
        k: &Kustomization,
        acc: Accumulation,
    ) -> Result<Accumulation> {
        if self.stack.borrow().iter().any(|d| d == dir) {
            return Err(Error::Cycle {
                path: self.fs.display(dir),
            });
        }
        self.stack.borrow_mut().push(dir.to_string());
        let result = self.accumulate(dir, k, acc);
        self.stack.borrow_mut().pop();
        result
    }

    /// kustomize's `accumulateTarget`: resources, generators, components, transformers.
    pub fn accumulate(
        &self,
        dir: &str,
        k: &Kustomization,
        acc: Accumulation,
    ) -> Result<Accumulation> {
        self.refuse_plugins(dir, k)?;
        let mut acc = acc;
        for entry in &k.resources {
            self.accumulate_resource(dir, entry, &mut acc)?;
        }
        self.merge_configurations(dir, k, &mut acc)?;
        generate::run_generators(self, dir, k, &mut acc.resources)?;
        plugin::run_generators(self, dir, &k.generators, &mut acc.resources)?;
        for component in &k.components {
            acc = self.accumulate_component(dir, component, acc)?;
        }
        transform::run_all(self, dir, k, &acc.config, &mut acc.resources)?;
        plugin::run_transformers(self, dir, &k.transformers, &mut acc.resources)?;
        plugin::run_validators(self, dir, &k.validators, &mut acc.resources)?;
        acc.vars.merge_declared(&k.vars, &mut acc.resources)?;
        Ok(acc)
    }

    /// Helm charts need the helm binary, which a build never runs. (Plugins listed under
    /// `generators:`, `transformers:` and `validators:` are judged one by one in [`plugin`].)
    fn refuse_plugins(&self, dir: &str, k: &Kustomization) -> Result<()> {
        if k.helm_charts.is_empty() && k.helm_chart_inflation_generator.is_empty() {
            return Ok(());
        }
        Err(Error::PluginRefused {
            path: self.fs.display(dir),
            plugin: "helmCharts".to_string(),
        })
    }

    /// Adds one `resources` entry (a file of objects or a kustomization directory) to `acc`.
    pub(crate) fn accumulate_resource(
        &self,
        dir: &str,
        entry: &str,
        acc: &mut Accumulation,
    ) -> Result<()> {
        let path = match fs::join(self.fs, dir, entry) {
            Ok(p) => p,
            Err(e) if looks_remote(entry) => return Err(self.remote_refused(dir, entry, e)),
            Err(e) => return Err(e),
        };
        if self.fs.is_file(&path) {
            let (path, bytes) = self.read_restricted(dir, entry)?;
            let resources = self.parse_resources(&path, &bytes)?;
            return append_all(&mut acc.resources, resources);
        }
        if self.fs.is_dir(&path) {
            let k = self.load_kustomization(&path)?;
            if k.is_component() {
                return Err(Error::transform(format!(
                    "expected kind != 'Component' for path '{}'",
                    self.fs.display(&path).display()
                )));
            }
            self.set_schema(&path, &k, false)?;
            let sub = self.accumulate_dir(&path, &k, Accumulation::default())?;
            return acc.absorb(sub);
        }
        if looks_remote(entry) {
            return Err(self.remote_refused(dir, entry, Error::NotFound { path: path.into() }));
        }
        Err(Error::NotFound {
            path: self.fs.display(&path),
        })
    }

    fn remote_refused(&self, dir: &str, entry: &str, _cause: Error) -> Error {
        Error::RemoteRefused {
            path: self.fs.display(dir),
            resource: entry.to_string(),
        }
    }

    fn accumulate_component(
        &self,
        dir: &str,
        entry: &str,
        acc: Accumulation,
    ) -> Result<Accumulation> {
        let path = fs::join(self.fs, dir, entry)?;
        if !self.fs.is_dir(&path) {
            if looks_remote(entry) {
                return Err(Error::RemoteRefused {
                    path: self.fs.display(dir),
                    resource: entry.into(),
                });
            }
            return Err(Error::NotFound {
                path: self.fs.display(&path),
            });
        }
        let k = self.load_kustomization(&path)?;
        self.set_schema(&path, &k, false)?;
        if !k.is_component() {
            return Err(Error::transform(format!(
                "expected kind 'Component' for path '{}' but got '{}'",
                self.fs.display(&path).display(),
                if k.kind.is_empty() {
                    "Kustomization"
                } else {
                    &k.kind
                }
            )));
        }
        self.accumulate_dir(&path, &k, acc)
    }

    /// Parses a file of objects: empty documents dropped, `*List` kinds inlined, and kind and
    /// name required.
    pub fn parse_resources(&self, path: &str, bytes: &[u8]) -> Result<Vec<Resource>> {
        let text = String::from_utf8_lossy(bytes);
        let docs = yaml::from_str_multi(&text).map_err(|source| Error::Yaml {
            path: self.fs.display(path),
            source,
        })?;
        let mut resources = objects_from_documents(docs)
            .map_err(|m| Error::transform(format!("{}: {m}", self.fs.display(path).display())))?;
        if resources.iter().any(crate::untyped::has_typed_annotations) {
            // The text of annotations written as numbers, booleans or nulls, which kustomize
            // prints as written.
            let written = yaml::from_str_multi_typed(&text, yaml::Typing::SourceText)
                .ok()
                .and_then(|docs| objects_from_documents(docs).ok());
            if let Some(written) = written.filter(|w| w.len() == resources.len()) {
                for (r, w) in resources.iter_mut().zip(&written) {
                    crate::untyped::record_annotation_texts(r, w);
                }
            }
        }
        if let Some(origin) = metadata::file_origin(self, path) {
            for r in &mut resources {
                r.origin = Some(origin.clone());
            }
        }
        Ok(resources)
    }
}

/// Whether kustomize leaves the object out of its output: it carries the
/// `config.kubernetes.io/local-config` annotation with any value but `false`.
fn is_local_config(r: &Resource) -> bool {
    r.obj
        .pointer("/metadata/annotations")
        .and_then(|a| a.get("config.kubernetes.io/local-config"))
        .is_some_and(|v| yaml::to_compact_string(v) != "false")
}

/// The built-in schema version kyaml knows (`openapi: version:`).
const BUILTIN_OPENAPI_VERSION: &str = "v1.21.2";

/// Turns parsed documents into resources the way kustomize's resource factory does.
pub fn objects_from_documents(docs: Vec<Value>) -> std::result::Result<Vec<Resource>, String> {
    let mut queue: std::collections::VecDeque<Value> = docs.into_iter().collect();
    let mut out = Vec::new();
    while let Some(doc) = queue.pop_front() {
        if doc.is_null() || doc.as_object().is_some_and(|m| m.is_empty()) {
            continue;
        }
        let Some(obj) = doc.as_object() else {
            return Err(format!("expected a mapping, found {doc}"));
        };
        let kind = obj
            .get("kind")
            .map(yaml::to_compact_string)
            .unwrap_or_default();
        if kind.is_empty() {
            return Err("missing kind in object".to_string());
        }
        if kind.ends_with("List") {
            match obj.get("items") {
                Some(Value::Array(items)) => {
                    queue.extend(items.iter().cloned());
                    continue;
                }
                Some(Value::Null) => continue,
                Some(_) => return Err(format!("expected array in {kind}/items")),
                None => {}
            }
        } else {
            let name = obj
                .get("metadata")
                .and_then(|m| m.get("name"))
                .map(yaml::to_compact_string);
            if name.is_none_or(|n| n.is_empty()) {
                return Err(format!("missing metadata.name in object of kind {kind}"));
            }
        }
        out.push(Resource::new(doc));
    }
    Ok(out)
}

/// Appends resources, refusing ids that are already present.
pub fn append_all(acc: &mut Vec<Resource>, more: Vec<Resource>) -> Result<()> {
    let mut seen: std::collections::HashSet<_> =
        acc.iter().map(|o| o.cur_id().identity_key()).collect();
    acc.reserve(more.len());
    for r in more {
        let id = r.cur_id();
        if !seen.insert(id.identity_key()) {
            return Err(Error::Conflict { id: id.to_string() });
        }
        acc.push(r);
    }
    Ok(())
}

/// Whether a resource entry names something remote (URL, git or GitHub shorthand).
pub fn looks_remote(entry: &str) -> bool {
    [
        "http://",
        "https://",
        "git::",
        "git@",
        "ssh://",
        "github.com/",
        "gitlab.com/",
        "bitbucket.org/",
    ]
    .iter()
    .any(|p| entry.starts_with(p))
        || entry.contains("?ref=")
        || entry.contains(".git//")
}

enum ParseFailure {
    Yaml(yaml::YamlError),
    Schema(String),
}

/// Parses a kustomization file. kustomize reads it through sigs.k8s.io/yaml, that is YAML 1.1
/// typing and then Go's `encoding/json`, which converts nothing: `c2: y` is a bool and a bool
/// or number where a string belongs fails the build.
fn parse_kustomization(text: &str) -> std::result::Result<Kustomization, ParseFailure> {
    let value = yaml::from_str_yaml11(text).map_err(ParseFailure::Yaml)?;
    let value = if value.is_null() {
        Value::Object(Default::default())
    } else {
        value
    };
    let mut k: Kustomization =
        serde_path_to_error::deserialize(crate::casefold::CaseFold::strict(value))
            .map_err(|e| ParseFailure::Schema(go_json_error(&e)))?;
    k.fix_legacy_fields();
    k.check_kind().map_err(ParseFailure::Schema)?;
    Ok(k)
}

/// Words serde's errors as Go's `encoding/json` does (what kustomize prints):
/// `json: unknown field "namePrefx"`, `json: cannot unmarshal bool into Go struct field
/// Kustomization.commonLabels of type string`; other messages pass through.
fn go_json_error(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let text = e.inner().to_string();
    if let Some((field, _)) = text
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
    {
        return format!("json: unknown field \"{field}\"");
    }
    let Some((got, want)) = text
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
    else {
        return text;
    };
    let go_kind = match got.split([' ', '`']).next().unwrap_or("") {
        "boolean" => "bool",
        "integer" | "floating" => "number",
        "sequence" => "array",
        "map" => "object",
        other => other,
    };
    let want = want.trim_start_matches("a ").trim_start_matches("an ");
    format!(
        "json: cannot unmarshal {go_kind} into Go struct field Kustomization.{} of type {want}",
        go_field_path(e.path())
    )
}

/// Go names the struct field, not a map key or list index: `commonLabels.c2` is
/// `commonLabels`, `labels[0].pairs.a` is `labels.pairs`.
fn go_field_path(path: &serde_path_to_error::Path) -> String {
    const STRING_MAPS: [&str; 4] = ["commonLabels", "commonAnnotations", "pairs", "annotations"];
    let mut fields: Vec<String> = Vec::new();
    for segment in path.iter() {
        if let serde_path_to_error::Segment::Map { key } = segment {
            let in_map = fields
                .last()
                .is_some_and(|f| STRING_MAPS.contains(&f.as_str()));
            if !in_map {
                fields.push(key.clone());
            }
        }
    }
    fields.join(".")
}

/// Parses kustomization text (for Flux's wrapping kustomization and tests).
pub fn kustomization_from_str(text: &str) -> std::result::Result<Kustomization, String> {
    parse_kustomization(text).map_err(|f| match f {
        ParseFailure::Yaml(e) => e.to_string(),
        ParseFailure::Schema(m) => m,
    })
}
