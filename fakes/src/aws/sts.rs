//! STS: AssumeRole (trust policy, ExternalId, the caller's own permission)
//! and GetCallerIdentity.

use super::policy::{self, Ask, Caller, Context, Decision};
use super::query::{Params, Service, element, success, timestamp};
use super::state::{
    Fault, Key, Model, Owner, Principal, new_key_id, new_secret, parse_role_arn, random,
};
use time::OffsetDateTime;

const SESSION_TOKEN_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn access_denied(caller: &Principal, action: &str, resource: &str) -> Fault {
    Fault::new(
        403,
        "AccessDenied",
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource}",
            caller.arn
        ),
    )
}

/// `[\w+=,.@-]`, the character class of session names and external ids.
fn word_chars(value: &str, extra: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) || extra.contains(c))
}

fn validation(field: &str, value_shape: &str) -> Fault {
    Fault::validation(format!(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: {value_shape}"
    ))
}

/// The request context a trust policy's conditions read.
fn context(caller: &Principal, external_id: Option<&str>, region: &str) -> Context {
    let mut context = Context::new();
    if let Some(id) = external_id {
        context.insert("sts:externalid".to_owned(), vec![id.to_owned()]);
    }
    context.insert("aws:principalarn".to_owned(), vec![caller.names[0].clone()]);
    context.insert(
        "aws:principalaccount".to_owned(),
        vec![caller.account.clone()],
    );
    context.insert(
        "aws:principaltype".to_owned(),
        vec![
            if caller.is_session {
                "AssumedRole"
            } else {
                "User"
            }
            .to_owned(),
        ],
    );
    context.insert("aws:requestedregion".to_owned(), vec![region.to_owned()]);
    context
}

pub(crate) fn handle(
    model: &mut Model,
    caller: &Principal,
    region: &str,
    action: &str,
    params: &Params,
) -> Result<String, Fault> {
    let sts = Service::Sts;
    match action {
        "GetCallerIdentity" => {
            // No permission is needed, and none can deny it.
            let account = model
                .misreported_account
                .clone()
                .unwrap_or_else(|| caller.account.clone());
            Ok(success(
                sts,
                action,
                Some(&format!(
                    "{}{}{}",
                    element("Arn", &caller.arn),
                    element("UserId", &caller.user_id),
                    element("Account", &account)
                )),
            ))
        }
        "AssumeRole" => assume_role(model, caller, region, params),
        other => Err(Fault::new(
            400,
            "InvalidAction",
            format!("Could not find operation {other} for version 2011-06-15"),
        )),
    }
}

fn assume_role(
    model: &mut Model,
    caller: &Principal,
    region: &str,
    params: &Params,
) -> Result<String, Fault> {
    let sts = Service::Sts;
    let role_arn = params.required(sts, "RoleArn")?.to_owned();
    let session_name = params.required(sts, "RoleSessionName")?.to_owned();
    if !(2..=64).contains(&session_name.len()) || !word_chars(&session_name, "") {
        return Err(validation(
            "roleSessionName",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length 2-64",
        ));
    }
    let external_id = params.get("ExternalId");
    if let Some(id) = external_id
        && (!(2..=1224).contains(&id.len()) || !word_chars(id, ":/"))
    {
        return Err(validation(
            "externalId",
            "Member must satisfy regular expression pattern: [\\w+=,./@:-]* and have length 2-1224",
        ));
    }
    if params.get("Policy").is_some() || params.get("PolicyArns.member.1").is_some() {
        return Err(Fault::validation(
            "This fake does not support session policies on AssumeRole.",
        ));
    }
    let duration: i64 = match params.get("DurationSeconds") {
        None => 3600,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|d| (900..=43_200).contains(d))
            .ok_or_else(|| {
                validation(
                    "durationSeconds",
                    "Member must have value between 900 and 43200",
                )
            })?,
    };
    let Some((account, role_name)) = parse_role_arn(&role_arn) else {
        return Err(Fault::validation(format!("{role_arn} is invalid")));
    };
    if model
        .accounts
        .get(&account)
        .is_some_and(|a| a.sts_deactivated.contains(region))
    {
        return Err(Fault::new(
            403,
            "RegionDisabledException",
            format!(
                "STS is not activated in this region for account:{account}. Your account administrator can activate STS in this region using the IAM Console."
            ),
        ));
    }
    let denied = || access_denied(caller, "sts:AssumeRole", &role_arn);
    // A role created seconds ago is not yet visible to STS.
    if let Some(left) = model.settling.get_mut(&role_arn)
        && *left > 0
    {
        *left -= 1;
        return Err(denied());
    }
    // STS cannot tell a missing role from one that does not trust the caller.
    let Some(role) = model.role_by_arn(&role_arn).cloned() else {
        return Err(denied());
    };
    let context = context(caller, external_id, region);
    let trust_caller = Caller {
        account: &caller.account,
        arns: &caller.names,
    };
    let ask = Ask {
        action: "sts:AssumeRole",
        resource: &role_arn,
        caller: Some(&trust_caller),
        context: &context,
    };
    let trusted = policy::decide([("trust", &role.trust.policy)], &ask).0 == Decision::Allowed;
    // Cross-account, the caller's own policies must allow it too; in the
    // same account a trust policy naming the caller itself is enough.
    let identity = model.identity_decision(caller, "sts:AssumeRole", &role_arn, &context);
    let same_account_named =
        caller.account == account && role.trust.policy.names_caller_explicitly(&ask);
    let allowed = trusted
        && identity != Decision::ExplicitDeny
        && (identity == Decision::Allowed || same_account_named);
    if !allowed {
        return Err(denied());
    }
    if duration > i64::from(role.max_session_seconds) {
        return Err(Fault::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let access_key_id = new_key_id("ASIA");
    let secret = new_secret();
    let token = random("IQoJb3JpZ2luX2Vj", SESSION_TOKEN_ALPHABET, 300);
    let expires = OffsetDateTime::now_utc() + time::Duration::seconds(duration);
    model.keys.insert(
        access_key_id.clone(),
        Key {
            secret: secret.clone(),
            session_token: Some(token.clone()),
            owner: Owner::Session {
                account: account.clone(),
                role_name: role_name.clone(),
                role_arn: role_arn.clone(),
                role_id: role.id.clone(),
                session_name: session_name.clone(),
            },
            expires: Some(expires),
            mirrored: false,
        },
    );
    let assumed_arn = format!(
        "arn:{}:sts::{account}:assumed-role/{role_name}/{session_name}",
        model.partition.as_str()
    );
    Ok(success(
        sts,
        "AssumeRole",
        Some(&format!(
            "<AssumedRoleUser>{}{}</AssumedRoleUser><Credentials>{}{}{}{}</Credentials>",
            element("AssumedRoleId", &format!("{}:{session_name}", role.id)),
            element("Arn", &assumed_arn),
            element("AccessKeyId", &access_key_id),
            element("SecretAccessKey", &secret),
            element("SessionToken", &token),
            element("Expiration", &timestamp(expires)),
        )),
    ))
}
