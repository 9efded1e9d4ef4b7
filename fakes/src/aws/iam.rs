//! IAM: the role calls a customer's administrator runs from the rendered
//! commands, GetRole, and SimulatePrincipalPolicy. Every call is authorised
//! against the caller's own policies first, as IAM does.

use super::policy::{self, Ask, Context, Decision};
use super::query::{Params, Service, element, success, timestamp};
use super::state::{Fault, Model, Principal, Role, parse_role_arn};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// IAM returns policy documents URL-encoded (RFC 3986).
const DOCUMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encoded(document: &str) -> String {
    utf8_percent_encode(document, DOCUMENT).to_string()
}

fn role_xml(role: &Role) -> String {
    let description = role
        .description
        .as_deref()
        .map(|d| element("Description", d))
        .unwrap_or_default();
    format!(
        "<Role>{}{}{}{}{}{}{}{description}{}</Role>",
        element("Path", &role.path),
        element("AssumeRolePolicyDocument", &encoded(&role.trust.text)),
        element("MaxSessionDuration", &role.max_session_seconds.to_string()),
        element("RoleId", &role.id),
        element("RoleName", &role.name),
        element("Arn", &role.arn),
        element("CreateDate", &timestamp(role.created)),
        "<RoleLastUsed/>",
    )
}

fn authorize(model: &Model, caller: &Principal, action: &str, resource: &str) -> Result<(), Fault> {
    let decision =
        model.identity_decision(caller, &format!("iam:{action}"), resource, &Context::new());
    if decision == Decision::Allowed {
        return Ok(());
    }
    let why = if decision == Decision::ExplicitDeny {
        "with an explicit deny in an identity-based policy"
    } else {
        "because no identity-based policy allows the action"
    };
    Err(Fault::new(
        403,
        "AccessDenied",
        format!(
            "User: {} is not authorized to perform: iam:{action} on resource: {resource} {why}",
            caller.arn
        ),
    ))
}

pub(crate) fn handle(
    model: &mut Model,
    caller: &Principal,
    action: &str,
    params: &Params,
) -> Result<String, Fault> {
    let iam = Service::Iam;
    let account = caller.account.clone();
    let role_name = || params.required(iam, "RoleName").map(str::to_owned);
    // The ARN IAM authorises a role call against (with the role's real path
    // when it exists, else the root path).
    let role_resource = |model: &Model, name: &str| {
        model.role(&account, name).map_or_else(
            || {
                format!(
                    "arn:{}:iam::{account}:role/{name}",
                    model.partition.as_str()
                )
            },
            |r| r.arn.clone(),
        )
    };
    let no_role =
        |name: &str| Fault::no_such_entity(format!("The role with name {name} cannot be found."));
    match action {
        "CreateRole" => {
            let name = role_name()?;
            let path = params.get("Path").unwrap_or("/").to_owned();
            let trust = params.required(iam, "AssumeRolePolicyDocument")?;
            let resource = format!(
                "arn:{}:iam::{account}:role{path}{name}",
                model.partition.as_str()
            );
            authorize(model, caller, action, &resource)?;
            let role =
                model.create_role(&account, &name, &path, trust, params.get("Description"))?;
            Ok(success(iam, action, Some(&role_xml(&role))))
        }
        "GetRole" => {
            let name = role_name()?;
            authorize(model, caller, action, &role_resource(model, &name))?;
            let role = model.role(&account, &name).ok_or_else(|| no_role(&name))?;
            Ok(success(iam, action, Some(&role_xml(role))))
        }
        "DeleteRole" => {
            let name = role_name()?;
            authorize(model, caller, action, &role_resource(model, &name))?;
            model.delete_role(&account, &name)?;
            Ok(success(iam, action, None))
        }
        "UpdateAssumeRolePolicy" => {
            let name = role_name()?;
            let text = params.required(iam, "PolicyDocument")?;
            authorize(model, caller, action, &role_resource(model, &name))?;
            model.update_trust(&account, &name, text)?;
            Ok(success(iam, action, None))
        }
        "PutRolePolicy" => {
            let name = role_name()?;
            let policy_name = params.required(iam, "PolicyName")?;
            let text = params.required(iam, "PolicyDocument")?;
            authorize(model, caller, action, &role_resource(model, &name))?;
            model.put_role_policy(&account, &name, policy_name, text)?;
            Ok(success(iam, action, None))
        }
        "GetRolePolicy" => {
            let name = role_name()?;
            let policy_name = params.required(iam, "PolicyName")?;
            authorize(model, caller, action, &role_resource(model, &name))?;
            let role = model.role(&account, &name).ok_or_else(|| no_role(&name))?;
            let document = role.inline.get(policy_name).ok_or_else(|| {
                Fault::no_such_entity(format!(
                    "The role policy with name {policy_name} cannot be found."
                ))
            })?;
            Ok(success(
                iam,
                action,
                Some(&format!(
                    "{}{}{}",
                    element("RoleName", &name),
                    element("PolicyName", policy_name),
                    element("PolicyDocument", &encoded(&document.text))
                )),
            ))
        }
        "DeleteRolePolicy" => {
            let name = role_name()?;
            let policy_name = params.required(iam, "PolicyName")?;
            authorize(model, caller, action, &role_resource(model, &name))?;
            model.delete_role_policy(&account, &name, policy_name)?;
            Ok(success(iam, action, None))
        }
        "ListRolePolicies" => {
            let name = role_name()?;
            authorize(model, caller, action, &role_resource(model, &name))?;
            let role = model.role(&account, &name).ok_or_else(|| no_role(&name))?;
            let names: String = role.inline.keys().map(|n| element("member", n)).collect();
            Ok(success(
                iam,
                action,
                Some(&format!(
                    "<PolicyNames>{names}</PolicyNames><IsTruncated>false</IsTruncated>"
                )),
            ))
        }
        "AttachRolePolicy" | "DetachRolePolicy" => {
            let name = role_name()?;
            let policy_arn = params.required(iam, "PolicyArn")?;
            authorize(model, caller, action, &role_resource(model, &name))?;
            if action == "AttachRolePolicy" {
                model.attach_role_policy(&account, &name, policy_arn)?;
            } else {
                model.detach_role_policy(&account, &name, policy_arn)?;
            }
            Ok(success(iam, action, None))
        }
        "ListAttachedRolePolicies" => {
            let name = role_name()?;
            authorize(model, caller, action, &role_resource(model, &name))?;
            let role = model.role(&account, &name).ok_or_else(|| no_role(&name))?;
            let members: String = role
                .attached
                .iter()
                .map(|arn| {
                    let policy_name = arn.rsplit('/').next().unwrap_or(arn);
                    format!(
                        "<member>{}{}</member>",
                        element("PolicyName", policy_name),
                        element("PolicyArn", arn)
                    )
                })
                .collect();
            Ok(success(
                iam,
                action,
                Some(&format!(
                    "<AttachedPolicies>{members}</AttachedPolicies><IsTruncated>false</IsTruncated>"
                )),
            ))
        }
        "SimulatePrincipalPolicy" => simulate(model, caller, params),
        other => Err(Fault::new(
            400,
            "InvalidAction",
            format!("Could not find operation {other} for version 2010-05-08"),
        )),
    }
}

/// IAM's simulator: the decision of the source principal's own policies
/// for each action (and resource, `*` when none is named), paged.
fn simulate(model: &Model, caller: &Principal, params: &Params) -> Result<String, Fault> {
    let iam = Service::Iam;
    let action = "SimulatePrincipalPolicy";
    let source = params.required(iam, "PolicySourceArn")?.to_owned();
    authorize(model, caller, action, &source)?;
    let actions = params.members("ActionNames");
    if actions.is_empty() {
        return Err(iam.missing("ActionNames"));
    }
    let mut resources = params.members("ResourceArns");
    if resources.is_empty() {
        resources.push("*".to_owned());
    }
    let holder = match parse_role_arn(&source) {
        Some((account, name)) if model.role_by_arn(&source).is_some() => (account, name, true),
        _ => {
            let user = source.rsplit_once(":user/").and_then(|(prefix, rest)| {
                let account = prefix.rsplit(':').next()?;
                let name = rest.rsplit('/').next()?;
                let user = model.accounts.get(account)?.users.get(name)?;
                (user.arn == source).then(|| (account.to_owned(), name.to_owned(), false))
            });
            user.ok_or_else(|| {
                Fault::no_such_entity(format!(
                    "The policy source {source} does not exist or is not a user or role."
                ))
            })?
        }
    };
    if holder.0 != caller.account {
        return Err(Fault::new(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: iam:{action} on resource: {source}",
                caller.arn
            ),
        ));
    }
    let policies = model.policies_of(&(holder.0, holder.1), holder.2);
    let context = Context::new();
    let mut results = Vec::new();
    for action_name in &actions {
        for resource in &resources {
            let ask = Ask {
                action: action_name,
                resource,
                caller: None,
                context: &context,
            };
            let (decision, matched) =
                policy::decide(policies.iter().map(|(id, _, p)| (id.as_str(), *p)), &ask);
            let matched: String = matched
                .iter()
                .map(|(id, _)| {
                    let kind = policies
                        .iter()
                        .find(|(pid, _, _)| pid == id)
                        .map_or("none", |(_, kind, _)| *kind);
                    format!(
                        "<member>{}{}</member>",
                        element("SourcePolicyId", id),
                        element("SourcePolicyType", kind)
                    )
                })
                .collect();
            results.push(format!(
                "<member>{}{}{}<MatchedStatements>{matched}</MatchedStatements><MissingContextValues/></member>",
                element("EvalActionName", action_name),
                element("EvalResourceName", resource),
                element("EvalDecision", decision.as_str()),
            ));
        }
    }
    let max_items: usize = match params.get("MaxItems") {
        None => model.max_items,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| Fault::validation("MaxItems must be between 1 and 1000"))?,
    }
    .min(model.max_items);
    let start: usize = match params.get("Marker") {
        None => 0,
        Some(marker) => marker
            .strip_prefix("page-")
            .and_then(|n| n.parse().ok())
            .filter(|n| *n < results.len())
            .ok_or_else(|| Fault::new(400, "InvalidInput", "Invalid Marker"))?,
    };
    let end = (start + max_items).min(results.len());
    let truncated = end < results.len();
    let marker = if truncated {
        element("Marker", &format!("page-{end}"))
    } else {
        String::new()
    };
    Ok(success(
        iam,
        action,
        Some(&format!(
            "<EvaluationResults>{}</EvaluationResults><IsTruncated>{truncated}</IsTruncated>{marker}",
            results[start..end].concat()
        )),
    ))
}
