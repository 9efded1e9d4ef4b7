//! IAM policy documents: parsed and validated as IAM does when a policy is
//! written, and evaluated as IAM does when a request arrives.
//!
//! Evaluation (IAM User Guide, "Policy evaluation logic"): a statement
//! applies when its action, resource, principal (trust policies) and every
//! condition match; an applying `Deny` wins over everything, else an
//! applying `Allow` allows, else the request is implicitly denied.
//! Supported condition operators are the `String*`, `Arn*`, `Bool` and
//! `Null` families (with `…IfExists`); a document using any other operator
//! is refused when written, so the fake never silently mis-evaluates one.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Which rules a document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Attached to a user or role: `Resource`, no `Principal`.
    Identity,
    /// A role's trust policy: `Principal`, no `Resource`, STS actions only.
    Trust,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

impl Decision {
    /// IAM's spelling in `EvalDecision`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::ExplicitDeny => "explicitDeny",
            Decision::ImplicitDeny => "implicitDeny",
        }
    }
}

/// `Action`/`NotAction`, `Resource`/`NotResource`.
#[derive(Debug, Clone)]
enum Patterns {
    Listed(Vec<String>),
    AllBut(Vec<String>),
}

#[derive(Debug, Clone)]
enum Principals {
    Everyone,
    Aws(Vec<String>),
    /// `Service`, `Federated`, `CanonicalUser`: never an IAM user or role session.
    NotAws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    ArnLike,
    ArnNotLike,
    Bool,
    Null,
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        Some(match name {
            "StringEquals" => Operator::StringEquals,
            "StringNotEquals" => Operator::StringNotEquals,
            "StringEqualsIgnoreCase" => Operator::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Operator::StringNotEqualsIgnoreCase,
            "StringLike" => Operator::StringLike,
            "StringNotLike" => Operator::StringNotLike,
            // IAM: ArnEquals behaves as ArnLike (both take wildcards).
            "ArnEquals" | "ArnLike" => Operator::ArnLike,
            "ArnNotEquals" | "ArnNotLike" => Operator::ArnNotLike,
            "Bool" => Operator::Bool,
            "Null" => Operator::Null,
            _ => return None,
        })
    }

    fn negated(self) -> bool {
        matches!(
            self,
            Operator::StringNotEquals
                | Operator::StringNotEqualsIgnoreCase
                | Operator::StringNotLike
                | Operator::ArnNotLike
        )
    }

    fn value_matches(self, wanted: &str, actual: &str) -> bool {
        match self {
            Operator::StringEquals | Operator::StringNotEquals => wanted == actual,
            Operator::StringEqualsIgnoreCase | Operator::StringNotEqualsIgnoreCase => {
                wanted.eq_ignore_ascii_case(actual)
            }
            Operator::StringLike
            | Operator::StringNotLike
            | Operator::ArnLike
            | Operator::ArnNotLike => glob(wanted, actual, false),
            Operator::Bool => wanted.eq_ignore_ascii_case(actual),
            Operator::Null => false,
        }
    }
}

#[derive(Debug, Clone)]
struct Condition {
    operator: Operator,
    if_exists: bool,
    /// Lowercase: condition keys are case-insensitive.
    key: String,
    values: Vec<String>,
}

impl Condition {
    fn holds(&self, context: &Context) -> bool {
        let actual = context.get(&self.key);
        if self.operator == Operator::Null {
            // {"Null": {"k": "true"}}: true when the key is absent.
            let absent = actual.is_none();
            return self
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case(if absent { "true" } else { "false" }));
        }
        let Some(actual) = actual else {
            return self.if_exists || self.operator.negated();
        };
        let any_match = actual.iter().any(|a| {
            self.values
                .iter()
                .any(|w| self.operator.value_matches(w, a))
        });
        if self.operator.negated() {
            !any_match
        } else {
            any_match
        }
    }
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: Option<String>,
    effect: Effect,
    actions: Patterns,
    resources: Option<Patterns>,
    principals: Option<Principals>,
    conditions: Vec<Condition>,
}

/// A parsed, valid policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// Request context keys (lowercase) and their values, e.g. `sts:externalid`.
pub type Context = BTreeMap<String, Vec<String>>;

/// Who is asking, for trust policies: the account and every ARN that names
/// the caller (a user's ARN; a session's role ARN and session ARN).
pub struct Caller<'a> {
    pub account: &'a str,
    pub arns: &'a [String],
}

/// One authorisation question.
pub struct Ask<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub caller: Option<&'a Caller<'a>>,
    pub context: &'a Context,
}

/// IAM's wildcard match: `*` any run (also empty), `?` one character.
pub fn glob(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if case_insensitive {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (fold(pattern), fold(text));
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn malformed(message: impl Into<String>) -> String {
    message.into()
}

/// A string or a list of strings, as IAM accepts for most elements.
fn strings(value: &Value, element: &str) -> Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(list) if !list.is_empty() => list
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    malformed(format!(
                        "Syntax errors in policy: {element} must hold strings."
                    ))
                })
            })
            .collect(),
        _ => Err(malformed(format!(
            "Syntax errors in policy: {element} must be a string or a non-empty list of strings."
        ))),
    }
}

fn check_action(action: &str, kind: Kind) -> Result<(), String> {
    if action == "*" {
        return Ok(());
    }
    let Some((vendor, name)) = action.split_once(':') else {
        return Err(malformed(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ));
    };
    let vendor_ok = !vendor.is_empty()
        && vendor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !vendor_ok || name.is_empty() {
        return Err(malformed(format!("Vendor {vendor} is not valid")));
    }
    if kind == Kind::Trust && !vendor.eq_ignore_ascii_case("sts") {
        return Err(malformed(
            "AssumeRole policy may only specify STS AssumeRole actions.",
        ));
    }
    Ok(())
}

fn check_resource(resource: &str) -> Result<(), String> {
    if resource == "*" || resource.starts_with("arn:") {
        Ok(())
    } else {
        Err(malformed(format!(
            "Resource {resource} must be in ARN format or \"*\"."
        )))
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An `AWS` principal value IAM accepts: `*`, an account id, or an IAM/STS
/// ARN of an account root, user, role or assumed-role session.
fn check_aws_principal(value: &str) -> Result<(), String> {
    let invalid = || malformed(format!("Invalid principal in policy: \"AWS\":\"{value}\""));
    if value == "*" || is_account_id(value) {
        return Ok(());
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ["arn", partition, service, "", account, resource] = parts[..] else {
        return Err(invalid());
    };
    let known = matches!(partition, "aws" | "aws-cn" | "aws-us-gov") && is_account_id(account);
    let shape = match service {
        "iam" => {
            resource == "root" || resource.starts_with("user/") || resource.starts_with("role/")
        }
        "sts" => resource.starts_with("assumed-role/"),
        _ => false,
    };
    if known && shape {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn parse_principal(value: &Value) -> Result<Principals, String> {
    match value {
        Value::String(s) if s == "*" => Ok(Principals::Everyone),
        Value::Object(map) if !map.is_empty() => {
            let mut aws = Vec::new();
            for (kind, values) in map {
                let values = strings(values, "Principal")?;
                match kind.as_str() {
                    "AWS" => {
                        for v in &values {
                            check_aws_principal(v)?;
                        }
                        aws.extend(values);
                    }
                    "Service" | "Federated" | "CanonicalUser" => {}
                    other => {
                        return Err(malformed(format!(
                            "Invalid principal in policy: unknown principal type {other}"
                        )));
                    }
                }
            }
            if aws.iter().any(|v| v == "*") {
                Ok(Principals::Everyone)
            } else if aws.is_empty() {
                Ok(Principals::NotAws)
            } else {
                Ok(Principals::Aws(aws))
            }
        }
        _ => Err(malformed("Invalid principal in policy")),
    }
}

fn parse_conditions(value: &Value) -> Result<Vec<Condition>, String> {
    let Value::Object(operators) = value else {
        return Err(malformed(
            "Syntax errors in policy: Condition must be an object.",
        ));
    };
    let mut conditions = Vec::new();
    for (name, block) in operators {
        if name.starts_with("ForAnyValue:") || name.starts_with("ForAllValues:") {
            return Err(malformed(format!(
                "This fake does not evaluate the condition operator {name}."
            )));
        }
        let (base, if_exists) = match name.strip_suffix("IfExists") {
            Some(base) if base != "Null" => (base, true),
            _ => (name.as_str(), false),
        };
        let operator = Operator::parse(base).ok_or_else(|| {
            malformed(format!(
                "This fake does not evaluate the condition operator {name}."
            ))
        })?;
        let Value::Object(keys) = block else {
            return Err(malformed(
                "Syntax errors in policy: a condition block must be an object.",
            ));
        };
        for (key, values) in keys {
            let values = match values {
                Value::Bool(b) => vec![b.to_string()],
                other => strings(other, "Condition")?,
            };
            conditions.push(Condition {
                operator,
                if_exists,
                key: key.to_ascii_lowercase(),
                values,
            });
        }
    }
    Ok(conditions)
}

fn parse_statement(raw: &Value, kind: Kind) -> Result<Statement, String> {
    let Value::Object(map) = raw else {
        return Err(malformed(
            "Syntax errors in policy: a statement must be an object.",
        ));
    };
    const KNOWN: [&str; 9] = [
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    ];
    if let Some(unknown) = map.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(malformed(format!(
            "Syntax errors in policy: unknown field {unknown}."
        )));
    }
    let effect = match map.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => {
            return Err(malformed(
                "Invalid effect: the Effect must be Allow or Deny.",
            ));
        }
    };
    let patterns = |yes: &str, no: &str| -> Result<Option<Patterns>, String> {
        match (map.get(yes), map.get(no)) {
            (Some(_), Some(_)) => Err(malformed(format!(
                "Syntax errors in policy: {yes} and {no} cannot both be given."
            ))),
            (Some(v), None) => Ok(Some(Patterns::Listed(strings(v, yes)?))),
            (None, Some(v)) => Ok(Some(Patterns::AllBut(strings(v, no)?))),
            (None, None) => Ok(None),
        }
    };
    let actions = patterns("Action", "NotAction")?
        .ok_or_else(|| malformed("Policy statement must contain actions."))?;
    let (Patterns::Listed(list) | Patterns::AllBut(list)) = &actions;
    for action in list {
        check_action(action, kind)?;
    }
    let resources = patterns("Resource", "NotResource")?;
    if map.contains_key("NotPrincipal") {
        return Err(malformed("This fake does not evaluate NotPrincipal."));
    }
    let principals = match (kind, map.get("Principal")) {
        (Kind::Identity, Some(_)) => {
            return Err(malformed("Policy document should not specify a principal."));
        }
        (Kind::Identity, None) => None,
        (Kind::Trust, Some(p)) => Some(parse_principal(p)?),
        (Kind::Trust, None) => return Err(malformed("Missing required field Principal")),
    };
    match (kind, &resources) {
        (Kind::Identity, None) => {
            return Err(malformed("Policy statement must contain resources."));
        }
        (Kind::Trust, Some(_)) => return Err(malformed("Has prohibited field Resource")),
        (_, Some(Patterns::Listed(list) | Patterns::AllBut(list))) => {
            for resource in list {
                check_resource(resource)?;
            }
        }
        _ => {}
    }
    let conditions = match map.get("Condition") {
        Some(c) => parse_conditions(c)?,
        None => Vec::new(),
    };
    Ok(Statement {
        sid: map.get("Sid").and_then(Value::as_str).map(str::to_owned),
        effect,
        actions,
        resources,
        principals,
        conditions,
    })
}

impl Policy {
    /// Parses and validates `text` as IAM does on `Put…Policy` / `CreateRole`,
    /// with IAM's `MalformedPolicyDocument` message on failure.
    pub fn parse(text: &str, kind: Kind) -> Result<Policy, String> {
        let document: Map<String, Value> = match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            _ => return Err(malformed("Syntax errors in policy.")),
        };
        if let Some(unknown) = document
            .keys()
            .find(|k| !["Version", "Id", "Statement"].contains(&k.as_str()))
        {
            return Err(malformed(format!(
                "Syntax errors in policy: unknown field {unknown}."
            )));
        }
        match document.get("Version").map(Value::as_str) {
            None | Some(Some("2012-10-17" | "2008-10-17")) => {}
            _ => return Err(malformed("The policy failed legacy parsing")),
        }
        let statements = match document.get("Statement") {
            Some(Value::Array(list)) if !list.is_empty() => list.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => return Err(malformed("Syntax errors in policy: Statement is missing.")),
        };
        let statements = statements
            .into_iter()
            .map(|s| parse_statement(s, kind))
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }

    /// Every `AWS` principal ARN the trust policy names (IAM checks that
    /// named users and roles exist).
    pub fn principal_arns(&self) -> Vec<&str> {
        self.statements
            .iter()
            .filter_map(|s| match &s.principals {
                Some(Principals::Aws(list)) => Some(list),
                _ => None,
            })
            .flatten()
            .map(String::as_str)
            .filter(|p| p.starts_with("arn:"))
            .collect()
    }

    /// The statements that apply to `ask`.
    fn applying<'p>(&'p self, ask: &'p Ask<'_>) -> impl Iterator<Item = &'p Statement> + 'p {
        self.statements.iter().filter(move |s| s.applies(ask))
    }

    /// True when a statement naming the caller's own ARN (not only its
    /// account) allows `ask`: such a trust policy needs no identity policy
    /// for a same-account caller.
    pub fn names_caller_explicitly(&self, ask: &Ask<'_>) -> bool {
        let Some(caller) = ask.caller else {
            return false;
        };
        self.applying(ask).any(|s| {
            s.effect == Effect::Allow
                && matches!(&s.principals, Some(Principals::Aws(list))
                    if list.iter().any(|p| caller.arns.contains(p)))
        })
    }
}

impl Statement {
    fn applies(&self, ask: &Ask<'_>) -> bool {
        let actions = match &self.actions {
            Patterns::Listed(list) => list.iter().any(|p| glob(p, ask.action, true)),
            Patterns::AllBut(list) => !list.iter().any(|p| glob(p, ask.action, true)),
        };
        let resources = match &self.resources {
            None => true,
            Some(Patterns::Listed(list)) => list.iter().any(|p| glob(p, ask.resource, false)),
            Some(Patterns::AllBut(list)) => !list.iter().any(|p| glob(p, ask.resource, false)),
        };
        let principal = match (&self.principals, ask.caller) {
            (None, _) => true,
            (Some(Principals::Everyone), _) => true,
            (Some(_), None) | (Some(Principals::NotAws), _) => false,
            (Some(Principals::Aws(list)), Some(caller)) => list.iter().any(|p| {
                p == caller.account
                    || caller.arns.contains(p)
                    || p.strip_suffix(":root")
                        .is_some_and(|root| root.rsplit(':').next() == Some(caller.account))
            }),
        };
        actions && resources && principal && self.conditions.iter().all(|c| c.holds(ask.context))
    }
}

/// The decision of `policies` (each with the id reported as its source) on
/// `ask`, and the statements that decided it.
pub fn decide<'p>(
    policies: impl IntoIterator<Item = (&'p str, &'p Policy)>,
    ask: &Ask<'_>,
) -> (Decision, Vec<(String, Option<String>)>) {
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    for (id, policy) in policies {
        for statement in policy.applying(ask) {
            let source = (id.to_owned(), statement.sid.clone());
            match statement.effect {
                Effect::Allow => allows.push(source),
                Effect::Deny => denies.push(source),
            }
        }
    }
    if !denies.is_empty() {
        (Decision::ExplicitDeny, denies)
    } else if !allows.is_empty() {
        (Decision::Allowed, allows)
    } else {
        (Decision::ImplicitDeny, Vec::new())
    }
}

/// Length as IAM counts it against its quotas: whitespace is not counted.
pub fn quota_length(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask<'a>(action: &'a str, resource: &'a str, context: &'a Context) -> Ask<'a> {
        Ask {
            action,
            resource,
            caller: None,
            context,
        }
    }

    #[test]
    fn identity_policies_allow_deny_and_default_to_implicit_deny() {
        let allow = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","ec2:DescribeRegions"],"Resource":"*"}]}"#,
            Kind::Identity,
        )
        .unwrap();
        let deny = Policy::parse(
            r#"{"Statement":{"Sid":"NoRoles","Effect":"Deny","Action":"iam:getrole","Resource":"arn:aws:iam::*:role/secret-*"}}"#,
            Kind::Identity,
        )
        .unwrap();
        let none = Context::new();
        let both = [("allow", &allow), ("deny", &deny)];
        let decide_on = |action, resource| decide(both, &ask(action, resource, &none)).0;
        assert_eq!(
            decide_on("iam:GetRole", "arn:aws:iam::1:role/x"),
            Decision::Allowed
        );
        assert_eq!(
            decide_on("iam:GetRole", "arn:aws:iam::111122223333:role/secret-x"),
            Decision::ExplicitDeny
        );
        assert_eq!(
            decide_on("iam:SimulatePrincipalPolicy", "*"),
            Decision::ImplicitDeny
        );
        assert_eq!(decide_on("EC2:describeregions", "*"), Decision::Allowed);
    }

    #[test]
    fn trust_policies_need_the_principal_and_the_external_id() {
        let trust = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"abc"}}}]}"#,
            Kind::Trust,
        )
        .unwrap();
        let arns = ["arn:aws:iam::111122223333:user/platform".to_owned()];
        let partner = Caller {
            account: "111122223333",
            arns: &arns,
        };
        let stranger = Caller {
            account: "999988887777",
            arns: &[],
        };
        let with = |id: &str| Context::from([("sts:externalid".to_owned(), vec![id.to_owned()])]);
        let run = |caller: &Caller, context: &Context| {
            decide(
                [("trust", &trust)],
                &Ask {
                    action: "sts:AssumeRole",
                    resource: "arn:aws:iam::444455556666:role/r",
                    caller: Some(caller),
                    context,
                },
            )
            .0
        };
        assert_eq!(run(&partner, &with("abc")), Decision::Allowed);
        assert_eq!(run(&partner, &with("abd")), Decision::ImplicitDeny);
        // A missing key never satisfies StringEquals (moto gets this wrong).
        assert_eq!(run(&partner, &Context::new()), Decision::ImplicitDeny);
        assert_eq!(run(&stranger, &with("abc")), Decision::ImplicitDeny);
    }

    #[test]
    fn documents_are_validated_as_iam_does() {
        for (text, kind, says) in [
            ("not json", Kind::Identity, "Syntax errors"),
            (
                r#"{"Statement":[]}"#,
                Kind::Identity,
                "Statement is missing",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"GetRole","Resource":"*"}}"#,
                Kind::Identity,
                "prefaced by a vendor",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"iam:GetRole"}}"#,
                Kind::Identity,
                "must contain resources",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"iam:GetRole","Resource":"role/x"}}"#,
                Kind::Identity,
                "ARN format",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"iam:GetRole","Resource":"*"}}"#,
                Kind::Identity,
                "should not specify a principal",
            ),
            (
                r#"{"Statement":{"Effect":"Permit","Action":"iam:GetRole","Resource":"*"}}"#,
                Kind::Identity,
                "Invalid effect",
            ),
            (
                r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}}"#,
                Kind::Identity,
                "legacy parsing",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
                Kind::Trust,
                "Missing required field Principal",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Resource":"*"}}"#,
                Kind::Trust,
                "prohibited field Resource",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"alphaswarm"},"Action":"sts:AssumeRole"}}"#,
                Kind::Trust,
                "Invalid principal",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"iam:GetRole"}}"#,
                Kind::Trust,
                "STS AssumeRole actions",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Condition":{"NumericLessThan":{"a":"1"}}}}"#,
                Kind::Trust,
                "does not evaluate",
            ),
        ] {
            let err = Policy::parse(text, kind).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn condition_operators_follow_iam_on_absent_keys() {
        let policy = |condition: &str| {
            Policy::parse(
                &format!(r#"{{"Statement":{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}}}"#),
                Kind::Identity,
            )
            .unwrap()
        };
        let empty = Context::new();
        let set = Context::from([(
            "aws:principaltype".to_owned(),
            vec!["AssumedRole".to_owned()],
        )]);
        let allowed = |p: &Policy, c: &Context| {
            decide([("p", p)], &ask("s3:GetObject", "*", c)).0 == Decision::Allowed
        };
        let not_equals = policy(r#"{"StringNotEquals":{"aws:PrincipalType":"User"}}"#);
        assert!(allowed(&not_equals, &empty) && allowed(&not_equals, &set));
        let if_exists = policy(r#"{"StringEqualsIfExists":{"aws:PrincipalType":"User"}}"#);
        assert!(allowed(&if_exists, &empty) && !allowed(&if_exists, &set));
        let null = policy(r#"{"Null":{"aws:PrincipalType":"true"}}"#);
        assert!(allowed(&null, &empty) && !allowed(&null, &set));
        let like = policy(r#"{"StringLike":{"aws:PrincipalType":"Assumed*"}}"#);
        assert!(!allowed(&like, &empty) && allowed(&like, &set));
    }

    #[test]
    fn globs_match_as_iam_does() {
        assert!(glob("iam:Get*", "iam:GetRole", false));
        assert!(glob("IAM:get?ole", "iam:GetRole", true));
        assert!(!glob("IAM:get?ole", "iam:GetRole", false));
        assert!(glob("*", "", false));
        assert!(!glob("iam:GetRol", "iam:GetRole", true));
        assert!(glob("a*b*c", "aXXbYYc", false));
    }
}
