//! A rendered bundle (step 2 of the wizard, and the workload identity
//! page): every artifact one click from the clipboard, files from disk.
//!
//! One tab per way of doing it (the CLI commands, Terraform,
//! CloudFormation), each complete on its own; long documents start as a
//! preview that opens in place.

use crate::signal::{BoxedSignal, BoxedValue, CollectAny, MapAny, ThenAny};
use crate::steps::in_org_words;
use crate::ui::{CopyButton, DownloadButton, attr};
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

/// Commands the core renders in notes ("CloudFormation from the CLI
/// (bash):\n<command>"), paired by title across the two shells.
#[derive(Debug, Clone, Default)]
struct NoteCommands {
    titles: Vec<String>,
    commands: Commands,
}

impl NoteCommands {
    fn push(&mut self, title: &str, shell: Option<Shell>, code: &str) {
        let i = match self.titles.iter().position(|t| t == title) {
            Some(i) => i,
            None => {
                self.titles.push(title.to_owned());
                self.commands.bash.push(String::new());
                self.commands.powershell.push(String::new());
                self.titles.len() - 1
            }
        };
        if shell != Some(Shell::PowerShell) {
            self.commands.bash[i] = code.to_owned();
        }
        if shell != Some(Shell::Bash) {
            self.commands.powershell[i] = code.to_owned();
        }
    }

    /// Those whose title `keep` accepts, and the others.
    fn split(self, keep: impl Fn(&str) -> bool) -> (NoteCommands, NoteCommands) {
        let (mut yes, mut no) = (NoteCommands::default(), NoteCommands::default());
        let rows = self
            .titles
            .into_iter()
            .zip(self.commands.bash)
            .zip(self.commands.powershell);
        for ((title, bash), powershell) in rows {
            let to = if keep(&title) { &mut yes } else { &mut no };
            to.titles.push(title);
            to.commands.bash.push(bash);
            to.commands.powershell.push(powershell);
        }
        (yes, no)
    }
}

/// The bundle's notes split into plain remarks and commands.
fn split_notes(notes: Vec<String>) -> (Vec<String>, NoteCommands) {
    let mut remarks = Vec::new();
    let mut commands = NoteCommands::default();
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
        commands.push(title, shell, code);
    }
    (remarks, commands)
}

/// Every artifact of `bundle`: warnings and values, then one tab per way
/// (commands in the chosen shell, files, Terraform, CloudFormation), then
/// the remarks; each artifact with copy (and download for files).
#[component]
pub fn BundleView(
    bundle: Bundle,
    shell: BoxedSignal<Shell>,
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
    let (cfn_commands, cli_commands) = note_commands.split(is_cloudformation);
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
            has_commands
                || !files.is_empty()
                || !links.is_empty()
                || !cli_commands.titles.is_empty(),
        ),
        (Way::Terraform, !bundle.terraform.is_empty()),
        (
            Way::CloudFormation,
            !cfn_files.is_empty() || !cfn_commands.titles.is_empty() || !cfn_links.is_empty(),
        ),
    ]
    .into_iter()
    .filter_map(|(w, any)| any.then_some(w))
    .collect();
    let chosen = BoxedSignal::new(ways.first().copied().unwrap_or(Way::Cli));
    let tabs = (ways.len() > 1).then(|| {
        view! {
            <div class="ways" role="tablist" aria-label="Ways to set it up">
                {ways.iter().map(|&way| view! {
                    <button type="button" role="tab" id=format!("way-{}", way.slug()) data-way=way.slug()
                        {..attr("aria-controls", format!("way-{}-panel", way.slug()))}
                        {..attr("aria-selected", move || (chosen.get() == way).to_string())}
                        on:click=move |_| chosen.set(way)>{way.label()}</button>
                }).collect_any()}
            </div>
        }
    });
    let panel = move |way: Way, content: AnyView| {
        view! {
            <div class="way-panel" role="tabpanel" id=format!("way-{}-panel", way.slug())
                aria-labelledby=format!("way-{}", way.slug()) data-way-panel=way.slug()
                {..attr("hidden", move || chosen.get() != way)}>{content}</div>
        }
    };
    let cli = ways.contains(&Way::Cli).then(|| {
        panel(
            Way::Cli,
            view! {
                {has_commands.then_any(|| view! {
                    <h3 id="commands-title">"Commands"</h3>
                    <ShellToggle shell/>
                    <CommandList commands=bundle.commands shell class="commands"/>
                })}
                {files.into_iter().map(|f| view! { <Document file=f/> }).collect_any()}
                <MoreCommands more=cli_commands shell toggle=!has_commands/>
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
                {cfn_files.into_iter().map(|f| view! { <Document file=f/> }).collect_any()}
                <MoreCommands more=cfn_commands shell toggle=true/>
                <Links links=cfn_links title="Console"/>
                {(!cfn_remarks.is_empty()).then_any(|| view! {
                    <ul class="notes">{cfn_remarks.into_iter().map(|n| view! { <li>{in_org_words(&n)}</li> }).collect_any()}</ul>
                })}
            }
            .into_any(),
        )
    });
    view! {
        <div class="artifacts">
            {(!bundle.warnings.is_empty() || placeholder).then_any(|| view! {
                <ul class="banner warn" aria-label="Warnings">
                    {placeholder.then_any(|| view! {
                        <li data-code="placeholder_partner_account">{format!(
                            "{PLACEHOLDER_PARTNER_ACCOUNT_ID} is a placeholder, not AlphaSwarm's AWS account: a role that trusts it trusts nobody real. Whoever runs AlphaSwarm sets the real account id (ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID) before a customer runs these."
                        )}</li>
                    })}
                    {bundle.warnings.iter().map(|w| view! { <li data-code=w.code.clone()>{in_org_words(&w.message)}</li> }).collect_any()}
                </ul>
            })}
            {(!values.is_empty()).then_any(|| view! {
                <h3>"Values"</h3>
                <dl class="values">
                    {values.into_iter().map(|v| view! { <ValueRow name=v.name label=v.label value=v.value/> }).collect_any()}
                </dl>
            })}
            {tabs}
            {cli}
            {terraform}
            {cloudformation}
            {(!remarks.is_empty()).then_any(|| view! {
                <h3>"Notes"</h3>
                <ul class="notes">{remarks.into_iter().map(|n| view! { <li>{in_org_words(&n)}</li> }).collect_any()}</ul>
            })}
        </div>
    }
}

/// The shell toggle (shared by every command list of the bundle).
#[component]
fn ShellToggle(shell: BoxedSignal<Shell>) -> impl IntoView {
    let button = move |which: Shell, label: &'static str| {
        view! {
            <button type="button" class="toggle" data-shell={label}
                {..attr("aria-pressed", move || (shell.get() == which).to_string())}
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

/// Commands in the chosen shell, one copy button each; with `titles`, each
/// under its title (the notes' commands), else numbered (`ol.commands`).
#[component]
fn CommandList(
    commands: Commands,
    shell: BoxedSignal<Shell>,
    class: &'static str,
    #[prop(optional)] titles: Vec<String>,
) -> impl IntoView {
    let commands = BoxedValue::new(commands);
    let rows =
        move || {
            let which = shell.get();
            commands
            .with_value(|c| match which {
                Shell::Bash => c.bash.clone(),
                Shell::PowerShell => c.powershell.clone(),
            })
            .into_iter()
            .enumerate()
            .map(|(i, cmd)| {
                let title = titles.get(i).cloned();
                let what = format!(
                    "{} ({})",
                    title.clone().unwrap_or_else(|| format!("command {}", i + 1)),
                    shell_name(which)
                );
                view! {
                    <li class="artifact" data-command=i>
                        {title.map_any(|t| view! { <h4>{t}</h4> })}
                        <pre tabindex="0" aria-label=what.clone()><code>{cmd.clone()}</code></pre>
                        <CopyButton text=cmd what/>
                    </li>
                }
            })
            .collect_any()
        };
    let labelled = (class == "commands").then_some("commands-title");
    view! { <ol class=class aria-labelledby=labelled>{rows}</ol> }
}

/// The commands the core gives in its notes (CloudFormation from the CLI,
/// the broad policy), with a shell toggle unless one is already above.
#[component]
fn MoreCommands(more: NoteCommands, shell: BoxedSignal<Shell>, toggle: bool) -> impl IntoView {
    (!more.titles.is_empty()).then(|| {
        view! {
            {toggle.then_any(|| view! { <ShellToggle shell/> })}
            <CommandList commands=more.commands shell class="alt-commands" titles=more.titles/>
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
                        <a class="button-link" {..attr("href", l.url.clone())} {..attr("target", "_blank")} {..attr("rel", "noopener noreferrer")}>{l.label.clone()}</a>
                        <CopyButton text=l.url what=format!("link: {}", l.label)/>
                    </li>
                }).collect_any()}
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
                {long.then_any(|| view! { <span class="muted">{format!(" · {lines} lines")}</span> })}
            </figcaption>
            <pre tabindex="0" aria-labelledby=id class:preview=move || !open.get()><code>{file.contents.clone()}</code></pre>
            <div class="actions">
                {long.then_any(|| view! {
                    <button type="button" class="link" {..attr("aria-expanded", move || open.get().to_string())}
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
                {placeholder.then_any(|| view! { <span class="badge warn" data-placeholder="">"Placeholder"</span> })}
            </dd>
        </div>
    }
}
