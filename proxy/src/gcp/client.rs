//! [`RestClient`]: STS, IAM Credentials, Resource Manager and Compute over reqwest.

use super::error::{GcpError, GcpService, StsRefusal};
use super::{AccessToken, GcpApi, GcpConfig, Project, Region};
use async_trait::async_trait;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The service account's token lives as long as one wizard step needs.
const IMPERSONATION_LIFETIME_SECONDS: u32 = 600;
/// A list is followed for at most this many pages.
const MAX_PAGES: usize = 20;

pub struct RestClient {
    http: reqwest::Client,
    sts: String,
    iamcredentials: String,
    crm: String,
    compute: String,
}

impl RestClient {
    pub fn new(config: &GcpConfig) -> Self {
        RestClient {
            // Short timeouts, no redirects (one would carry the bearer token
            // to another host): the client every upstream shares.
            http: crate::accounts::upstream::http_client().unwrap_or_default(),
            sts: config.sts_endpoint.clone(),
            iamcredentials: config.iamcredentials_endpoint.clone(),
            crm: config.crm_endpoint.clone(),
            compute: config.compute_endpoint.clone(),
        }
    }

    /// Sends a Google API request; a 2xx body as `T`, else Google's error.
    async fn google<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        service: GcpService,
    ) -> Result<T, GcpError> {
        let (status, bytes) = send(request, service).await?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|_| GcpError::Unexpected {
                service,
                detail: "the answer is not the expected JSON".to_owned(),
            });
        }
        Err(google_error(service, status, &bytes))
    }
}

/// Google's `{"error": {code, status, details: [ErrorInfo…]}}`, parsed into
/// what classification needs (reason, permission, disabled service); the
/// human message is left behind.
fn google_error(service: GcpService, status: u16, bytes: &[u8]) -> GcpError {
    #[derive(Deserialize, Default)]
    struct Body {
        error: Option<Inner>,
    }
    #[derive(Deserialize, Default)]
    struct Inner {
        status: Option<String>,
        #[serde(default)]
        details: Vec<Detail>,
    }
    #[derive(Deserialize)]
    struct Detail {
        reason: Option<String>,
        #[serde(default)]
        metadata: std::collections::BTreeMap<String, String>,
    }
    let inner = serde_json::from_slice::<Body>(bytes)
        .ok()
        .and_then(|b| b.error)
        .unwrap_or_default();
    let info = inner.details.iter().find(|d| d.reason.is_some());
    GcpError::Google {
        service,
        status,
        google_status: inner.status.unwrap_or_default(),
        reason: info.and_then(|d| d.reason.clone()).unwrap_or_default(),
        permission: info.and_then(|d| d.metadata.get("permission").cloned()),
        disabled_service: info.and_then(|d| d.metadata.get("service").cloned()),
    }
}

/// Sends and reads the whole answer: its status and body.
async fn send(
    request: reqwest::RequestBuilder,
    service: GcpService,
) -> Result<(u16, Vec<u8>), GcpError> {
    let unreachable = |e: reqwest::Error| GcpError::Unreachable {
        service,
        detail: if e.is_timeout() {
            "timed out".to_owned()
        } else {
            e.without_url().to_string()
        },
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(unreachable)?;
    Ok((status, bytes.to_vec()))
}

#[async_trait]
impl GcpApi for RestClient {
    async fn exchange(&self, audience: &str, assertion: &str) -> Result<AccessToken, GcpError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", TOKEN_EXCHANGE),
                ("audience", audience),
                ("scope", CLOUD_PLATFORM_SCOPE),
                ("requested_token_type", ACCESS_TOKEN_TYPE),
                ("subject_token", assertion),
                ("subject_token_type", JWT_TOKEN_TYPE),
            ])
            .finish();
        // No Authorization header: STS documents that one can fail the call.
        let request = self
            .http
            .post(format!("{}/v1/token", self.sts))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        let (status, bytes) = send(request, GcpService::Sts).await?;
        if status == 200 {
            #[derive(Deserialize)]
            struct Success {
                access_token: String,
            }
            return serde_json::from_slice::<Success>(&bytes)
                .map(|s| AccessToken::new(s.access_token))
                .map_err(|_| GcpError::Unexpected {
                    service: GcpService::Sts,
                    detail: "the token answer is not the expected JSON".to_owned(),
                });
        }
        #[derive(Deserialize)]
        struct Failure {
            error: Option<String>,
            error_description: Option<String>,
        }
        let failure: Option<Failure> = serde_json::from_slice(&bytes).ok();
        let (error, description) = failure
            .map(|f| (f.error.unwrap_or_default(), f.error_description))
            .unwrap_or_default();
        Err(GcpError::Sts {
            status,
            refusal: StsRefusal::classify(&error, description.as_deref().unwrap_or_default()),
            error,
        })
    }

    async fn impersonate(
        &self,
        federated: &AccessToken,
        service_account: &str,
    ) -> Result<AccessToken, GcpError> {
        self.impersonate_for(federated, service_account, IMPERSONATION_LIFETIME_SECONDS)
            .await
            .map(|(token, _)| token)
    }

    async fn impersonate_for(
        &self,
        federated: &AccessToken,
        service_account: &str,
        lifetime_seconds: u32,
    ) -> Result<(AccessToken, String), GcpError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Success {
            access_token: String,
            #[serde(default)]
            expire_time: String,
        }
        // The email is validated (letters, digits, - . @ only): safe in a path.
        let url = format!(
            "{}/v1/projects/-/serviceAccounts/{service_account}:generateAccessToken",
            self.iamcredentials
        );
        let request = self
            .http
            .post(url)
            .bearer_auth(federated.bearer())
            .json(&json!({
                "scope": [CLOUD_PLATFORM_SCOPE],
                "lifetime": format!("{lifetime_seconds}s"),
                "delegates": [],
            }));
        let success: Success = self.google(request, GcpService::IamCredentials).await?;
        Ok((AccessToken::new(success.access_token), success.expire_time))
    }

    async fn project(&self, token: &AccessToken, project_id: &str) -> Result<Project, GcpError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            project_id: String,
            project_number: String,
            lifecycle_state: Option<String>,
        }
        let request = self
            .http
            .get(format!("{}/v1/projects/{project_id}", self.crm))
            .bearer_auth(token.bearer());
        let body: Body = self.google(request, GcpService::ResourceManager).await?;
        Ok(Project {
            project_id: body.project_id,
            project_number: body.project_number,
            lifecycle_state: body.lifecycle_state.unwrap_or_default(),
        })
    }

    async fn test_permissions(
        &self,
        token: &AccessToken,
        project_id: &str,
        permissions: &[&str],
    ) -> Result<Vec<String>, GcpError> {
        #[derive(Deserialize)]
        struct Body {
            // proto3 JSON leaves an empty list out.
            #[serde(default)]
            permissions: Vec<String>,
        }
        let request = self
            .http
            .post(format!(
                "{}/v1/projects/{project_id}:testIamPermissions",
                self.crm
            ))
            .bearer_auth(token.bearer())
            .json(&json!({ "permissions": permissions }));
        let body: Body = self.google(request, GcpService::ResourceManager).await?;
        Ok(body.permissions)
    }

    async fn regions(
        &self,
        token: &AccessToken,
        project_id: &str,
    ) -> Result<Vec<Region>, GcpError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            items: Vec<Item>,
            next_page_token: Option<String>,
        }
        #[derive(Deserialize)]
        struct Item {
            name: String,
            status: Option<String>,
            #[serde(default)]
            zones: Vec<String>,
        }
        let url = format!("{}/compute/v1/projects/{project_id}/regions", self.compute);
        let mut regions = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page_url = reqwest::Url::parse(&url).map_err(|_| GcpError::Unexpected {
                service: GcpService::Compute,
                detail: "the Compute address is not a URL".to_owned(),
            })?;
            if let Some(t) = &page_token {
                page_url.query_pairs_mut().append_pair("pageToken", t);
            }
            let request = self.http.get(page_url).bearer_auth(token.bearer());
            let page: Page = self.google(request, GcpService::Compute).await?;
            regions.extend(page.items.into_iter().map(|i| {
                Region {
                    name: i.name,
                    status: i.status.unwrap_or_default(),
                    // Zones come as URLs; their last segment is the name.
                    zones: i
                        .zones
                        .iter()
                        .map(|z| z.rsplit('/').next().unwrap_or(z).to_owned())
                        .collect(),
                }
            }));
            match page.next_page_token.filter(|t| !t.is_empty()) {
                None => return Ok(regions),
                Some(next) => page_token = Some(next),
            }
        }
        Err(GcpError::Unexpected {
            service: GcpService::Compute,
            detail: format!("the region list has more than {MAX_PAGES} pages"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn googles_error_body_gives_reason_permission_and_service() {
        let denied = br#"{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"IAM_PERMISSION_DENIED","domain":"iam.googleapis.com","metadata":{"permission":"iam.serviceAccounts.getAccessToken"}}]}}"#;
        match google_error(GcpService::IamCredentials, 403, denied) {
            GcpError::Google {
                reason,
                permission,
                google_status,
                ..
            } => {
                assert_eq!(reason, "IAM_PERMISSION_DENIED");
                assert_eq!(
                    permission.as_deref(),
                    Some("iam.serviceAccounts.getAccessToken")
                );
                assert_eq!(google_status, "PERMISSION_DENIED");
            }
            other => panic!("{other:?}"),
        }
        let disabled = br#"{"error":{"code":403,"message":"Compute Engine API has not been used","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED","domain":"googleapis.com","metadata":{"service":"compute.googleapis.com","consumer":"projects/1"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","message":"x"}]}}"#;
        match google_error(GcpService::Compute, 403, disabled) {
            GcpError::Google {
                reason,
                disabled_service,
                ..
            } => {
                assert_eq!(reason, "SERVICE_DISABLED");
                assert_eq!(disabled_service.as_deref(), Some("compute.googleapis.com"));
            }
            other => panic!("{other:?}"),
        }
        // Not JSON at all: still a coded error, nothing borrowed from the body.
        assert!(matches!(
            google_error(GcpService::Compute, 502, b"<html>"),
            GcpError::Google { status: 502, ref reason, .. } if reason.is_empty()
        ));
    }
}
