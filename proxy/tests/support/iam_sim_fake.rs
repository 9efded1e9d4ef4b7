//! A loopback stand-in for `iam:SimulatePrincipalPolicy`, which moto lacks.
//!
//! It speaks the real IAM Query/XML shape and checks what IAM checks before
//! answering: the request is SigV4-signed for `iam` by a known access key
//! (the signature is recomputed with `aws-sigv4` from the signed headers and
//! must match byte for byte), the session token matches, and the call names
//! `PolicySourceArn` and `ActionNames.member.N`. Decisions come from an
//! allow-list (`allowed` when listed, `implicitDeny` otherwise) or, with
//! [`IamSimFake::start_with_role_policies`], from the role's own policies as
//! a moto server holds them (the end-to-end run: what the operator attached
//! is what is simulated).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Keys the fake accepts: access key id → (secret, session token), plus,
/// when set, the temporary keys a moto server has issued so far (read from
/// its `/moto-api/data.json` model dump at each call), so credentials the
/// proxy assumed inside a request are accepted like real IAM would.
#[derive(Clone, Default)]
pub struct KnownKeys {
    keys: HashMap<String, (String, Option<String>)>,
    moto_url: Option<String>,
}

impl KnownKeys {
    pub fn with(mut self, access_key_id: &str, secret: &str, session_token: Option<&str>) -> Self {
        self.keys.insert(
            access_key_id.to_owned(),
            (secret.to_owned(), session_token.map(str::to_owned)),
        );
        self
    }

    /// Also accept every AssumeRole credential the moto server at `url` issued.
    pub fn issued_by_moto(mut self, url: &str) -> Self {
        self.moto_url = Some(url.to_owned());
        self
    }

    /// These keys plus moto's assumed-role keys as of now.
    async fn current(&self) -> KnownKeys {
        let mut current = self.clone();
        let Some(url) = &self.moto_url else {
            return current;
        };
        let Ok(response) = reqwest::get(format!("{url}/moto-api/data.json")).await else {
            return current;
        };
        let data: serde_json::Value = response.json().await.unwrap_or_default();
        for role in data["sts"]["AssumedRole"].as_array().into_iter().flatten() {
            if let (Some(id), Some(secret)) = (
                role["access_key_id"].as_str(),
                role["secret_access_key"].as_str(),
            ) {
                current = current.with(id, secret, role["session_token"].as_str());
            }
        }
        current
    }
}

pub struct FakeConfig {
    pub keys: KnownKeys,
    /// The only `PolicySourceArn` that exists; others are `NoSuchEntity`.
    pub policy_source_arn: String,
    pub allowed: BTreeSet<String>,
    /// Results per page; smaller than the action count forces `IsTruncated`.
    pub page_size: usize,
}

/// Decide from the policies of the roles in a moto server: the Allow
/// statements of the role's inline policies and of its attached managed
/// policies (`managed`: policy ARN → document, since moto's model dump
/// lacks managed policy documents). Deny and NotAction statements are not
/// evaluated: nothing the wizard renders uses them.
pub struct RolePolicies {
    pub moto_url: String,
    pub managed: HashMap<String, String>,
}

struct Shared {
    config: FakeConfig,
    role_policies: Option<RolePolicies>,
    /// Every call seen, as (status, action count), for assertions.
    calls: Mutex<Vec<(u16, usize)>>,
}

pub struct IamSimFake {
    pub url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl IamSimFake {
    pub async fn start(config: FakeConfig) -> Self {
        Self::serve(config, None).await
    }

    /// Any role in the moto server is a `PolicySourceArn` (the config's
    /// `policy_source_arn` and `allowed` are unused); its policies decide.
    pub async fn start_with_role_policies(config: FakeConfig, policies: RolePolicies) -> Self {
        Self::serve(config, Some(policies)).await
    }

    async fn serve(config: FakeConfig, role_policies: Option<RolePolicies>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            config,
            role_policies,
            calls: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route("/", axum::routing::post(handle))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake IAM serves");
        });
        IamSimFake { url, shared, task }
    }

    /// (HTTP status, number of ActionNames) of every call so far.
    pub fn calls(&self) -> Vec<(u16, usize)> {
        self.shared.calls.lock().unwrap().clone()
    }
}

impl Drop for IamSimFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let keys = shared.config.keys.current().await;
    let grants = match &shared.role_policies {
        Some(policies) => Some(role_grants(policies).await),
        None => None,
    };
    let (status, actions, response) =
        match answer(&shared.config, &keys, grants.as_ref(), &headers, &body) {
            Ok((count, xml)) => (StatusCode::OK, count, xml),
            Err((status, code)) => (status, 0, error_xml(code)),
        };
    shared
        .calls
        .lock()
        .unwrap()
        .push((status.as_u16(), actions));
    (status, [("content-type", "text/xml")], response).into_response()
}

type Refusal = (StatusCode, &'static str);

/// Role ARN → the action patterns its policies allow, from moto's model dump.
async fn role_grants(policies: &RolePolicies) -> HashMap<String, Vec<String>> {
    let Ok(response) = reqwest::get(format!("{}/moto-api/data.json", policies.moto_url)).await
    else {
        return HashMap::new();
    };
    let data: serde_json::Value = response.json().await.unwrap_or_default();
    let mut grants = HashMap::new();
    for role in data["iam"]["Role"].as_array().into_iter().flatten() {
        let Some(arn) = role["arn"].as_str() else {
            continue;
        };
        let inline = role["policies"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
            .filter_map(|doc| doc.as_str().map(str::to_owned));
        let attached = role["attached_managed_policies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| policies.managed.get(p["PolicyArn"].as_str()?).cloned());
        let patterns = inline
            .chain(attached)
            .flat_map(|doc| allowed_actions(&doc))
            .collect();
        grants.insert(arn.to_owned(), patterns);
    }
    grants
}

/// The `Action` entries of a policy document's Allow statements.
fn allowed_actions(document: &str) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(document).unwrap_or_default();
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        one => vec![one.clone()],
    };
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            serde_json::Value::String(action) => vec![action.clone()],
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// IAM's action glob: case-insensitive, `*` any run, `?` one character.
fn action_glob_matches(pattern: &str, action: &str) -> bool {
    let (p, a): (Vec<char>, Vec<char>) = (
        pattern.to_ascii_lowercase().chars().collect(),
        action.to_ascii_lowercase().chars().collect(),
    );
    // Classic wildcard matching with backtracking to the last `*`.
    let (mut pi, mut ai, mut star, mut mark) = (0, 0, None, 0);
    while ai < a.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == a[ai]) {
            pi += 1;
            ai += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ai;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ai = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn answer(
    config: &FakeConfig,
    keys: &KnownKeys,
    role_grants: Option<&HashMap<String, Vec<String>>>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(usize, String), Refusal> {
    verify_signature(keys, headers, body)?;
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let param = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if param("Action") != Some("SimulatePrincipalPolicy") || param("Version") != Some("2010-05-08")
    {
        return Err((StatusCode::BAD_REQUEST, "InvalidAction"));
    }
    let source = param("PolicySourceArn").ok_or((StatusCode::BAD_REQUEST, "MissingParameter"))?;
    // ActionNames.member.1, .2, ... without gaps, as the Query protocol lists them.
    let actions: Vec<&str> = (1..)
        .map_while(|i| param(&format!("ActionNames.member.{i}")))
        .collect();
    if actions.is_empty() {
        return Err((StatusCode::BAD_REQUEST, "MissingParameter"));
    }
    let is_allowed: Box<dyn Fn(&str) -> bool> = match role_grants {
        Some(grants) => {
            let patterns = grants
                .get(source)
                .ok_or((StatusCode::NOT_FOUND, "NoSuchEntity"))?;
            Box::new(move |action| patterns.iter().any(|p| action_glob_matches(p, action)))
        }
        None if source == config.policy_source_arn => {
            Box::new(|action| config.allowed.contains(action))
        }
        None => return Err((StatusCode::NOT_FOUND, "NoSuchEntity")),
    };
    let start: usize = match param("Marker") {
        Some(marker) => marker
            .parse()
            .map_err(|_| (StatusCode::BAD_REQUEST, "InvalidInput"))?,
        None => 0,
    };
    let end = (start + config.page_size.max(1)).min(actions.len());
    let members: String = actions
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|action| {
            let decision = if is_allowed(action) { "allowed" } else { "implicitDeny" };
            format!(
                "<member><EvalActionName>{action}</EvalActionName><EvalResourceName>*</EvalResourceName>\
                 <EvalDecision>{decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>"
            )
        })
        .collect();
    let truncated = end < actions.len();
    let marker = if truncated {
        format!("<Marker>{end}</Marker>")
    } else {
        String::new()
    };
    Ok((
        actions.len(),
        format!(
            "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <SimulatePrincipalPolicyResult><IsTruncated>{truncated}</IsTruncated>{marker}\
             <EvaluationResults>{members}</EvaluationResults></SimulatePrincipalPolicyResult>\
             <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>\
             </SimulatePrincipalPolicyResponse>"
        ),
    ))
}

fn error_xml(code: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{code}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
    )
}

/// Recomputes the SigV4 signature from the request as received.
fn verify_signature(keys: &KnownKeys, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let denied = (StatusCode::FORBIDDEN, "IncompleteSignature");
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let authorization =
        header("authorization").ok_or((StatusCode::FORBIDDEN, "MissingAuthenticationToken"))?;
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or(denied)?;
    let mut credential = None;
    let mut signed_headers = None;
    for part in rest.split(", ") {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        }
    }
    let scope: Vec<&str> = credential.ok_or(denied)?.split('/').collect();
    let [access_key, _date, region, service, "aws4_request"] = scope[..] else {
        return Err(denied);
    };
    if service != "iam" {
        return Err(denied);
    }
    let (secret, token) = keys
        .keys
        .get(access_key)
        .ok_or((StatusCode::FORBIDDEN, "InvalidClientTokenId"))?;
    if header("x-amz-security-token") != token.as_deref() {
        return Err((StatusCode::FORBIDDEN, "InvalidClientTokenId"));
    }
    let time = header("x-amz-date")
        .and_then(parse_amz_date)
        .ok_or(denied)?;
    let host = header("host").ok_or(denied)?;

    // The signer adds x-amz-date and the token itself; every other signed
    // header is passed through with the value received.
    let mut to_sign = Vec::new();
    for name in signed_headers.ok_or(denied)?.split(';') {
        if matches!(name, "x-amz-date" | "x-amz-security-token") {
            continue;
        }
        to_sign.push((name, header(name).ok_or(denied)?));
    }
    let identity: Identity =
        Credentials::new(access_key, secret, token.clone(), None, "iam-sim-fake").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| denied)?
        .into();
    let uri = format!("http://{host}/");
    let signable =
        SignableRequest::new("POST", uri, to_sign.into_iter(), SignableBody::Bytes(body))
            .map_err(|_| denied)?;
    let (instructions, _) = sign(signable, &params).map_err(|_| denied)?.into_parts();
    let expected = instructions
        .headers()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.to_owned());
    if expected.as_deref() == Some(authorization) {
        Ok(())
    } else {
        Err((StatusCode::FORBIDDEN, "SignatureDoesNotMatch"))
    }
}

/// `20260102T030405Z` → a time (UTC), via the days-from-civil algorithm.
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| value.get(range)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

#[test]
fn action_globs_match_like_iam() {
    assert!(action_glob_matches("iam:Get*", "iam:GetRole"));
    assert!(action_glob_matches("IAM:getrole", "iam:GetRole"));
    assert!(action_glob_matches("*", "ec2:DescribeRegions"));
    assert!(action_glob_matches(
        "ec2:Describe?egions",
        "ec2:DescribeRegions"
    ));
    assert!(!action_glob_matches("iam:GetRol", "iam:GetRole"));
    assert!(!action_glob_matches("iam:List*", "iam:GetRole"));
    let doc = r#"{"Statement":[{"Effect":"Allow","Action":["iam:Get*"]},{"Effect":"Deny","Action":"*"},{"Effect":"Allow","Action":"sts:GetCallerIdentity"}]}"#;
    assert_eq!(allowed_actions(doc), ["iam:Get*", "sts:GetCallerIdentity"]);
}

#[test]
fn amz_dates_parse_to_unix_time() {
    let t = parse_amz_date("20150830T123600Z").unwrap();
    assert_eq!(
        t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
        1_440_938_160
    );
    assert!(parse_amz_date("2015-08-30T12:36:00Z").is_none());
}
