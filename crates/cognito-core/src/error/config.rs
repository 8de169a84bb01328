//! [`ConfigError`]: settings that cannot work, each naming the pool and the field.

use std::borrow::Cow;

/// Settings that cannot work, reported when they are loaded (never a panic).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A settings file could not be read.
    #[error("cannot read settings file {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid YAML / JSON, or a field has the wrong type.
    #[error("settings are not valid {format}: {message}")]
    Parse {
        /// `"YAML"`, `"JSON"` or `"environment"`.
        format: &'static str,
        /// The parser's message, with the field's path and the line and column when known.
        message: String,
        /// Where in the text the parser stopped (1-based line, 1-based column), when it knows.
        location: Option<(usize, usize)>,
        /// The pool whose settings the parser stopped in, if any.
        pool: Option<String>,
        /// The field the parser stopped in, dotted below the top level (`jwks.timeout_ms`),
        /// if it stopped inside one.
        field: Option<Cow<'static, str>>,
    },
    /// A field has a value that cannot work.
    #[error("{}{field}: {problem}", pool.as_ref().map(|p| format!("userpools.{p}.")).unwrap_or_default())]
    Invalid {
        /// The pool the field belongs to; `None` for top-level fields.
        pool: Option<String>,
        /// The field's name as written in the settings, dotted below the top level
        /// (`jwks.timeout_ms`).
        field: Cow<'static, str>,
        /// What is wrong with it.
        problem: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(pool: Option<&str>, field: &'static str, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            pool: pool.map(str::to_owned),
            field: Cow::Borrowed(field),
            problem: problem.into(),
        }
    }

    /// Settings without a pool: the one wording of it.
    pub(crate) fn no_pools() -> Self {
        ConfigError::invalid(None, "userpools", "at least one pool is required")
    }

    /// A pool name the settings lack: the one wording of it.
    pub(crate) fn unknown_pool(name: &str) -> Self {
        ConfigError::invalid(Some(name), "userpools", "no pool has this name")
    }

    /// Where a parse error happened: (line, column), both counted from 1.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            ConfigError::Parse { location, .. } => *location,
            _ => None,
        }
    }

    /// The pool named by the error, if any.
    pub fn pool(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { pool, .. } | ConfigError::Parse { pool, .. } => pool.as_deref(),
            ConfigError::Io { .. } => None,
        }
    }

    /// The field named by the error, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { field, .. } => Some(field),
            ConfigError::Parse { field, .. } => field.as_deref(),
            ConfigError::Io { .. } => None,
        }
    }
}
