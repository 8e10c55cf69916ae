//! kustomize's transformer configuration: which fields of which kinds each built-in transformer
//! touches (prefix, suffix, namespace, labels, annotations, name references, vars, images,
//! replicas). A build starts from the built-in tables; `configurations:` files and `crds:`
//! files add to them, and a base's additions carry up into the kustomizations that include it.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::fieldspec::{self, FieldSpec};
use crate::nameref;
use crate::resource::Gvk;
use crate::sort::gvk_order;

/// Which fields refer to objects of one type by name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "BackRefSpec")]
pub struct BackRef {
    /// The type referred to (empty parts match any).
    pub target: Gvk,
    /// The fields that hold the name.
    pub referrers: Vec<FieldSpec>,
}

/// A `nameReference` entry as configuration files spell it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackRefSpec {
    #[serde(default)]
    group: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    kind: String,
    #[serde(default, rename = "fieldSpecs")]
    field_specs: Vec<FieldSpec>,
}

impl From<BackRefSpec> for BackRef {
    fn from(spec: BackRefSpec) -> BackRef {
        BackRef {
            target: Gvk {
                group: spec.group,
                version: spec.version,
                kind: spec.kind,
            },
            referrers: spec.field_specs,
        }
    }
}

/// The field specs of every built-in transformer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct TransformerConfig {
    #[serde(default)]
    pub name_prefix: Vec<FieldSpec>,
    #[serde(default)]
    pub name_suffix: Vec<FieldSpec>,
    #[serde(default)]
    pub namespace: Vec<FieldSpec>,
    #[serde(default)]
    pub common_labels: Vec<FieldSpec>,
    #[serde(default)]
    pub labels: Vec<FieldSpec>,
    #[serde(default)]
    pub template_labels: Vec<FieldSpec>,
    #[serde(default)]
    pub common_annotations: Vec<FieldSpec>,
    #[serde(default)]
    pub name_reference: Vec<BackRef>,
    #[serde(default)]
    pub var_reference: Vec<FieldSpec>,
    #[serde(default)]
    pub images: Vec<FieldSpec>,
    #[serde(default)]
    pub replicas: Vec<FieldSpec>,
}

impl TransformerConfig {
    /// kustomize's built-in configuration.
    pub fn builtin() -> TransformerConfig {
        let name = vec![FieldSpec::new("", "", "", "metadata/name", false)];
        let mut config = TransformerConfig {
            name_prefix: name.clone(),
            name_suffix: name,
            namespace: fieldspec::namespace_fields(),
            common_labels: fieldspec::common_labels(),
            labels: Vec::new(),
            template_labels: fieldspec::metadata_labels(),
            common_annotations: fieldspec::common_annotations(),
            name_reference: nameref::builtin_back_refs(),
            var_reference: fieldspec::var_reference_fields(),
            images: fieldspec::image_fields(),
            replicas: fieldspec::replica_fields(),
        };
        config.sort();
        config
    }

    /// kustomize sorts every list by type after each merge (`Gvk.IsLessThan`); Go's sort is
    /// an insertion sort, so stable, for the short lists where the order shows (replicas).
    pub fn sort(&mut self) {
        for list in [
            &mut self.name_prefix,
            &mut self.name_suffix,
            &mut self.namespace,
            &mut self.common_labels,
            &mut self.labels,
            &mut self.template_labels,
            &mut self.common_annotations,
            &mut self.var_reference,
            &mut self.images,
            &mut self.replicas,
        ] {
            list.sort_by(|a, b| gvk_order(&a.gvk(), &b.gvk()));
        }
        self.name_reference
            .sort_by(|a, b| gvk_order(&a.target, &b.target));
    }

    /// Parses a `configurations:` file (`path` names it in errors). Unknown fields are errors,
    /// as with kustomize's strict decoding.
    pub fn parse(path: &Path, text: &str) -> Result<TransformerConfig> {
        let value = crate::yaml::from_str_yaml11(text).map_err(|source| Error::Yaml {
            path: path.into(),
            source,
        })?;
        if value.is_null() {
            return Ok(TransformerConfig::default());
        }
        crate::casefold::from_value(value).map_err(|e| Error::Config {
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// kustomize's `TransformerConfig.Merge`: field specs already present (same path, and the
    /// present spec selected by the incoming one's gvk) are kept once; the same spec with a
    /// different `create` is a conflict. Name references of the same target type pool their
    /// fields.
    pub fn merge(&mut self, other: &TransformerConfig) -> Result<()> {
        if *self == *other {
            return Ok(());
        }
        let lists = [
            (&mut self.name_prefix, &other.name_prefix, "NamePrefix"),
            (&mut self.name_suffix, &other.name_suffix, "NameSuffix"),
            (&mut self.namespace, &other.namespace, "NameSpace"),
            (
                &mut self.common_annotations,
                &other.common_annotations,
                "CommonAnnotations",
            ),
            (
                &mut self.common_labels,
                &other.common_labels,
                "CommonLabels",
            ),
            (&mut self.labels, &other.labels, "Labels"),
            (
                &mut self.template_labels,
                &other.template_labels,
                "TemplateLabels",
            ),
            (
                &mut self.var_reference,
                &other.var_reference,
                "VarReference",
            ),
            (&mut self.images, &other.images, "Images"),
            (&mut self.replicas, &other.replicas, "Replicas"),
        ];
        for (into, from, what) in lists {
            merge_specs(into, from)
                .map_err(|e| Error::transform(format!("failed to merge {what} fieldSpec: {e}")))?;
        }
        for back in &other.name_reference {
            self.add_back_ref(back).map_err(|e| {
                Error::transform(format!("failed to merge NameReference fieldSpec: {e}"))
            })?;
        }
        self.sort();
        Ok(())
    }

    /// Adds fields referring to a type by name (kustomize's `AddNamereferenceFieldSpec`).
    pub fn add_back_ref(&mut self, back: &BackRef) -> std::result::Result<(), String> {
        match self
            .name_reference
            .iter_mut()
            .find(|b| b.target == back.target)
        {
            Some(existing) => merge_specs(&mut existing.referrers, &back.referrers),
            None => {
                self.name_reference.push(back.clone());
                Ok(())
            }
        }
    }
}

/// kustomize's `FsSlice.MergeAll`.
pub fn merge_specs(
    into: &mut Vec<FieldSpec>,
    from: &[FieldSpec],
) -> std::result::Result<(), String> {
    for spec in from {
        add_spec(into, spec)?;
    }
    Ok(())
}

/// kustomize's `FsSlice.MergeOne`.
pub fn add_spec(into: &mut Vec<FieldSpec>, spec: &FieldSpec) -> std::result::Result<(), String> {
    let present = into
        .iter()
        .find(|e| e.path == spec.path && e.gvk().is_selected_by(&spec.gvk()));
    match present {
        Some(e) if e.create != spec.create => Err("conflicting fieldspecs".into()),
        Some(_) => Ok(()),
        None => {
            into.push(spec.clone());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_one_copy_and_refuses_conflicts() {
        let mut config = TransformerConfig::builtin();
        let before = config.common_labels.len();
        let custom = TransformerConfig::parse(
            Path::new("c.yaml"),
            "commonLabels:\n- {kind: Widget, path: spec/selector, create: true}\n- {path: metadata/labels, create: true}\n",
        );
        let custom = custom.ok().unwrap_or_default();
        assert!(config.merge(&custom).is_ok());
        assert_eq!(config.common_labels.len(), before + 1);
        let conflicting = TransformerConfig::parse(
            Path::new("c.yaml"),
            "commonLabels:\n- {path: metadata/labels, create: false}\n",
        )
        .ok()
        .unwrap_or_default();
        let err = config.merge(&conflicting).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("conflicting fieldspecs")));
    }

    #[test]
    fn unknown_fields_are_errors() {
        let err = TransformerConfig::parse(Path::new("c.yaml"), "nameReferences: []\n").err();
        assert!(err.is_some_and(|e| e.to_string().contains("nameReferences")));
    }
}
