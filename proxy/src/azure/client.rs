//! [`RestClient`]: Entra's token endpoint and ARM's REST API over reqwest.

use super::error::{AzureError, Service};
use super::{
    ArmToken, AzureApi, AzureConfig, Location, ResourceGroup, RoleAssignment, Subscription,
};
use alphaswarm_core::azure::ARM_SCOPE;
use alphaswarm_core::baseline::AzurePermission;
use alphaswarm_core::ids::Guid;
use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde::de::DeserializeOwned;

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const SUBSCRIPTIONS_API: &str = "2022-12-01";
const RESOURCE_GROUPS_API: &str = "2021-04-01";
const AUTHORIZATION_API: &str = "2022-04-01";
/// A list is followed for at most this many `nextLink` pages.
const MAX_PAGES: usize = 50;

pub struct RestClient {
    http: reqwest::Client,
    login: String,
    arm: String,
}

impl RestClient {
    pub fn new(config: &AzureConfig) -> Self {
        RestClient {
            // Short timeouts, no redirects (one would carry the bearer token
            // to another host): the client every upstream shares.
            http: crate::accounts::upstream::http_client().unwrap_or_default(),
            login: config.login_endpoint.clone(),
            arm: config.arm_endpoint.clone(),
        }
    }

    async fn arm_get<T: DeserializeOwned>(
        &self,
        token: &ArmToken,
        url: &str,
        query: &[(&str, &str)],
        operation: &'static str,
    ) -> Result<T, AzureError> {
        let mut url = reqwest::Url::parse(url).map_err(|_| AzureError::Unexpected {
            service: Service::Arm,
            detail: format!("the address for {operation} is not a URL"),
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let (status, bytes) =
            send(self.http.get(url).bearer_auth(token.bearer()), Service::Arm).await?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|_| AzureError::Unexpected {
                service: Service::Arm,
                detail: format!("the answer to {operation} is not the expected JSON"),
            });
        }
        #[derive(Deserialize)]
        struct Body {
            error: Option<Inner>,
        }
        #[derive(Deserialize)]
        struct Inner {
            code: Option<String>,
        }
        let code = serde_json::from_slice::<Body>(&bytes)
            .ok()
            .and_then(|b| b.error)
            .and_then(|e| e.code)
            .unwrap_or_default();
        Err(AzureError::Arm {
            status,
            code,
            operation,
        })
    }

    /// Every page of an ARM list (`{"value": [...], "nextLink": ...}`).
    /// A `nextLink` is followed only on the configured ARM host, so the
    /// bearer token never goes anywhere else.
    async fn arm_list<T: DeserializeOwned>(
        &self,
        token: &ArmToken,
        first: String,
        query: &[(&str, &str)],
        operation: &'static str,
    ) -> Result<Vec<T>, AzureError> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Page<T> {
            Listed {
                value: Vec<T>,
                #[serde(rename = "nextLink")]
                next_link: Option<String>,
            },
            Bare(Vec<T>),
        }
        let mut items = Vec::new();
        let mut url = first;
        let mut query: Vec<(&str, &str)> = query.to_vec();
        for _ in 0..MAX_PAGES {
            let page: Page<T> = self.arm_get(token, &url, &query, operation).await?;
            match page {
                Page::Bare(mut value) => {
                    items.append(&mut value);
                    return Ok(items);
                }
                Page::Listed {
                    mut value,
                    next_link,
                } => {
                    items.append(&mut value);
                    match next_link.filter(|l| !l.is_empty()) {
                        None => return Ok(items),
                        Some(next) if next.starts_with(&format!("{}/", self.arm)) => {
                            // The link carries its own query (api-version, skip token).
                            url = next;
                            query.clear();
                        }
                        Some(_) => {
                            return Err(AzureError::Unexpected {
                                service: Service::Arm,
                                detail: format!("a {operation} page links to another host"),
                            });
                        }
                    }
                }
            }
        }
        Err(AzureError::Unexpected {
            service: Service::Arm,
            detail: format!("{operation} has more than {MAX_PAGES} pages"),
        })
    }

    fn subscription_url(&self, subscription: &Guid, rest: &str) -> String {
        format!("{}/subscriptions/{subscription}{rest}", self.arm)
    }
}

/// Sends and reads the whole answer: its status and body.
async fn send(
    request: reqwest::RequestBuilder,
    service: Service,
) -> Result<(u16, Vec<u8>), AzureError> {
    let unreachable = |e| AzureError::Unreachable {
        service,
        detail: describe(e),
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(unreachable)?;
    Ok((status, bytes.to_vec()))
}

/// reqwest's error text without the URL (ours, but it keeps logs short).
fn describe(e: reqwest::Error) -> String {
    let timeout = e.is_timeout();
    let text = e.without_url().to_string();
    if timeout {
        format!("timed out ({text})")
    } else {
        text
    }
}

/// The AADSTS number: `error_codes[0]`, else the one the description starts with.
fn aadsts(codes: Option<&[u32]>, description: Option<&str>) -> Option<u32> {
    codes.and_then(|c| c.first().copied()).or_else(|| {
        let rest = description?.split("AADSTS").nth(1)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

/// The claims of an access token (no verification: it is our own token,
/// fresh from Entra over TLS, read only to learn who we are).
fn token_claims(access_token: &str) -> Option<(String, String, Option<String>)> {
    #[derive(Deserialize)]
    struct Claims {
        oid: String,
        tid: String,
        appid: Option<String>,
        azp: Option<String>,
    }
    let payload = access_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Claims = serde_json::from_slice(&bytes).ok()?;
    Some((claims.oid, claims.tid, claims.appid.or(claims.azp)))
}

#[async_trait]
impl AzureApi for RestClient {
    async fn token(
        &self,
        tenant: &Guid,
        client_id: &Guid,
        assertion: &str,
    ) -> Result<ArmToken, AzureError> {
        let url = format!("{}/{tenant}/oauth2/v2.0/token", self.login);
        let form = [
            ("client_id", client_id.as_str()),
            ("scope", ARM_SCOPE),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("grant_type", "client_credentials"),
        ];
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        let (status, bytes) = send(request, Service::Entra).await?;
        if status == 200 {
            #[derive(Deserialize)]
            struct Success {
                access_token: String,
                #[serde(default)]
                expires_in: Option<u64>,
            }
            let unexpected = |detail: &str| AzureError::Unexpected {
                service: Service::Entra,
                detail: detail.to_owned(),
            };
            let success: Success = serde_json::from_slice(&bytes)
                .map_err(|_| unexpected("the token answer is not the expected JSON"))?;
            let (oid, tid, app_id) = token_claims(&success.access_token)
                .ok_or_else(|| unexpected("the access token carries no oid/tid claims"))?;
            return Ok(ArmToken::new(success.access_token, oid, tid, app_id)
                .with_expires_in(success.expires_in));
        }
        #[derive(Deserialize)]
        struct Failure {
            error: Option<String>,
            error_description: Option<String>,
            error_codes: Option<Vec<u32>>,
        }
        let failure: Option<Failure> = serde_json::from_slice(&bytes).ok();
        let code = failure
            .as_ref()
            .and_then(|f| aadsts(f.error_codes.as_deref(), f.error_description.as_deref()));
        Err(AzureError::Entra {
            status,
            code,
            error: failure
                .and_then(|f| f.error)
                .unwrap_or_else(|| "unknown".to_owned()),
        })
    }

    async fn subscription(
        &self,
        token: &ArmToken,
        subscription: &Guid,
    ) -> Result<Subscription, AzureError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            subscription_id: String,
            tenant_id: Option<String>,
            display_name: Option<String>,
            state: Option<String>,
        }
        let body: Body = self
            .arm_get(
                token,
                &self.subscription_url(subscription, ""),
                &[("api-version", SUBSCRIPTIONS_API)],
                "Microsoft.Resources/subscriptions/read",
            )
            .await?;
        Ok(Subscription {
            subscription_id: body.subscription_id,
            tenant_id: body.tenant_id.unwrap_or_default(),
            display_name: body.display_name.unwrap_or_default(),
            state: body.state.unwrap_or_default(),
        })
    }

    async fn role_assignments(
        &self,
        token: &ArmToken,
        subscription: &Guid,
        principal_id: &str,
    ) -> Result<Vec<RoleAssignment>, AzureError> {
        #[derive(Deserialize)]
        struct Item {
            properties: Properties,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Properties {
            role_definition_id: String,
            principal_id: String,
            scope: String,
        }
        // OData string literal: a quote inside is doubled (object ids have none).
        let filter = format!("principalId eq '{}'", principal_id.replace('\'', "''"));
        let items: Vec<Item> = self
            .arm_list(
                token,
                self.subscription_url(
                    subscription,
                    "/providers/Microsoft.Authorization/roleAssignments",
                ),
                &[("api-version", AUTHORIZATION_API), ("$filter", &filter)],
                "Microsoft.Authorization/roleAssignments/read",
            )
            .await?;
        Ok(items
            .into_iter()
            .map(|i| RoleAssignment {
                role_definition_id: i.properties.role_definition_id,
                principal_id: i.properties.principal_id,
                scope: i.properties.scope,
            })
            .collect())
    }

    async fn permissions(
        &self,
        token: &ArmToken,
        subscription: &Guid,
    ) -> Result<Vec<AzurePermission>, AzureError> {
        self.arm_list(
            token,
            self.subscription_url(
                subscription,
                "/providers/Microsoft.Authorization/permissions",
            ),
            &[("api-version", AUTHORIZATION_API)],
            "Microsoft.Authorization/permissions/read",
        )
        .await
    }

    async fn resource_groups(
        &self,
        token: &ArmToken,
        subscription: &Guid,
    ) -> Result<Vec<ResourceGroup>, AzureError> {
        #[derive(Deserialize)]
        struct Item {
            name: String,
            location: String,
            properties: Option<Properties>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Properties {
            provisioning_state: Option<String>,
        }
        let items: Vec<Item> = self
            .arm_list(
                token,
                self.subscription_url(subscription, "/resourcegroups"),
                &[("api-version", RESOURCE_GROUPS_API)],
                "Microsoft.Resources/subscriptions/resourceGroups/read",
            )
            .await?;
        Ok(items
            .into_iter()
            .map(|i| ResourceGroup {
                name: i.name,
                location: i.location,
                provisioning_state: i.properties.and_then(|p| p.provisioning_state),
            })
            .collect())
    }

    async fn locations(
        &self,
        token: &ArmToken,
        subscription: &Guid,
    ) -> Result<Vec<Location>, AzureError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Item {
            name: String,
            display_name: Option<String>,
            regional_display_name: Option<String>,
        }
        let items: Vec<Item> = self
            .arm_list(
                token,
                self.subscription_url(subscription, "/locations"),
                &[("api-version", SUBSCRIPTIONS_API)],
                "Microsoft.Resources/subscriptions/locations/read",
            )
            .await?;
        Ok(items
            .into_iter()
            .map(|i| Location {
                display_name: i.display_name.unwrap_or_else(|| i.name.clone()),
                name: i.name,
                regional_display_name: i.regional_display_name,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_comes_from_error_codes_or_the_description() {
        assert_eq!(aadsts(Some(&[700213]), None), Some(700213));
        assert_eq!(
            aadsts(
                None,
                Some("AADSTS7000272: The certificate with identifier ...")
            ),
            Some(7000272)
        );
        assert_eq!(aadsts(None, Some("no code")), None);
        assert_eq!(aadsts(Some(&[]), None), None);
    }

    #[test]
    fn token_claims_read_v1_and_v2_tokens() {
        let encode = |claims: serde_json::Value| {
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(&claims).unwrap());
            format!("e30.{body}.sig")
        };
        let v1 = encode(serde_json::json!({"oid": "o", "tid": "t", "appid": "a"}));
        assert_eq!(
            token_claims(&v1),
            Some(("o".into(), "t".into(), Some("a".into())))
        );
        let v2 = encode(serde_json::json!({"oid": "o", "tid": "t", "azp": "z"}));
        assert_eq!(token_claims(&v2).unwrap().2.as_deref(), Some("z"));
        assert!(token_claims(&encode(serde_json::json!({"tid": "t"}))).is_none());
        assert!(token_claims("not-a-jwt").is_none());
    }
}
