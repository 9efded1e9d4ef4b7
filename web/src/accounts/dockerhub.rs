//! Docker Hub: the Docker ID and a personal (or organisation) access token
//! together, since Docker Hub's login takes no token alone; the namespace
//! defaults to the Docker ID.

use super::{AccountForm, Input};
use alphaswarm_core::accounts::AccountKind;

pub const FORM: AccountForm = AccountForm {
    kind: AccountKind::DockerHub,
    intro: "Your Docker ID and an access token with the scope AlphaSwarm needs. AlphaSwarm signs in to Docker Hub with them once to check, then keeps the token only in its encrypted store.",
    inputs: &[
        Input {
            field: "username",
            label: "Docker ID",
            help: "The username you sign in to Docker Hub with (not your email address).",
            secret: false,
            optional: false,
        },
        Input {
            field: "pat",
            label: "Access token",
            help: "Starts with dckr_pat_ (or dckr_oat_ for an organisation token). Create one under Account settings → Personal access tokens.",
            secret: true,
            optional: false,
        },
        Input {
            field: "namespace",
            label: "Namespace (optional)",
            help: "The user or organisation whose repositories AlphaSwarm reads. Blank: your Docker ID.",
            secret: false,
            optional: true,
        },
    ],
};
