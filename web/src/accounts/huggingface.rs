//! HuggingFace: a fine-grained access token and, optionally, the namespace
//! (the proxy derives it from the token's user when blank).

use super::{AccountForm, Input};
use alphaswarm_core::accounts::AccountKind;

pub const FORM: AccountForm = AccountForm {
    kind: AccountKind::HuggingFace,
    intro: "A fine-grained access token with read access to the organisation's models and datasets. AlphaSwarm checks it with HuggingFace, then keeps it only in its encrypted store.",
    inputs: &[
        Input {
            field: "token",
            label: "Access token",
            help: "Starts with hf_. Create one under HuggingFace → Settings → Access Tokens.",
            secret: true,
            optional: false,
        },
        Input {
            field: "namespace",
            label: "Namespace (optional)",
            help: "Your HuggingFace user or one of your organisations, e.g. acme-quant. Blank: the token's user.",
            secret: false,
            optional: true,
        },
    ],
};
