//! One module per cloud: each implements [`CloudWizard`] with its own
//! inputs, request bodies, answer types and result views; `crate::steps`
//! does everything the clouds share. To add a cloud, see web/README.md.

pub mod aws;
pub mod azure;
pub mod cloudflare;
pub mod gcp;

use crate::steps::CloudSlot;
use alphaswarm_core::CloudKind;

#[cfg(doc)]
use crate::steps::CloudWizard;

/// What step 1 and the integrations list say about a cloud.
pub struct CloudCard {
    pub kind: CloudKind,
    pub name: &'static str,
    /// How AlphaSwarm reaches it.
    pub method: &'static str,
    /// "AWS account", in "Disconnect this AWS account?".
    pub account: &'static str,
    /// What disconnecting forgets and what stays with the customer.
    pub forgets: &'static str,
}

/// Every cloud, in the order step 1 shows them (also the ones without a
/// wizard yet: they show as "Coming soon").
pub const CARDS: [CloudCard; 4] = [
    CloudCard {
        kind: CloudKind::Aws,
        name: "Amazon Web Services",
        method: "IAM role + external id",
        account: "AWS account",
        forgets: "AlphaSwarm forgets the role ARN and external id. The role itself stays in the customer's account until someone deletes it.",
    },
    CloudCard {
        kind: CloudKind::Azure,
        name: "Microsoft Azure",
        method: "Workload identity federation",
        account: "Azure subscription",
        forgets: "AlphaSwarm forgets the tenant, subscription and identity ids. The identity, its federated credential and its role assignment stay in the customer's tenant until someone deletes them.",
    },
    CloudCard {
        kind: CloudKind::Gcp,
        name: "Google Cloud",
        method: "Workload identity federation + impersonation",
        account: "Google Cloud project",
        forgets: "AlphaSwarm forgets the project, pool and service account ids. The pool, provider and binding stay in the customer's project until someone deletes them.",
    },
    CloudCard {
        kind: CloudKind::Cloudflare,
        name: "Cloudflare",
        method: "Scoped API token",
        account: "Cloudflare account",
        forgets: "AlphaSwarm deletes its encrypted copy of the token. Revoke the token in the Cloudflare dashboard too.",
    },
];

pub fn card(kind: CloudKind) -> &'static CloudCard {
    CARDS.iter().find(|c| c.kind == kind).unwrap_or(&CARDS[0])
}

/// A fresh slot for every cloud that has a wizard, in [`CARDS`] order.
pub fn all() -> Vec<CloudSlot> {
    vec![
        CloudSlot::new(aws::AwsWizard::new()),
        CloudSlot::new(azure::AzureWizard::new()),
        CloudSlot::new(gcp::GcpWizard::new()),
        CloudSlot::new(cloudflare::CloudflareWizard::new()),
    ]
}
