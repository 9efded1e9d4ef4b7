//! A rendered bundle (step 2 of the wizard, and the workload identity
//! page): every artifact one click from the clipboard, files from disk.
//!
//! One tab per way of doing it (the CLI commands, Terraform,
//! CloudFormation), each complete on its own; long documents start as a
//! preview that opens in place.

use crate::steps::in_org_words;
use crate::ui::{CopyButton, DownloadButton};
use alphaswarm_core::Bundle;
use alphaswarm_core::aws::PLACEHOLDER_PARTNER_ACCOUNT_ID;
use alphaswarm_core::bundle::{File, Link, NamedValue};
use alphaswarm_core::shell::Commands;
use alphaswarm_core::shell::Shell;
use leptos::prelude::*;

/// A document longer than this many lines starts collapsed to a preview.
const PREVIEW_LINES: usize = 12;

/// The ways a bundle can be applied, each a tab when there is more than one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Cli,
    Terraform,
    CloudFormation,
}

impl Way {
    fn label(self) -> &'static str {
        match self {
            Way::Cli => "CLI",
            Way::Terraform => "Terraform",
            Way::CloudFormation => "CloudFormation",
        }
    }
    fn slug(self) -> &'static str {
        match self {
            Way::Cli => "cli",
            Way::Terraform => "terraform",
            Way::CloudFormation => "cloudformation",
        }
    }
}

fn is_cloudformation(text: &str) -> bool {
    text.contains("CloudFormation") || text.contains(".cfn.") || text.starts_with("cloudformation")
}

/// A command the core renders in a note ("CloudFormation from the CLI
/// (bash):\n<command>"), with its PowerShell twin when there is one.
#[derive(Debug, Clone, Default)]
struct NoteCommand {
    title: String,
    bash: String,
    powershell: String,
}

/// The bundle's notes split into plain remarks and commands (paired by shell).
fn split_notes(notes: Vec<String>) -> (Vec<String>, Vec<NoteCommand>) {
    let mut remarks = Vec::new();
    let mut commands: Vec<NoteCommand> = Vec::new();
    for note in notes {
        let Some((lead, code)) = note.split_once('\n') else {
            remarks.push(note);
            continue;
        };
        let lead = lead.trim_end_matches(':');
        let (title, shell) = match lead.rsplit_once(" (") {
            Some((title, "bash)")) => (title, Some(Shell::Bash)),
            Some((title, "PowerShell)")) => (title, Some(Shell::PowerShell)),
            _ => (lead, None),
        };
        let index = match commands.iter().position(|c| c.title == title) {
            Some(i) => i,
            None => {
                commands.push(NoteCommand {
                    title: title.to_owned(),
                    ..NoteCommand::default()
                });
                commands.len() - 1
            }
        };
        let entry = &mut commands[index];
        match shell {
            Some(Shell::PowerShell) => entry.powershell = code.to_owned(),
            Some(Shell::Bash) => entry.bash = code.to_owned(),
            None => {
                entry.bash = code.to_owned();
                entry.powershell = code.to_owned();
            }
        }
    }
    (remarks, commands)
}

/// Every artifact of `bundle`: warnings and values, then one tab per way
/// (commands in the chosen shell, files, Terraform, CloudFormation), then
/// the remarks; each artifact with copy (and download for files).
#[component]
pub fn BundleView(
    bundle: Bundle,
    shell: RwSignal<Shell>,
    /// Shown first; the bundle's values of the same names are not repeated.
    #[prop(optional)]
    lead: Vec<NamedValue>,
    /// The heading of the bundle's links ("Console", "Consent", ...).
    #[prop(default = "Links")]
    links_title: &'static str,
) -> impl IntoView {
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
    let placeholder = values
        .iter()
        .any(|v| v.name == "partner_account_id" && v.value == PLACEHOLDER_PARTNER_ACCOUNT_ID);
    let (remarks, note_commands) = split_notes(bundle.notes);
    let (cfn_remarks, remarks): (Vec<_>, Vec<_>) =
        remarks.into_iter().partition(|r| is_cloudformation(r));
    let (cfn_commands, cli_commands): (Vec<_>, Vec<_>) = note_commands
        .into_iter()
        .partition(|c| is_cloudformation(&c.title));
    let (cfn_files, files): (Vec<_>, Vec<_>) = bundle
        .files
        .into_iter()
        .partition(|f| is_cloudformation(&f.name));
    let (cfn_links, links): (Vec<_>, Vec<_>) = bundle
        .links
        .into_iter()
        .partition(|l| is_cloudformation(&l.name));
    let has_commands = !bundle.commands.bash.is_empty();
    let ways: Vec<Way> = [
        (
            Way::Cli,
            has_commands || !files.is_empty() || !links.is_empty() || !cli_commands.is_empty(),
        ),
        (Way::Terraform, !bundle.terraform.is_empty()),
        (
            Way::CloudFormation,
            !cfn_files.is_empty() || !cfn_commands.is_empty() || !cfn_links.is_empty(),
        ),
    ]
    .into_iter()
    .filter_map(|(w, any)| any.then_some(w))
    .collect();
    let chosen = RwSignal::new(ways.first().copied().unwrap_or(Way::Cli));
    let tabs = (ways.len() > 1).then(|| {
        view! {
            <div class="ways" role="tablist" aria-label="Ways to set it up">
                {ways.iter().map(|&way| view! {
                    <button type="button" role="tab" id=format!("way-{}", way.slug()) data-way=way.slug()
                        aria-controls=format!("way-{}-panel", way.slug())
                        aria-selected=move || (chosen.get() == way).to_string()
                        on:click=move |_| chosen.set(way)>{way.label()}</button>
                }).collect_view()}
            </div>
        }
    });
    let panel = move |way: Way, content: AnyView| {
        view! {
            <div class="way-panel" role="tabpanel" id=format!("way-{}-panel", way.slug())
                aria-labelledby=format!("way-{}", way.slug()) data-way-panel=way.slug()
                hidden=move || chosen.get() != way>{content}</div>
        }
    };
    let cli = ways.contains(&Way::Cli).then(|| {
        panel(
            Way::Cli,
            view! {
                {has_commands.then(|| view! { <CommandList commands=bundle.commands shell/> })}
                {files.into_iter().map(|f| view! { <Document file=f/> }).collect_view()}
                <NoteCommands commands=cli_commands shell toggle=!has_commands/>
                <Links links title=links_title/>
            }
            .into_any(),
        )
    });
    let terraform = ways.contains(&Way::Terraform).then(|| {
        let file = File {
            name: "main.tf".to_owned(),
            media_type: "text/plain".to_owned(),
            contents: bundle.terraform,
        };
        panel(
            Way::Terraform,
            view! { <Document file caption=" (Terraform)"/> }.into_any(),
        )
    });
    let cloudformation = ways.contains(&Way::CloudFormation).then(|| {
        panel(
            Way::CloudFormation,
            view! {
                {cfn_files.into_iter().map(|f| view! { <Document file=f/> }).collect_view()}
                <NoteCommands commands=cfn_commands shell toggle=true/>
                <Links links=cfn_links title="Console"/>
                {(!cfn_remarks.is_empty()).then(|| view! {
                    <ul class="notes">{cfn_remarks.into_iter().map(|n| view! { <li>{in_org_words(&n)}</li> }).collect_view()}</ul>
                })}
            }
            .into_any(),
        )
    });
    view! {
        <div class="artifacts">
            {(!bundle.warnings.is_empty() || placeholder).then(|| view! {
                <ul class="banner warn" aria-label="Warnings">
                    {placeholder.then(|| view! {
                        <li data-code="placeholder_partner_account">{format!(
                            "{PLACEHOLDER_PARTNER_ACCOUNT_ID} is a placeholder, not AlphaSwarm's AWS account: a role that trusts it trusts nobody real. Whoever runs AlphaSwarm sets the real account id (ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID) before a customer runs these."
                        )}</li>
                    })}
                    {bundle.warnings.iter().map(|w| view! { <li data-code=w.code.clone()>{in_org_words(&w.message)}</li> }).collect_view()}
                </ul>
            })}
            {(!values.is_empty()).then(|| view! {
                <h3>"Values"</h3>
                <dl class="values">
                    {values.into_iter().map(|v| view! { <ValueRow name=v.name label=v.label value=v.value/> }).collect_view()}
                </dl>
            })}
            {tabs}
            {cli}
            {terraform}
            {cloudformation}
            {(!remarks.is_empty()).then(|| view! {
                <h3>"Notes"</h3>
                <ul class="notes">{remarks.into_iter().map(|n| view! { <li>{in_org_words(&n)}</li> }).collect_view()}</ul>
            })}
        </div>
    }
}

/// The shell toggle (shared by every command list of the bundle).
#[component]
fn ShellToggle(shell: RwSignal<Shell>) -> impl IntoView {
    let button = move |which: Shell, label: &'static str| {
        view! {
            <button type="button" class="toggle" data-shell=label
                aria-pressed=move || (shell.get() == which).to_string()
                on:click=move |_| shell.set(which)>{label}</button>
        }
    };
    view! {
        <div class="toggle-group" role="group" aria-label="Shell for the commands">
            {button(Shell::Bash, "bash")}
            {button(Shell::PowerShell, "PowerShell")}
        </div>
    }
}

fn shell_name(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "bash",
        Shell::PowerShell => "PowerShell",
    }
}

/// The bundle's commands in the chosen shell, one copy button each.
#[component]
fn CommandList(commands: Commands, shell: RwSignal<Shell>) -> impl IntoView {
    let commands = StoredValue::new(commands);
    view! {
        <h3 id="commands-title">"Commands"</h3>
        <ShellToggle shell/>
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
                    let what = format!("command {} ({})", i + 1, shell_name(which));
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
    }
}

/// Commands the core gives in its notes (CloudFormation from the CLI, the
/// broad policy), each in the chosen shell with its own copy button.
#[component]
fn NoteCommands(
    commands: Vec<NoteCommand>,
    shell: RwSignal<Shell>,
    /// Its own shell toggle, when no other list above it has one.
    toggle: bool,
) -> impl IntoView {
    (!commands.is_empty()).then(|| {
        let commands = StoredValue::new(commands);
        view! {
            {toggle.then(|| view! { <ShellToggle shell/> })}
            <ul class="alt-commands">
                {move || {
                    let which = shell.get();
                    commands.with_value(|list| list.iter().map(|c| {
                        let cmd = match which {
                            Shell::PowerShell if !c.powershell.is_empty() => c.powershell.clone(),
                            _ => c.bash.clone(),
                        };
                        let what = format!("{} ({})", c.title, shell_name(which));
                        view! {
                            <li class="artifact" data-alt-command=c.title.clone()>
                                <h4>{c.title.clone()}</h4>
                                <pre tabindex="0" aria-label=what.clone()><code>{cmd.clone()}</code></pre>
                                <CopyButton text=cmd what/>
                            </li>
                        }
                    }).collect_view())
                }}
            </ul>
        }
    })
}

#[component]
fn Links(links: Vec<Link>, title: &'static str) -> impl IntoView {
    (!links.is_empty()).then(|| {
        view! {
            <h3>{title}</h3>
            <ul class="links">
                {links.into_iter().map(|l| view! {
                    <li class="artifact" data-link=l.name.clone()>
                        <a class="button-link" href=l.url.clone() target="_blank" rel="noopener noreferrer">{l.label.clone()}</a>
                        <CopyButton text=l.url what=format!("link: {}", l.label)/>
                    </li>
                }).collect_view()}
            </ul>
        }
    })
}

/// A file with copy and download; a long one shows its first lines until
/// "Show all" opens it in place (copy and download are always the whole file).
#[component]
fn Document(file: File, #[prop(optional)] caption: &'static str) -> impl IntoView {
    let lines = file.contents.lines().count();
    let long = lines > PREVIEW_LINES;
    let open = RwSignal::new(!long);
    let id = format!("file-{}", file.name.replace('.', "-"));
    let name = file.name.clone();
    view! {
        <figure class="artifact file" data-file=name>
            <figcaption id=id.clone()><code>{file.name.clone()}</code>{caption}
                {long.then(|| view! { <span class="muted">{format!(" · {lines} lines")}</span> })}
            </figcaption>
            <pre tabindex="0" aria-labelledby=id class:preview=move || !open.get()><code>{file.contents.clone()}</code></pre>
            <div class="actions">
                {long.then(|| view! {
                    <button type="button" class="link" aria-expanded=move || open.get().to_string()
                        on:click=move |_| open.update(|o| *o = !*o)>
                        {move || if open.get() { "Show less".to_owned() } else { format!("Show all {lines} lines") }}
                    </button>
                })}
                <CopyButton text=file.contents.clone() what=file.name.clone()/>
                <DownloadButton file_name=file.name media_type=file.media_type contents=file.contents/>
            </div>
        </figure>
    }
}

#[component]
fn ValueRow(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    #[prop(into)] value: String,
) -> impl IntoView {
    let placeholder = name == "partner_account_id" && value == PLACEHOLDER_PARTNER_ACCOUNT_ID;
    view! {
        <div class="value-row" data-value=name>
            <dt>{label.clone()}</dt>
            <dd><code>{value.clone()}</code><CopyButton text=value what=label/>
                {placeholder.then(|| view! { <span class="badge warn" data-placeholder="">"Placeholder"</span> })}
            </dd>
        </div>
    }
}
