//! Step 3's result, for every cloud: the identity the proxy obtained and
//! the isolation check (an identity meant for another organisation must be
//! refused: AWS's external id, Azure's and GCP's exact subject).

use crate::json::{FromJson, Missing, flag, text};
use crate::signal::CollectAny;
use leptos::prelude::*;
use serde_json::Value;

/// Step 3's isolation verdict, the same for every cloud: whether an identity
/// meant for another organisation is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusedDeputy {
    pub safe: bool,
    pub message: String,
}

impl FromJson for ConfusedDeputy {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(ConfusedDeputy {
            safe: flag(v, "safe")?,
            message: text(v, "message")?,
        })
    }
}

/// A label and the value shown as code.
pub type Fact = (&'static str, String);

#[component]
pub fn IdentityResult(
    title: &'static str,
    facts: Vec<Fact>,
    /// How many tries it took while a fresh identity propagated.
    attempts: u32,
    deputy: ConfusedDeputy,
    /// The badge when isolated, and when not.
    #[prop(default = ("Confused-deputy check passed", "Confused-deputy risk"))]
    verdicts: (&'static str, &'static str),
) -> impl IntoView {
    view! {
        <div class="result" data-result="identity">
            <h3>{title}</h3>
            <Facts facts/>
            <p class="small muted">{format!("Attempts: {attempts}")}</p>
            <p class="deputy" data-safe=deputy.safe.to_string()>
                {if deputy.safe {
                    view! { <span class="badge ok">{verdicts.0}</span> }.into_any()
                } else {
                    view! { <span class="badge missing">{verdicts.1}</span> }.into_any()
                }}
                " " {deputy.message}
            </p>
        </div>
    }
}

/// Label / value rows (values as code).
#[component]
pub fn Facts(facts: Vec<Fact>) -> impl IntoView {
    view! { <dl class="values"><FactRows facts/></dl> }
}

/// The rows of [`Facts`], for a list that has rows of its own too.
#[component]
pub fn FactRows(facts: Vec<Fact>) -> impl IntoView {
    facts
        .into_iter()
        .map(|(label, value)| {
            view! { <div class="value-row"><dt>{label}</dt><dd><code>{value}</code></dd></div> }
        })
        .collect_any()
}
