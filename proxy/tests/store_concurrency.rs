//! Concurrent connects: none is lost, every record decrypts with the key
//! afterwards, and the audit chain holds both rows of each.

mod common;

use alphaswarm_proxy::store::IntegrationStore;
use common::*;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_connects_are_all_persisted() {
    let proxy = Arc::new(TestProxy::start("concurrent").await);
    let orgs: Vec<String> = (0..50).map(|i| format!("org-{i}")).collect();
    for org in &orgs {
        proxy.aws.role(
            org,
            &format!("alphaswarm-broker-{org}"),
            Trust::Rendered,
            Grant::Baseline,
        );
    }
    let token = Arc::new(proxy.stepped_up().await);
    let tasks: Vec<_> = orgs
        .iter()
        .cloned()
        .map(|org| {
            let proxy = proxy.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let arn = role_arn(CUSTOMER, &format!("alphaswarm-broker-{org}"));
                proxy
                    .post(&step(&org, "connect"), &token, json!({"role_arn": arn}))
                    .await
            })
        })
        .collect();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let store = proxy.store().await;
    assert_eq!(store.count().await.unwrap(), 50);
    for org in &orgs {
        let record = store
            .get(&format!("cloud_aws:org:{org}"))
            .await
            .unwrap()
            .expect("persisted");
        assert_eq!(
            record.metadata["role_arn"],
            role_arn(CUSTOMER, &format!("alphaswarm-broker-{org}"))
        );
        assert_eq!(record.sensitive["external_id"], external_id_for(org));
    }
    // A login, a step-up and 50 connects → 102 chained audit rows (a
    // checkpoint signed at the 100th).
    let audit = proxy.verify_audit().await;
    assert_eq!(
        (audit.ok, audit.rows, audit.signed_rows),
        (true, 102, 100),
        "{audit:?}"
    );
}
