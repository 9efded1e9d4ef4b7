//! The artifact bundle every cloud's step 2 renders, as plain data.

use crate::ids::{CloudKind, OrgId};
use crate::shell::Commands;
use serde::{Deserialize, Serialize};

/// Everything an operator needs to set up the cloud side of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub cloud: CloudKind,
    pub org_id: OrgId,
    /// Named values to copy (external id, role name, pool id, ...).
    pub values: Vec<NamedValue>,
    /// Files the commands reference by name (`trust_policy.json`, ...).
    pub files: Vec<File>,
    pub commands: Commands,
    pub links: Vec<Link>,
    /// A Terraform snippet equivalent to the commands.
    pub terraform: String,
    /// Things that need attention (shortened names, limits, refused input).
    pub warnings: Vec<Notice>,
    /// Plain remarks (what the commands do, what to do next).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct NamedValue {
    /// Stable machine name, e.g. `external_id`.
    pub name: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct File {
    pub name: String,
    pub media_type: String,
    pub contents: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Link {
    /// Stable machine name, e.g. `cloudformation_quick_create`.
    pub name: String,
    pub label: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Notice {
    /// Stable machine code, e.g. `name_shortened`.
    pub code: String,
    pub message: String,
}

impl Notice {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Notice {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl NamedValue {
    pub fn new(name: &str, label: &str, value: impl Into<String>) -> Self {
        NamedValue {
            name: name.to_owned(),
            label: label.to_owned(),
            value: value.into(),
        }
    }
}

impl Link {
    pub fn new(name: &str, label: &str, url: impl Into<String>) -> Self {
        Link {
            name: name.to_owned(),
            label: label.to_owned(),
            url: url.into(),
        }
    }
}

impl File {
    pub fn json(name: &str, value: &serde_json::Value) -> Self {
        File {
            name: name.to_owned(),
            media_type: "application/json".to_owned(),
            // Pretty JSON of a serde_json::Value cannot fail.
            contents: serde_json::to_string_pretty(value).unwrap_or_default() + "\n",
        }
    }
}

/// Warning for a derived name that had to be shortened.
pub fn shortened_notice(what: &str, name: &crate::name::DerivedName) -> Option<Notice> {
    name.shortened_from.as_ref().map(|plain| {
        Notice::new(
            "name_shortened",
            format!(
                "The {what} {plain} breaks the cloud's naming rule, so the deterministic short form {} is used instead.",
                name.value
            ),
        )
    })
}

/// Why a bundle could not be rendered from the given input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Id(#[from] crate::ids::IdError),
    #[error(transparent)]
    Shell(#[from] crate::shell::ShellError),
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
        hint: &'static str,
    },
}

impl crate::error::CoreError for RenderError {
    fn code(&self) -> &'static str {
        match self {
            RenderError::Id(e) => e.code(),
            RenderError::Shell(e) => e.code(),
            RenderError::Missing { .. } => "missing_field",
            RenderError::Invalid { .. } => "invalid_input",
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            RenderError::Id(e) => e.field(),
            RenderError::Shell(e) => e.field(),
            RenderError::Missing { field } | RenderError::Invalid { field, .. } => Some(field),
        }
    }
    fn hint(&self) -> String {
        match self {
            RenderError::Id(e) => e.hint(),
            RenderError::Shell(e) => e.hint(),
            RenderError::Missing { field } => format!("Provide {field}."),
            RenderError::Invalid { hint, .. } => (*hint).to_owned(),
        }
    }
}

/// A Terraform (HCL) string literal. JSON string escaping is valid HCL; `${`
/// and `%{` are doubled so a value can never start an interpolation.
pub fn hcl_string(value: &str) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace("${", "$${")
        .replace("%{", "%%{")
}
