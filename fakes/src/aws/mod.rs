//! A loopback AWS: STS (AssumeRole, GetCallerIdentity), IAM (the role calls
//! the wizard's rendered commands make, GetRole, SimulatePrincipalPolicy)
//! and EC2 (DescribeRegions), speaking the real Query/XML wire format.
//!
//! It refuses what AWS refuses:
//! - every request must be SigV4-signed by a key it issued, for the service
//!   the action belongs to (told apart by the API `Version`, not by the
//!   signature) and a region that service accepts (IAM: the partition's IAM
//!   region; STS and EC2: a region of the partition), within 15 minutes,
//!   with the session token of a temporary key; the signature is checked by
//!   this crate's own SigV4 code ([`sigv4`]), never by the client's signer;
//! - every call is authorised against the caller's effective policies
//!   (inline and attached managed ones), `iam:SimulatePrincipalPolicy` and
//!   `ec2:DescribeRegions` included;
//! - AssumeRole needs the role's trust policy to allow the caller (Principal,
//!   conditions such as `sts:ExternalId` — a missing external id does not
//!   satisfy `StringEquals`) and, across accounts, the caller's own policy;
//!   a role that does not exist is AccessDenied, as STS says.
//!
//! Its state is built only through IAM's own operations (over HTTP, e.g. the
//! awscli running the rendered commands, or through [`AwsState`] with the
//! same validation), so what a test checks is what a customer would apply.
//! With [`AwsFakeConfig::mirror_moto`] it also takes the roles and issued
//! session keys of a moto server, so IAM calls made with credentials moto
//! issued are authorised against the role's policies as moto holds them.

mod ec2;
mod iam;
mod moto;
pub mod policy;
mod query;
mod regions;
pub mod sigv4;
mod state;
mod sts;

pub use state::{AccessKey, AwsState, Call, Fault};

use crate::server::{Running, serve};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use query::{Params, Service};
use state::{Model, Principal};
use std::sync::Arc;
use time::OffsetDateTime;

/// The AWS partition the fake serves; it fixes ARNs, regions and the region
/// IAM requests must be signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Partition {
    #[default]
    Aws,
    AwsCn,
    AwsUsGov,
}

impl Partition {
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    /// The one region IAM (a global service) accepts signatures for.
    pub fn iam_region(self) -> &'static str {
        match self {
            Partition::Aws => "us-east-1",
            Partition::AwsCn => "cn-north-1",
            Partition::AwsUsGov => "us-gov-west-1",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AwsFakeConfig {
    pub partition: Partition,
    /// The most results IAM returns per page (it may return fewer than a
    /// caller's `MaxItems`, and clients must follow `Marker`).
    pub max_items: usize,
    /// Base URL of a moto server whose roles and issued keys to mirror.
    pub mirror_moto: Option<String>,
}

impl Default for AwsFakeConfig {
    fn default() -> Self {
        AwsFakeConfig {
            partition: Partition::Aws,
            max_items: 100,
            mirror_moto: None,
        }
    }
}

/// A running fake AWS on `127.0.0.1`; stops when dropped.
pub struct AwsFake {
    server: Running,
    state: AwsState,
}

impl AwsFake {
    /// Serves a fresh fake on an ephemeral loopback port.
    pub async fn start(config: AwsFakeConfig) -> std::io::Result<AwsFake> {
        let state = AwsState::new(config.partition, config.max_items);
        let server = serve(router(state.clone(), &config), 0).await?;
        Ok(AwsFake { server, state })
    }

    /// `http://127.0.0.1:<port>`: the endpoint of STS, IAM and EC2 alike.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn state(&self) -> &AwsState {
        &self.state
    }
}

struct Shared {
    state: AwsState,
    mirror: Option<moto::Mirror>,
}

/// The fake's HTTP surface over `state` (to mount it elsewhere, e.g. in a sandbox).
pub fn router(state: AwsState, config: &AwsFakeConfig) -> axum::Router {
    let shared = Arc::new(Shared {
        state,
        mirror: config.mirror_moto.clone().map(moto::Mirror::new),
    });
    axum::Router::new().fallback(handle).with_state(shared)
}

/// How many answered requests [`AwsState::calls`] remembers.
const MAX_CALLS_KEPT: usize = 10_000;

/// A request's `X-Amz-Date` may be this far from the fake's clock.
const SKEW: time::Duration = time::Duration::minutes(15);

fn amz_date(text: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(text, &format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

fn basic(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    at.format(&format).unwrap_or_default()
}

/// Checks the signature and the key; answers who is calling, from which region.
fn authenticate(
    model: &Model,
    request: &sigv4::Received<'_>,
    service: Service,
    now: OffsetDateTime,
) -> Result<(Principal, String), (Fault, String)> {
    let ec2 = service == Service::Ec2;
    let no_region = |fault| (fault, String::new());
    let Some(header) = request.header("authorization") else {
        return Err(no_region(Fault::new(
            if ec2 { 401 } else { 403 },
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )));
    };
    let auth = sigv4::parse_authorization(header).map_err(|e| {
        let message = match e {
            sigv4::SigError::Incomplete(m) => m,
            _ => "Incomplete signature".to_owned(),
        };
        no_region(Fault::new(400, "IncompleteSignature", message))
    })?;
    let region = auth.region.clone();
    let refuse = |fault: Fault| (fault, region.clone());
    let signature_fault = |message: String| {
        if ec2 {
            Fault::new(401, "AuthFailure", message)
        } else {
            Fault::new(403, "SignatureDoesNotMatch", message)
        }
    };
    if auth.service != service.name() {
        return Err(refuse(signature_fault(format!(
            "Credential should be scoped to correct service: '{}'. ",
            service.name()
        ))));
    }
    let region_ok = match service {
        Service::Iam => auth.region == model.partition.iam_region(),
        Service::Sts | Service::Ec2 => regions::exists(model.partition, &auth.region),
    };
    if !region_ok {
        return Err(refuse(signature_fault(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            auth.region
        ))));
    }
    let date_text = request.header("x-amz-date").ok_or_else(|| {
        refuse(Fault::new(
            400,
            "IncompleteSignature",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ))
    })?;
    let signed_at = amz_date(date_text).ok_or_else(|| {
        refuse(Fault::new(
            400,
            "IncompleteSignature",
            "X-Amz-Date is not a valid timestamp",
        ))
    })?;
    if signed_at < now - SKEW || signed_at > now + SKEW {
        return Err(refuse(if ec2 {
            Fault::new(400, "RequestExpired", "Request has expired.")
        } else if signed_at < now {
            Fault::new(
                403,
                "SignatureDoesNotMatch",
                format!(
                    "Signature expired: {date_text} is now earlier than {} ({} - 15 min.)",
                    basic(now - SKEW),
                    basic(now)
                ),
            )
        } else {
            Fault::new(
                403,
                "SignatureDoesNotMatch",
                format!(
                    "Signature not yet current: {date_text} is still later than {} ({} + 15 min.)",
                    basic(now + SKEW),
                    basic(now)
                ),
            )
        }));
    }
    let invalid_key = || {
        if ec2 {
            Fault::new(
                401,
                "AuthFailure",
                "AWS was not able to validate the provided access credentials",
            )
        } else {
            Fault::new(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            )
        }
    };
    let key = model
        .keys
        .get(&auth.access_key_id)
        .ok_or_else(|| refuse(invalid_key()))?;
    if request.header("x-amz-security-token") != key.session_token.as_deref() {
        return Err(refuse(invalid_key()));
    }
    if key.expires.is_some_and(|at| at <= now) {
        return Err(refuse(if ec2 {
            Fault::new(400, "RequestExpired", "Request has expired.")
        } else {
            Fault::new(
                403,
                "ExpiredToken",
                "The security token included in the request is expired",
            )
        }));
    }
    sigv4::verify(request, &auth, date_text, &key.secret).map_err(|e| {
        refuse(match e {
            sigv4::SigError::Incomplete(message) => Fault::new(400, "IncompleteSignature", message),
            _ => signature_fault(
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_owned(),
            ),
        })
    })?;
    Ok((model.principal(key), region))
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(mirror) = &shared.mirror {
        mirror.refresh(&shared.state).await;
    }
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let query = uri.query().unwrap_or_default();
    let request = sigv4::Received {
        method: method.as_str(),
        path: uri.path(),
        query,
        headers: &headers,
        body: &body,
    };
    let is_form = request
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let params = Params::parse(query, if is_form { &body } else { &[] });
    let action = params.get("Action").unwrap_or_default().to_owned();
    let service = Service::of(&action, params.get("Version").unwrap_or_default());

    let mut model = shared.state.lock();
    let (outcome, region, caller) = match service {
        None => {
            let fault = if action.is_empty() {
                Fault::new(
                    400,
                    "MissingAction",
                    "The request must contain the parameter Action",
                )
            } else {
                Fault::new(
                    400,
                    "InvalidAction",
                    format!("Could not find operation {action} for this version"),
                )
            };
            (Err(fault), String::new(), None)
        }
        Some(service) => match authenticate(&model, &request, service, OffsetDateTime::now_utc()) {
            Err((fault, region)) => (Err(fault), region, None),
            Ok((caller, region)) => {
                let outcome = if model.throttle_next > 0 {
                    model.throttle_next -= 1;
                    Err(if service == Service::Ec2 {
                        Fault::new(503, "RequestLimitExceeded", "Request limit exceeded.")
                    } else {
                        Fault::new(400, "Throttling", "Rate exceeded")
                    })
                } else {
                    match service {
                        Service::Sts => sts::handle(&mut model, &caller, &region, &action, &params),
                        Service::Iam => iam::handle(&mut model, &caller, &action, &params),
                        Service::Ec2 => ec2::handle(&model, &caller, &action, &params),
                    }
                };
                (outcome, region, Some(caller.arn))
            }
        },
    };
    let (status, body, error_code) = match outcome {
        Ok(xml) => (200, xml, None),
        Err(fault) => (
            fault.status,
            query::error(service, &fault),
            Some(fault.code),
        ),
    };
    // A long-running fake (the sandbox) keeps the latest calls, not all.
    if model.calls.len() >= MAX_CALLS_KEPT {
        model.calls.drain(..MAX_CALLS_KEPT / 2);
    }
    model.calls.push(Call {
        service: service.map_or("unknown", Service::name),
        action,
        region,
        caller,
        status,
        error_code,
    });
    drop(model);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "text/xml")],
        body,
    )
        .into_response()
}
