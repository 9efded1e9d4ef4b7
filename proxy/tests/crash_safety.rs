//! kill -9 the real proxy binary while many connects run in parallel
//! (SQLite, the embedded default): after a restart every acknowledged (200)
//! connection is still there, the store decrypts, and the audit chain
//! verifies.

mod common;

use alphaswarm_proxy::audit::AuditSink;
use alphaswarm_proxy::db::audit::DbAuditSink;
use alphaswarm_proxy::db::store::DbIntegrationStore;
use alphaswarm_proxy::db::{Database, OpenOptions, Target};
use alphaswarm_proxy::store::{FernetFileStore, IntegrationStore};
use common::*;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_connections_survive_kill_dash_nine() {
    let dir = temp_dir("crash");
    let key = FernetFileStore::generate_key();
    let mut env = common::binary_env(&dir, &key, EXTERNAL_ID_SECRET);
    env.extend([
        ("ALPHASWARM_ADMIN_AWS_FAKE", "1".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    let mut proxy = BinaryProxy::spawn(&dir, "first", &env);
    let (password, totp) = proxy.enrollment();
    let http = common::http_client();
    let token = Arc::new(proxy.stepped_up(&http, &password, &totp).await);

    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let base = proxy.base.clone();
    let total = 400;
    let workers: Vec<_> = (0..16)
        .map(|worker| {
            let (http, token, acknowledged, done, base) = (
                http.clone(),
                token.clone(),
                acknowledged.clone(),
                done.clone(),
                base.clone(),
            );
            tokio::spawn(async move {
                for i in (worker..total).step_by(16) {
                    let org = format!("crash-{i}");
                    let response = http
                        .post(format!("{base}/admin/accounts/{org}/cloud/aws/connect"))
                        .bearer_auth(token.as_str())
                        .json(&json!({"role_arn": role_arn(CUSTOMER, &format!("r{i}"))}))
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status() == 200 => acknowledged.lock().unwrap().push(org),
                        Ok(r) => panic!("connect {org} failed before the crash: {}", r.status()),
                        Err(_) => return, // the proxy died
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Kill in the middle of the stream of writes.
    while done.load(Ordering::SeqCst) < 60 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    proxy.kill_hard();
    for w in workers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 60 && acknowledged.len() < total,
        "killed mid-way: {}",
        acknowledged.len()
    );
    // The database on disk decrypts and holds every acknowledged connection.
    let db = Database::open(
        &Target::Sqlite(dir.join("state").join("alphaswarm.db")),
        OpenOptions::default(),
    )
    .await
    .unwrap();
    let store = DbIntegrationStore::open(db.clone(), &key).await.unwrap();
    for org in &acknowledged {
        assert!(
            store
                .get(&format!("cloud_aws:org:{org}"))
                .await
                .unwrap()
                .is_some(),
            "{org} lost"
        );
    }
    let audit = DbAuditSink::new(db.clone()).verify().await.unwrap();
    assert!(audit.ok, "{audit:?}");
    assert!(
        audit.rows >= 2 * acknowledged.len() as u64,
        "a pending and a result row per acknowledged connect: {audit:?}"
    );
    db.close().await;

    // Restart: the proxy reads the same store, and the API lists them.
    let restarted = BinaryProxy::spawn(&dir, "second", &env);
    assert!(
        !restarted.stdout().contains("password:"),
        "no re-enrolment on restart"
    );
    let token = restarted.stepped_up(&http, &password, &totp).await;
    for org in acknowledged.iter().take(40) {
        let body: serde_json::Value = http
            .get(format!(
                "{}/admin/accounts/{org}/integrations",
                restarted.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["integrations"].as_array().map(Vec::len),
            Some(1),
            "{org}: {body}"
        );
    }
    println!(
        "acknowledged {} of {total} before kill -9",
        acknowledged.len()
    );
}
