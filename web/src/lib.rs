//! The operator's cloud onboarding wizard (Leptos, client-side rendered).
//!
//! `api` is the only module that speaks HTTP; `model` is the core's step
//! model with the UI-only views of it; `steps` is the wizard every cloud
//! shares and `clouds` holds one module per cloud (its inputs, bodies,
//! answers and result views); `accounts` the HuggingFace and Docker Hub forms.

pub mod accounts;
pub mod api;
pub mod app;
pub mod auth;
pub mod bundle_view;
pub mod clouds;
pub mod integrations;
pub mod json;
pub mod model;
pub mod org;
pub mod sandbox;
pub mod signal;
pub mod steps;
pub mod ui;
pub mod workload_identity;

use wasm_bindgen::prelude::wasm_bindgen;

/// Mounts the app on `<body>`; called by index.html after the module loads
/// (not a `start` function, so component tests can mount views on their own).
/// No panic hook: the shipped build aborts on a panic without calling one
/// (scripts/build-web.sh, -Cpanic=immediate-abort).
#[wasm_bindgen]
pub fn mount() {
    leptos::mount::mount_to_body(app::App);
}

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
