//! A rendered bundle (step 2 of the wizard, and the workload identity
//! page): every artifact one click from the clipboard, files from disk.

use crate::ui::{CopyButton, DownloadButton};
use alphaswarm_core::Bundle;
use alphaswarm_core::bundle::NamedValue;
use alphaswarm_core::shell::Shell;
use leptos::prelude::*;

/// Every artifact of `bundle`: warnings, values (`lead` first), commands in
/// the chosen shell, files, Terraform, links and notes, each with copy (and
/// download for files).
#[component]
pub fn BundleView(
    bundle: Bundle,
    shell: RwSignal<Shell>,
    /// Shown first; the bundle's values of the same names are not repeated.
    #[prop(optional)]
    lead: Vec<NamedValue>,
    /// The heading of the bundle's links ("CloudFormation", "Consent", ...).
    #[prop(default = "Links")]
    links_title: &'static str,
) -> impl IntoView {
    let commands = StoredValue::new(bundle.commands.clone());
    let shell_button = move |which: Shell, label: &'static str| {
        view! {
            <button type="button" class="toggle" data-shell=label
                aria-pressed=move || (shell.get() == which).to_string()
                on:click=move |_| shell.set(which)>{label}</button>
        }
    };
    let values = lead
        .iter()
        .cloned()
        .chain(
            bundle
                .values
                .iter()
                .filter(|v| !lead.iter().any(|l| l.name == v.name))
                .cloned(),
        )
        .collect::<Vec<_>>();
    view! {
        <div class="artifacts">
            {(!bundle.warnings.is_empty()).then(|| view! {
                <ul class="banner warn" aria-label="Warnings">
                    {bundle.warnings.iter().map(|w| view! { <li data-code=w.code.clone()>{w.message.clone()}</li> }).collect_view()}
                </ul>
            })}
            {(!values.is_empty()).then(|| view! {
                <h3>"Values"</h3>
                <dl class="values">
                    {values.into_iter().map(|v| view! { <ValueRow name=v.name label=v.label value=v.value/> }).collect_view()}
                </dl>
            })}

            {(!bundle.commands.bash.is_empty()).then(|| view! {
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
            })}

            {(!bundle.files.is_empty()).then(|| view! { <h3>"Files"</h3> })}
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
                <h3>{links_title}</h3>
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
