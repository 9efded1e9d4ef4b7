//! Cloudflare: scoped API token templates (there is no federated option).

use crate::ids::{IdError, IdKind};
use crate::rule::Reason;
use serde::{Deserialize, Serialize};

/// The narrowest token templates the wizard offers (seed 001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum CloudflareTemplate {
    DnsEdit,
    Tunnel,
    Access,
    Worker,
    R2,
}

impl CloudflareTemplate {
    pub const ALL: [CloudflareTemplate; 5] = [
        CloudflareTemplate::DnsEdit,
        CloudflareTemplate::Tunnel,
        CloudflareTemplate::Access,
        CloudflareTemplate::Worker,
        CloudflareTemplate::R2,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CloudflareTemplate::DnsEdit => "dns_edit",
            CloudflareTemplate::Tunnel => "tunnel",
            CloudflareTemplate::Access => "access",
            CloudflareTemplate::Worker => "worker",
            CloudflareTemplate::R2 => "r2",
        }
    }

    /// Permission groups as the API names them ("Write" where the dashboard
    /// says "Edit"). Tunnel also accepts its older name, "Argo Tunnel Write".
    pub fn required_permission_groups(self) -> &'static [&'static str] {
        match self {
            CloudflareTemplate::DnsEdit => &["DNS Write"],
            CloudflareTemplate::Tunnel => &["Cloudflare Tunnel Write"],
            CloudflareTemplate::Access => &["Access: Apps and Policies Write"],
            CloudflareTemplate::Worker => &["Workers Scripts Write"],
            CloudflareTemplate::R2 => &["Workers R2 Storage Write"],
        }
    }
}

impl std::str::FromStr for CloudflareTemplate {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        CloudflareTemplate::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                IdError::new(
                    IdKind::CloudflareTemplate,
                    Reason::Format {
                        expected: "dns_edit, tunnel, access, worker or r2",
                    },
                )
            })
    }
}
