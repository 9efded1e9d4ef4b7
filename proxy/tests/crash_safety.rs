//! kill -9 the real proxy binary while many connects run in parallel:
//! after a restart every acknowledged (200) connection is still there, the
//! store decrypts, and the audit chain still verifies up to the crash.

mod common;

use alphaswarm_proxy::audit::{AuditSigner, SIGNING_KEY_FILE, TrailStatus, verify_files};
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
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();

    // The file on disk decrypts and holds every acknowledged connection.
    let store = FernetFileStore::open(dir.join("integrations.json"), &key).unwrap();
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
    let key = AuditSigner::load(&dir.join("state").join(SIGNING_KEY_FILE))
        .unwrap()
        .verifying_key();
    let audit = verify_files(&dir.join("audit.jsonl"), &key).unwrap();
    assert!(
        audit.ok
            || (audit.status == TrailStatus::TornTail
                && audit.first_bad_row == Some(audit.rows + 1)),
        "only a torn last line may fail: {audit:?}"
    );

    // Restart: the proxy reads the same store, and the API lists them.
    let restarted = BinaryProxy::spawn(&dir, "second", &env);
    assert!(
        !restarted.stdout().contains("password:"),
        "no re-enrolment on restart"
    );
    // The restart cut off any torn line and signed the rows the crash left unsigned.
    let audit = verify_files(&dir.join("audit.jsonl"), &key).unwrap();
    assert!(
        audit.ok && audit.rows_after_last_checkpoint == 0,
        "{audit:?}"
    );
    let token = restarted
        .stepped_up_with_code(&http, &password, &next_totp_code(&totp))
        .await;
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
        "acknowledged {} of {total} before kill -9; files: {leftovers:?}",
        acknowledged.len()
    );
}
