//! Step 4's result, for every cloud: one badge per required permission
//! (an action, a role, a permission group), green "Granted" or red
//! "Missing required", and the fix's commands.

use crate::signal::CollectAny;
use crate::ui::CopyButton;
use alphaswarm_core::shell::Commands;
use leptos::prelude::*;

/// One required permission and whether the identity has it.
pub struct Check {
    /// What is required, as the cloud names it (`data-action` in the DOM).
    pub name: String,
    pub granted: bool,
    /// The cloud's own word for the verdict (IAM's `implicitDeny`, ...).
    pub detail: String,
}

/// `checks` badged green "Granted" or red "Missing required";
/// `unverified` (Cloudflare's write groups a probe cannot prove) amber
/// "Could not be verified", never green on a guess.
#[component]
pub fn CheckList(
    label: &'static str,
    checks: Vec<Check>,
    #[prop(optional)] unverified: Vec<Check>,
) -> impl IntoView {
    let item = |c: Check, verdict: &'static str| {
        let key = c.name.clone();
        let (class, word) = match verdict {
            "true" => ("badge ok", "Granted"),
            "false" => ("badge missing", "Missing required"),
            _ => ("badge unverified", "Could not be verified"),
        };
        view! {
            <li data-action=key data-granted=verdict>
                <code>{c.name}</code>
                <span class=class>{word}</span>
                <span class="muted small">{c.detail}</span>
            </li>
        }
    };
    view! {
        <ul class="checks" aria-label=label>
            {checks.into_iter().map(|c| { let v = if c.granted { "true" } else { "false" }; item(c, v) }).collect_any()}
            {unverified.into_iter().map(|c| item(c, "unverified")).collect_any()}
        </ul>
    }
}

/// The fix's commands, bash then PowerShell, each with a copy button.
#[component]
pub fn FixCommands(commands: Commands) -> impl IntoView {
    let shown = commands
        .bash
        .into_iter()
        .map(|c| (c, "the fix command (bash)"))
        .chain(
            commands
                .powershell
                .into_iter()
                .map(|c| (c, "the fix command (PowerShell)")),
        );
    shown
        .map(|(c, what)| {
            view! {
                <div class="artifact"><pre tabindex="0"><code>{c.clone()}</code></pre><CopyButton text=c what/></div>
            }
        })
        .collect_any()
}
