//! Step 2: the bootstrap artifacts from the proxy, each one click from the
//! clipboard (and the files one click from disk).

use super::{StepHeading, StepNav, WizardState};
use crate::api::{self, ApiError, BootstrapRequest, BootstrapResponse};
use crate::auth::Auth;
use crate::model::Step;
use crate::ui::{CopyButton, DownloadButton, ErrorBanner, FieldError};
use alphaswarm_core::shell::Shell;
use leptos::prelude::*;
use leptos::task::spawn_local;

const FIELDS: &[&str] = &["region", "organizational_unit_ids"];

#[component]
pub fn BootstrapStep(auth: Auth, state: WizardState) -> impl IntoView {
    let region = RwSignal::new(String::new());
    let ous = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let load = Callback::new(move |()| {
        busy.set(true);
        error.set(None);
        let body = BootstrapRequest {
            region: Some(region.get_untracked().trim().to_owned()).filter(|r| !r.is_empty()),
            organizational_unit_ids: Some(
                ous.get_untracked()
                    .split([',', ' ', '\n'])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            )
            .filter(|v| !v.is_empty()),
        };
        spawn_local(async move {
            let result = api::bootstrap(&auth.token(), &state.org(), &body).await;
            busy.try_set(false);
            match result {
                Ok(data) => {
                    state.bootstrap.try_set(Some(data));
                }
                Err(e) => {
                    if !auth.handle(&e, || {}) {
                        error.try_set(Some(e));
                    }
                }
            }
        });
    });
    if state.bootstrap.get_untracked().is_none() {
        load.run(());
    }
    view! {
        <section data-step="bootstrap" aria-labelledby="step-bootstrap-title" aria-busy=move || busy.get().to_string()>
            <StepHeading step=Step::Bootstrap intro="Set up the role in the customer's AWS account with any one of these: the commands, Terraform, or CloudFormation. Then come back with the role ARN."/>
            <details class="options">
                <summary>"Options: region, organisation-wide roll-out"</summary>
                <form on:submit=move |ev| { ev.prevent_default(); load.run(()); }>
                    <div class="field">
                        <label for="region">"Region (optional)"</label>
                        <input id="region" placeholder="us-east-1" aria-describedby="region-error"
                            prop:value=move || region.get() on:input=move |ev| region.set(event_target_value(&ev))/>
                        <FieldError field="region" error=error.into()/>
                    </div>
                    <div class="field">
                        <label for="organizational_unit_ids">"Organizational unit ids for a StackSet (optional, comma separated)"</label>
                        <input id="organizational_unit_ids" placeholder="ou-ab12-cd34ef56" aria-describedby="organizational_unit_ids-error"
                            prop:value=move || ous.get() on:input=move |ev| ous.set(event_target_value(&ev))/>
                        <FieldError field="organizational_unit_ids" error=error.into()/>
                    </div>
                    <button type="submit" disabled=move || busy.get()>"Render again"</button>
                </form>
            </details>
            <ErrorBanner error=error.into() fields=FIELDS on_retry=load/>
            {move || busy.get().then(|| view! { <p class="progress" role="status">"Rendering the artifacts…"</p> })}
            {move || state.bootstrap.get().map(|data| view! { <BootstrapView data shell=state.shell/> })}
        </section>
        <StepNav auth state can_continue=Signal::derive(move || state.bootstrap.with(Option::is_some))/>
    }
}

#[component]
pub fn BootstrapView(data: BootstrapResponse, shell: RwSignal<Shell>) -> impl IntoView {
    let bundle = data.bundle;
    let commands = StoredValue::new(bundle.commands.clone());
    let shell_button = move |which: Shell, label: &'static str| {
        view! {
            <button type="button" class="toggle" data-shell=label
                aria-pressed=move || (shell.get() == which).to_string()
                on:click=move |_| shell.set(which)>{label}</button>
        }
    };
    let other_values = bundle
        .values
        .iter()
        .filter(|v| v.name != "external_id" && v.name != "role_name")
        .cloned()
        .collect::<Vec<_>>();
    view! {
        <div class="artifacts">
            {(!bundle.warnings.is_empty()).then(|| view! {
                <ul class="banner warn" aria-label="Warnings">
                    {bundle.warnings.iter().map(|w| view! { <li data-code=w.code.clone()>{w.message.clone()}</li> }).collect_view()}
                </ul>
            })}
            <h3>"Values"</h3>
            <dl class="values">
                <ValueRow name="external_id" label="External id" value=data.external_id/>
                <ValueRow name="role_name" label="Role name" value=data.role_name/>
                {other_values.into_iter().map(|v| view! { <ValueRow name=v.name label=v.label value=v.value/> }).collect_view()}
            </dl>

            <h3 id="commands-title">"Commands"</h3>
            <div class="toggle-group" role="group" aria-label="Shell for the commands">
                {shell_button(Shell::Bash, "bash")}
                {shell_button(Shell::PowerShell, "PowerShell")}
            </div>
            <ol class="commands" aria-labelledby="commands-title">
                {move || {
                    let which = shell.get();
                    commands.with_value(|c| match which {
                        Shell::Bash => c.bash.clone(),
                        Shell::PowerShell => c.powershell.clone(),
                    })
                    .into_iter()
                    .enumerate()
                    .map(|(i, cmd)| {
                        let what = format!("command {} ({})", i + 1, if which == Shell::Bash { "bash" } else { "PowerShell" });
                        view! {
                            <li class="artifact" data-command=i>
                                <pre tabindex="0" aria-label=what.clone()><code>{cmd.clone()}</code></pre>
                                <CopyButton text=cmd what/>
                            </li>
                        }
                    })
                    .collect_view()
                }}
            </ol>

            <h3>"Files"</h3>
            {bundle.files.into_iter().map(|f| {
                let id = format!("file-{}", f.name.replace('.', "-"));
                let name = f.name.clone();
                view! {
                    <figure class="artifact file" data-file=name>
                        <figcaption id=id.clone()><code>{f.name.clone()}</code></figcaption>
                        <pre tabindex="0" aria-labelledby=id><code>{f.contents.clone()}</code></pre>
                        <div class="actions">
                            <CopyButton text=f.contents.clone() what=f.name.clone()/>
                            <DownloadButton file_name=f.name media_type=f.media_type contents=f.contents/>
                        </div>
                    </figure>
                }
            }).collect_view()}

            {(!bundle.terraform.is_empty()).then(|| {
                let tf = bundle.terraform.clone();
                view! {
                    <figure class="artifact file" data-file="main.tf">
                        <figcaption id="file-terraform"><code>"main.tf"</code>" (Terraform)"</figcaption>
                        <pre tabindex="0" aria-labelledby="file-terraform"><code>{tf.clone()}</code></pre>
                        <div class="actions">
                            <CopyButton text=tf.clone() what="Terraform"/>
                            <DownloadButton file_name="main.tf" media_type="text/plain" contents=tf/>
                        </div>
                    </figure>
                }
            })}

            {(!bundle.links.is_empty()).then(|| view! {
                <h3>"CloudFormation"</h3>
                <ul class="links">
                    {bundle.links.into_iter().map(|l| view! {
                        <li class="artifact" data-link=l.name.clone()>
                            <a class="button-link" href=l.url.clone() target="_blank" rel="noopener noreferrer">{l.label.clone()}</a>
                            <CopyButton text=l.url what=format!("link: {}", l.label)/>
                        </li>
                    }).collect_view()}
                </ul>
            })}

            {(!bundle.notes.is_empty()).then(|| view! {
                <ul class="notes">{bundle.notes.into_iter().map(note_item).collect_view()}</ul>
            })}
        </div>
    }
}

#[component]
fn ValueRow(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    #[prop(into)] value: String,
) -> impl IntoView {
    view! {
        <div class="value-row" data-value=name>
            <dt>{label.clone()}</dt>
            <dd><code>{value.clone()}</code><CopyButton text=value what=label/></dd>
        </div>
    }
}

/// A bundle note; one that carries a command after its first line (e.g. the
/// CloudFormation alternative) shows it as code, scrolling inside its box.
fn note_item(note: String) -> impl IntoView {
    match note.split_once('\n') {
        Some((lead, code)) => view! {
            <li>{lead.to_owned()}<pre tabindex="0"><code>{code.to_owned()}</code></pre></li>
        }
        .into_any(),
        None => view! { <li>{note}</li> }.into_any(),
    }
}
