//! The XML shapes of the four answers and of AWS error answers.
//! Root element names are not checked (serde ignores them); unknown
//! elements and attributes such as `xmlns` are ignored.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleResponse {
    pub assume_role_result: AssumeRoleResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleResult {
    pub credentials: Credentials,
    pub assumed_role_user: AssumedRoleUser,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials { <redacted> }")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumedRoleUser {
    pub arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCallerIdentityResponse {
    pub get_caller_identity_result: GetCallerIdentityResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCallerIdentityResult {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimulatePrincipalPolicyResponse {
    pub simulate_principal_policy_result: SimulatePrincipalPolicyResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimulatePrincipalPolicyResult {
    #[serde(default)]
    pub evaluation_results: Members<EvaluationResult>,
    #[serde(default)]
    pub is_truncated: bool,
    pub marker: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Members<T> {
    #[serde(default = "Vec::new")]
    pub member: Vec<T>,
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Members { member: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EvaluationResult {
    pub eval_action_name: String,
    pub eval_decision: String,
}

/// EC2 answers in lowerCamelCase with `item` lists.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeRegionsResponse {
    #[serde(default)]
    pub region_info: Items<Region>,
}

#[derive(Debug, Deserialize)]
pub struct Items<T> {
    #[serde(default = "Vec::new")]
    pub item: Vec<T>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items { item: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub region_name: String,
    #[serde(default)]
    pub region_endpoint: String,
    #[serde(default)]
    pub opt_in_status: String,
}

/// STS/IAM: `<ErrorResponse><Error><Code>`; EC2: `<Response><Errors><Error><Code>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorEnvelope {
    pub error: Option<ErrorDetail>,
    pub errors: Option<ErrorList>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorList {
    #[serde(default)]
    pub error: Vec<ErrorDetail>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorDetail {
    pub code: String,
}

/// The AWS error code of an error body, if it has a plausible one. The code
/// reaches users and audit rows, so anything but a short identifier (a proxy's
/// HTML page, an echoed request) is dropped.
pub fn error_code(body: &str) -> Option<String> {
    let envelope: ErrorEnvelope = quick_xml::de::from_str(body).ok()?;
    envelope
        .error
        .or_else(|| {
            envelope
                .errors
                .and_then(|list| list.error.into_iter().next())
        })
        .map(|detail| detail.code.trim().to_owned())
        .filter(|code| {
            (1..=64).contains(&code.len())
                && code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".:_-".contains(c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_come_out_of_both_envelopes() {
        let sts = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>nope</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
        assert_eq!(error_code(sts).as_deref(), Some("AccessDenied"));
        let ec2 = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>no</Message></Error></Errors><RequestID>r</RequestID></Response>"#;
        assert_eq!(error_code(ec2).as_deref(), Some("UnauthorizedOperation"));
        assert_eq!(error_code("<html>bad gateway</html>"), None);
        assert_eq!(error_code("not xml at all"), None);
        let odd =
            "<ErrorResponse><Error><Code>Access Denied; key=AKIA...</Code></Error></ErrorResponse>";
        assert_eq!(error_code(odd), None);
    }

    #[test]
    fn regions_parse_from_the_ec2_shape() {
        let body = r#"<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId><regionInfo><item><regionName>eu-west-1</regionName><regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item><item><regionName>af-south-1</regionName><regionEndpoint>ec2.af-south-1.amazonaws.com</regionEndpoint><optInStatus>not-opted-in</optInStatus></item></regionInfo></DescribeRegionsResponse>"#;
        let parsed: DescribeRegionsResponse = quick_xml::de::from_str(body).unwrap();
        assert_eq!(parsed.region_info.item.len(), 2);
        assert_eq!(parsed.region_info.item[1].opt_in_status, "not-opted-in");
    }
}
