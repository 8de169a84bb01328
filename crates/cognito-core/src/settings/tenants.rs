//! `tenants:`: where the tenants' pools are found, and how many are kept.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The settings of `tenants:`.
///
/// ```
/// use cognito_core::settings::TenantSettings;
/// let tenants: TenantSettings = serde_yaml::from_str("file: tenants.yaml\nmax: 500")?;
/// assert_eq!(tenants.max, 500);
/// assert_eq!(TenantSettings::default().max, 1000);
/// # Ok::<(), serde_yaml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TenantSettings {
    /// The tenants file: a map from tenant name to pool, each as under `userpools` (YAML, or
    /// JSON when the name ends in `.json`). Default: none (tenants then come from a
    /// resolver set in code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The most tenants whose verifiers (key and token caches) are kept at once, the least
    /// recently used out first (default 1000; 1 to 100000).
    pub max: usize,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self { file: None, max: 1000 }
    }
}

impl TenantSettings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=100_000).contains(&self.max) {
            return Err(ConfigError::invalid(
                None,
                "tenants.max",
                "must be between 1 and 100000",
            ));
        }
        if self.file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
            return Err(ConfigError::invalid(None, "tenants.file", "must not be empty"));
        }
        Ok(())
    }
}
