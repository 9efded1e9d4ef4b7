//! Step 4's result, for every cloud: one badge per required permission
//! (an action, a role, a permission group), green "Granted" or red
//! "Missing required", and the fix's commands.

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

#[component]
pub fn CheckList(label: &'static str, checks: Vec<Check>) -> impl IntoView {
    view! {
        <ul class="checks" aria-label=label>
            {checks.into_iter().map(|c| {
                let key = c.name.clone();
                view! {
                <li data-action=key data-granted=c.granted.to_string()>
                    <code>{c.name}</code>
                    {if c.granted {
                        view! { <span class="badge ok">"Granted"</span> }.into_any()
                    } else {
                        view! { <span class="badge missing">"Missing required"</span> }.into_any()
                    }}
                    <span class="muted small">{c.detail}</span>
                </li>
            }}).collect_view()}
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
        .collect_view()
}
