//! Cloudflare's wizard against scripted answers: the template cards, the
//! account id an account-owned token needs, the token field (a Global API
//! key refused before anything is sent; the field emptied on submit; the
//! token in the bodies only, never in the page) and the three badges.

use crate::support::*;
use alphaswarm_core::{CloudKind, OrgId};
use alphaswarm_web::auth::{Auth, StepUp};
use alphaswarm_web::clouds::cloudflare::CloudflareWizard;
use alphaswarm_web::signal::BoxedCallback;
use alphaswarm_web::steps::{CloudSlot, Wizard, WizardState};
use leptos::mount::mount_to;
use leptos::prelude::*;
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::HtmlElement;

const TOKEN: &str = "Zq3-canary_0123456789abcdefghijklmnopqrst";
const TOKEN_ID: &str = "0123456789abcdef0123456789abcdef";

fn mount() -> HtmlElement {
    let root = container();
    let auth = Auth::new();
    auth.token.set(Some("session".into()));
    auth.step_up_until_ms
        .set(Some(js_sys::Date::now() + 600_000.0));
    let state = WizardState::with_clouds(
        OrgId::parse("acme").unwrap(),
        CloudKind::Cloudflare,
        vec![CloudSlot::new(CloudflareWizard::new())],
    );
    mount_to(root.clone(), move || {
        view! {
            {move || auth.step_up_wanted.get().then(|| view! { <StepUp auth/> })}
            <Wizard auth state on_done=BoxedCallback::new(|()| {})/>
        }
    })
    .forget();
    root
}

async fn next(root: &HtmlElement, to: &str) {
    wait_until("Next to be enabled", || {
        !one(root, ".step-nav button.primary").has_attribute("disabled")
    })
    .await;
    click(root, ".step-nav button.primary");
    wait_until(to, || !all(root, &format!("[data-step={to}]")).is_empty()).await;
}

fn group(dashboard: &str, status: &str) -> serde_json::Value {
    json!({ "id": "x", "name": dashboard, "reported_name": null, "dashboard": dashboard, "scope": "zone",
            "status": status, "evidence": "probe", "reason": format!("{status} by a read-only call"),
            "fix": (status == "missing").then(|| format!("In the Cloudflare dashboard, open My Profile > API Tokens, choose Edit on the token, add the permission {dashboard}")) })
}

#[wasm_bindgen_test]
async fn the_token_is_sent_in_bodies_only_and_a_global_key_never_leaves_the_page() {
    stub_fetch(json!({
        "GET /admin/clouds": [ok(json!({ "clouds": ["cloudflare"] }))],
        "POST /admin/accounts/acme/cloud/cloudflare/bootstrap": [ok(json!({
            "bundle": minimal_bundle("cloudflare"), "template": "dns_edit", "token_owner": "user",
            "grants": "…", "token_name": "AlphaSwarm acme dns_edit",
            "permission_groups": [{ "id": "a", "name": "Zone Read", "dashboard": "Zone > Zone > Read", "scope": "zone", "baseline": true }]
        }))],
        "POST /admin/accounts/acme/cloud/cloudflare/validate-identity": [ok(json!({
            "audit_run_id": "run-3", "token_id": TOKEN_ID, "owner": "user", "account_id": null,
            "verified_at": "/user/tokens/verify", "status": "active", "not_before": null, "expires_on": null,
            "rotation": { "state": "ok", "basis": "rotation_policy", "due_at": "2027-01-01T00:00:00Z", "days_left": 90,
                          "message": "The token has no expiry date; rotate it by 2027-01-01 (90 days after connecting)." }
        }))],
        "POST /admin/accounts/acme/cloud/cloudflare/validate-permissions": [ok(json!({
            "audit_run_id": "run-4", "template": "dns_edit", "owner": "user", "token_id": TOKEN_ID, "token_name": null,
            "evidence": "probe", "groups": [group("Zone > Zone > Read", "granted"), group("Zone > DNS > Edit", "missing"),
                                             group("Account > Workers Scripts > Edit", "unverified")],
            "granted": [], "missing": [], "unverified": [], "satisfied": false,
            "self_check": { "permission": "User > API Tokens > Read", "readable": false }
        }))],
    }));
    let root = mount();
    next(&root, "bootstrap").await;
    wait_until("the bundle", || !all(&root, ".artifacts").is_empty()).await;
    assert_eq!(all(&root, "#template input[type=radio]").len(), 5);
    assert!(input_checked(&root, "#template-dns_edit"));

    // An account-owned token without the account id: asked at its field,
    // nothing sent.
    let renders = requests_to("/bootstrap").len();
    click(&root, "#token_owner-account");
    wait_until("the account id error", || {
        !all(&root, "#account_id-error [data-code=missing_field]").is_empty()
    })
    .await;
    assert_eq!(requests_to("/bootstrap").len(), renders);
    click(&root, "#token_owner-user");
    wait_until("rendered again", || {
        requests_to("/bootstrap").len() > renders
    })
    .await;
    assert_eq!(
        requests_to("/bootstrap").last().unwrap().body,
        json!({ "template": "dns_edit", "token_owner": "user" })
    );

    next(&root, "identity").await;
    assert_eq!(
        one(&root, "#token").get_attribute("type").as_deref(),
        Some("password")
    );
    for global in [
        "cfk_0123456789abcdef0123456789abcdef01234567",
        "0123456789abcdef0123456789abcdef01234",
    ] {
        type_into(&root, "#token", global);
        click(&root, "[data-step=identity] button[type=submit]");
        wait_until("the Global API key refusal", || {
            !all(&root, "#token-error [data-code=global_api_key_refused]").is_empty()
        })
        .await;
        assert_eq!(input_value(&root, "#token"), "", "emptied on submit");
        assert!(!root.inner_html().contains(global));
        assert!(text(&root, "#token-error").contains("scoped API token"));
    }
    assert!(
        requests_to("/validate-identity").is_empty(),
        "nothing was sent"
    );

    type_into(&root, "#token", &format!("  {TOKEN}\n"));
    click(&root, "[data-step=identity] button[type=submit]");
    wait_until("the verified token", || {
        !all(&root, "[data-result=identity]").is_empty()
    })
    .await;
    assert_eq!(input_value(&root, "#token"), "", "emptied on submit");
    assert_eq!(
        requests_to("/validate-identity")[0].body,
        json!({ "token": TOKEN, "template": "dns_edit" })
    );
    assert!(text(&root, "[data-result=identity]").contains(TOKEN_ID));
    assert_eq!(
        one(&root, "[data-result=identity] [data-rotation]")
            .get_attribute("data-rotation")
            .as_deref(),
        Some("ok")
    );

    next(&root, "permissions").await;
    wait_until("the badges", || !all(&root, ".checks li").is_empty()).await;
    let verdict = |v: &str| all(&root, &format!(".checks li[data-granted={v}]")).len();
    assert_eq!(
        (verdict("true"), verdict("false"), verdict("unverified")),
        (1, 1, 1)
    );
    assert_eq!(
        text(&root, ".checks li[data-granted=unverified] .badge"),
        "Could not be verified"
    );
    assert!(text(&root, "[data-fix=permissions]").contains("Zone > DNS > Edit"));
    assert!(
        one(&root, ".step-nav button.primary").has_attribute("disabled"),
        "a missing group blocks; an unverified one alone would not"
    );
    assert_eq!(
        requests_to("/validate-permissions")[0].body,
        json!({ "token": TOKEN, "template": "dns_edit" })
    );
    assert!(
        !root.inner_html().contains(TOKEN),
        "the token is nowhere in the page"
    );
}
