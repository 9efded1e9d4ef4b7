//! Mirroring a moto server (which has no SimulatePrincipalPolicy): before
//! each request the fake reads moto's model dump (`/moto-api/data.json`)
//! and takes its roles (trust policy, inline policies, attached managed
//! policies) and the temporary keys its AssumeRole issued. IAM calls signed
//! with those keys are then authenticated and authorised here exactly as
//! for the fake's own roles. Documents that do not parse as IAM policies
//! are left out (and logged), which can only take permissions away.

use super::policy::{Kind, Policy};
use super::state::{AwsState, Document, Key, Owner, Role};
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub(crate) struct Mirror {
    url: String,
    http: reqwest::Client,
}

fn document(text: &str, kind: Kind, what: &str) -> Option<Document> {
    match Policy::parse(text, kind) {
        Ok(policy) => Some(Document {
            text: text.to_owned(),
            policy,
        }),
        Err(e) => {
            tracing::warn!(what, error = %e, "a moto policy is not a valid IAM policy; left out");
            None
        }
    }
}

fn text(value: &Value, field: &str) -> Option<String> {
    value[field].as_str().map(str::to_owned)
}

/// moto writes datetimes as `2026-11-30 07:00:00.123456+00:00` or RFC 3339.
fn datetime(value: &Value) -> Option<OffsetDateTime> {
    let raw = value.as_str()?.replace(' ', "T");
    OffsetDateTime::parse(&raw, &time::format_description::well_known::Rfc3339).ok()
}

fn role(value: &Value) -> Option<(String, Role)> {
    let arn = text(value, "arn")?;
    let trust = document(
        &text(value, "assume_role_policy_document")?,
        Kind::Trust,
        &arn,
    )?;
    let inline: BTreeMap<String, Document> = value["policies"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, doc)| {
            Some((name.clone(), document(doc.as_str()?, Kind::Identity, name)?))
        })
        .collect();
    let attached = value["attached_managed_policies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            p["PolicyArn"]
                .as_str()
                .or_else(|| p["arn"].as_str())
                .map(str::to_owned)
        })
        .collect();
    let account = text(value, "account_id").or_else(|| arn.split(':').nth(4).map(str::to_owned))?;
    Some((
        account,
        Role {
            name: text(value, "name")?,
            path: text(value, "path").unwrap_or_else(|| "/".to_owned()),
            id: text(value, "id").unwrap_or_default(),
            arn,
            created: OffsetDateTime::now_utc(),
            description: text(value, "description"),
            max_session_seconds: value["max_session_duration"]
                .as_u64()
                .map_or(3600, |s| s as u32),
            trust,
            inline,
            attached,
            mirrored: true,
        },
    ))
}

fn session(value: &Value, roles: &[(String, Role)]) -> Option<(String, Key)> {
    let role_arn = text(value, "role_arn")?;
    let role = roles.iter().find(|(_, r)| r.arn == role_arn);
    let account = text(value, "account_id").or_else(|| role.map(|(a, _)| a.clone()))?;
    Some((
        text(value, "access_key_id")?,
        Key {
            secret: text(value, "secret_access_key")?,
            session_token: text(value, "session_token"),
            owner: Owner::Session {
                account,
                role_name: role_arn.rsplit('/').next()?.to_owned(),
                role_id: role.map_or_else(String::new, |(_, r)| r.id.clone()),
                role_arn,
                session_name: text(value, "session_name")?,
            },
            expires: datetime(&value["expiration"]),
            mirrored: true,
        },
    ))
}

impl Mirror {
    pub fn new(url: String) -> Mirror {
        // reqwest needs a process-wide TLS provider, even for plain http.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Mirror {
            url: url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn refresh(&self, state: &AwsState) {
        // IAM and STS only: the whole dump grows to megabytes once EC2 has
        // answered (a moto started by proxy/tests/support/moto_cross_account.py
        // honours the filter; plain moto ignores it and dumps everything).
        let url = format!("{}/moto-api/data.json?services=iam,sts", self.url);
        let dump: Value = match self.http.get(url).send().await {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "moto could not be read; keeping the last mirror");
                return;
            }
        };
        let roles: Vec<(String, Role)> = dump["iam"]["Role"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(role)
            .collect();
        let keys: Vec<(String, Key)> = dump["sts"]["AssumedRole"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| session(s, &roles))
            .collect();
        let mut model = state.lock();
        for account in model.accounts.values_mut() {
            account.roles.retain(|_, r| !r.mirrored);
        }
        model.keys.retain(|_, k| !k.mirrored);
        for (account, role) in roles {
            model
                .account(&account)
                .roles
                .entry(role.name.clone())
                .or_insert(role);
        }
        for (id, key) in keys {
            model.keys.entry(id).or_insert(key);
        }
    }
}
