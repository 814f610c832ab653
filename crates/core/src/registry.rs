//! Every variant reachable by its id.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::variant::{Family, Variant, VariantError};

/// A set of variants keyed by id, in registration order.
#[derive(Default, Clone)]
pub struct Registry {
    variants: Vec<Arc<dyn Variant>>,
    by_id: BTreeMap<&'static str, usize>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Add a variant. Two variants with one id is a programming error: it panics.
    pub fn register(&mut self, v: impl Variant + 'static) {
        let id = v.info().id;
        assert!(
            !self.by_id.contains_key(id),
            "variant id '{id}' registered twice"
        );
        self.by_id.insert(id, self.variants.len());
        self.variants.push(Arc::new(v));
    }

    /// The variant with this id, or an error listing every known id.
    pub fn get(&self, id: &str) -> Result<Arc<dyn Variant>, VariantError> {
        self.by_id
            .get(id)
            .map(|&i| self.variants[i].clone())
            .ok_or_else(|| VariantError::UnknownVariant {
                id: id.to_string(),
                known: self.ids(),
            })
    }

    /// Every id, in registration order.
    pub fn ids(&self) -> Vec<String> {
        self.variants
            .iter()
            .map(|v| v.info().id.to_string())
            .collect()
    }

    /// Every variant, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Variant>> {
        self.variants.iter()
    }

    /// The variants of one family.
    pub fn family(&self, family: Family) -> impl Iterator<Item = &Arc<dyn Variant>> {
        self.variants
            .iter()
            .filter(move |v| v.info().family == family)
    }

    /// Number of variants.
    pub fn len(&self) -> usize {
        self.variants.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.variants.is_empty()
    }
}
