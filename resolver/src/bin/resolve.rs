//! `alphaswarm-resolve`: the resolver chain from an operator's shell (e.g.
//! `kubectl exec` into a pod), built from the same environment as the service.
//!
//! ```text
//! alphaswarm-resolve describe [--json]
//! alphaswarm-resolve locate service:purpose
//! alphaswarm-resolve get service:purpose [--field F] [--reveal] [--json]
//! ```
//! Values are masked unless `--reveal` is given. Exit status: 0 resolved,
//! 1 not resolved, 2 bad usage or configuration.

use std::process::ExitCode;
use std::time::SystemTime;

use alphaswarm_core::CoreError;
use alphaswarm_resolver::{CredentialKey, CredentialResolver, Environment, Resolution};

const USAGE: &str = "usage:
  alphaswarm-resolve describe [--json]           the chain, in resolution order
  alphaswarm-resolve locate service:purpose      where each store looks for a key
  alphaswarm-resolve get service:purpose [--field F] [--reveal] [--json]
                                                 resolve a key (values masked unless --reveal)";
const MASK: &str = "********";

struct Args {
    command: String,
    key: Option<String>,
    field: Option<String>,
    reveal: bool,
    json: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let command = args.next().ok_or("no command given")?;
    let mut parsed = Args {
        command,
        key: None,
        field: None,
        reveal: false,
        json: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--reveal" => parsed.reveal = true,
            "--json" => parsed.json = true,
            "--field" => parsed.field = Some(args.next().ok_or("--field needs a field name")?),
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if parsed.key.is_none() => parsed.key = Some(arg),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    Ok(parsed)
}

fn usage_error(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("error: {problem}");
    }
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn report(error: &dyn CoreError) {
    eprintln!("error[{}]: {error}", error.code());
    eprintln!("  hint: {}", error.hint());
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(problem) => return usage_error(&problem),
    };
    let key = match (args.command.as_str(), &args.key) {
        ("describe", None) => None,
        ("describe", Some(_)) => return usage_error("describe takes no key"),
        ("get" | "locate", Some(key)) => match key.parse::<CredentialKey>() {
            Ok(key) => Some(key),
            Err(error) => {
                report(&error);
                return ExitCode::from(2);
            }
        },
        ("get" | "locate", None) => return usage_error("give a key as service:purpose"),
        (other, _) => return usage_error(&format!("unknown command {other}")),
    };
    if args.command != "get" && (args.reveal || args.field.is_some()) {
        return usage_error("--field and --reveal go with get");
    }
    let resolver = match CredentialResolver::from_env(&Environment::from_process()) {
        Ok(resolver) => resolver,
        Err(errors) => {
            for error in &errors.0 {
                report(error);
            }
            return ExitCode::from(2);
        }
    };
    match key {
        None => describe(&resolver, args.json),
        Some(key) if args.command == "locate" => locate(&resolver, &key),
        Some(key) => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    eprintln!("error: the async runtime could not start: {e}");
                    return ExitCode::from(2);
                }
            };
            match runtime.block_on(resolver.resolve_detailed(&key, None)) {
                Ok(resolution) => show(&resolution, &args),
                Err(error) => {
                    report(&error);
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn describe(resolver: &CredentialResolver, json: bool) -> ExitCode {
    let description = resolver.describe();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&description).unwrap_or_default()
        );
    } else {
        print!("{description}");
    }
    ExitCode::SUCCESS
}

fn locate(resolver: &CredentialResolver, key: &CredentialKey) -> ExitCode {
    for (priority, source, name) in resolver.locate(key) {
        match name {
            Ok(name) => println!("{priority:>4}  {source}  {name}"),
            Err(error) => println!("{priority:>4}  {source}  (cannot be stored there: {error})"),
        }
    }
    ExitCode::SUCCESS
}

fn show(resolution: &Resolution, args: &Args) -> ExitCode {
    let credential = &resolution.credential;
    if let Some(field) = &args.field {
        let Some(value) = credential.get_value(field) else {
            let fields: Vec<&str> = credential.field_names().collect();
            eprintln!(
                "error[secret_field_missing]: credential {} has no field {field} (it has {})",
                credential.key(),
                fields.join(", ")
            );
            return ExitCode::from(1);
        };
        match (args.reveal, value) {
            (true, serde_json::Value::String(text)) => println!("{text}"),
            (true, other) => println!("{other}"),
            (false, _) => println!("{field}: {MASK}"),
        }
        return ExitCode::SUCCESS;
    }
    if args.json {
        let fields: serde_json::Map<String, serde_json::Value> = credential
            .field_names()
            .map(|name| {
                let value = if args.reveal {
                    credential.get_value(name).cloned().unwrap_or_default()
                } else {
                    MASK.into()
                };
                (name.to_owned(), value)
            })
            .collect();
        let out = serde_json::json!({
            "key": credential.key().to_string(),
            "source": credential.source(),
            "fields": fields,
            "expires_at": credential.expires_at().map(rfc3339),
            "passed_over": resolution.passed_over.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    println!("credential {}", credential.key());
    println!("source: {}", credential.source());
    if let Some(at) = credential.expires_at() {
        println!("expires: {}", rfc3339(at));
    }
    for name in credential.field_names() {
        match (args.reveal, credential.get_value(name)) {
            (true, Some(serde_json::Value::String(text))) => println!("  {name}: {text}"),
            (true, Some(other)) => println!("  {name}: {other}"),
            _ => println!("  {name}: {MASK}"),
        }
    }
    for failure in &resolution.passed_over {
        println!("passed over: {failure}");
    }
    ExitCode::SUCCESS
}

fn rfc3339(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
