//! kill -9 the real proxy binary while many connects run in parallel:
//! after a restart every acknowledged (200) connection is still there, the
//! store decrypts, and the audit chain still verifies up to the crash.

mod common;

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
    let audit = alphaswarm_proxy::audit::verify_file(&dir.join("audit.jsonl")).unwrap();
    assert!(
        audit.ok || audit.first_bad_row == Some(audit.rows + 1),
        "only a torn last line may fail: {audit:?}"
    );

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
        "acknowledged {} of {total} before kill -9; files: {leftovers:?}",
        acknowledged.len()
    );
}

/// The same with Cloudflare tokens, the secrets the store exists for: every
/// acknowledged connect's token decrypts after kill -9, under its own org.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_cloudflare_tokens_survive_kill_dash_nine() {
    use alphaswarm_core::cloudflare::{CloudflareTemplate, TokenOwner};
    use alphaswarm_fakes::cloudflare::{CloudflareFake, MintOptions};

    let dir = temp_dir("crash-cf");
    let key = FernetFileStore::generate_key();
    let cf = CloudflareFake::new().start().await.unwrap();
    let total = 240;
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..total)
            .map(|_| {
                cf.fake
                    .mint_from_template(
                        CloudflareTemplate::R2,
                        TokenOwner::User,
                        None,
                        MintOptions::default(),
                    )
                    .unwrap()
                    .value
            })
            .collect(),
    );
    let mut env = common::binary_env(&dir, &key, EXTERNAL_ID_SECRET);
    env.extend([
        ("ALPHASWARM_ADMIN_CLOUDFLARE_ENDPOINT_URL", cf.api_url()),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    let mut proxy = BinaryProxy::spawn(&dir, "first", &env);
    let (password, totp) = proxy.enrollment();
    let http = common::http_client();
    let session = Arc::new(proxy.stepped_up(&http, &password, &totp).await);
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..16)
        .map(|worker| {
            let (http, session, acknowledged, done, base, tokens) = (
                http.clone(),
                session.clone(),
                acknowledged.clone(),
                done.clone(),
                proxy.base.clone(),
                tokens.clone(),
            );
            tokio::spawn(async move {
                for i in (worker..total).step_by(16) {
                    let response = http
                        .post(format!(
                            "{base}/admin/accounts/cf-{i}/cloud/cloudflare/connect"
                        ))
                        .bearer_auth(session.as_str())
                        .json(&json!({"token": tokens[i], "template": "r2"}))
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status() == 200 => acknowledged.lock().unwrap().push(i),
                        Ok(r) => panic!("connect cf-{i} failed before the crash: {}", r.status()),
                        Err(_) => return,
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    while done.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    proxy.kill_hard();
    for w in workers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 40 && acknowledged.len() < total,
        "killed mid-way: {}",
        acknowledged.len()
    );
    let store = FernetFileStore::open(dir.join("integrations.json"), &key).unwrap();
    for &i in &acknowledged {
        let record = store
            .get(&format!("cloud_cloudflare:org:cf-{i}"))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("cf-{i} lost"));
        assert_eq!(
            record.sensitive["token"], tokens[i],
            "cf-{i} holds its own token"
        );
    }
    let raw = std::fs::read_to_string(dir.join("integrations.json")).unwrap();
    assert!(tokens.iter().all(|t| !raw.contains(t.as_str())));

    let restarted = BinaryProxy::spawn(&dir, "second", &env);
    let session = restarted.stepped_up(&http, &password, &totp).await;
    for &i in acknowledged.iter().take(20) {
        let body: serde_json::Value = http
            .get(format!(
                "{}/admin/accounts/cf-{i}/integrations",
                restarted.base
            ))
            .bearer_auth(&session)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["integrations"][0]["kind"], "cloud_cloudflare",
            "{body}"
        );
        assert!(!body.to_string().contains(tokens[i].as_str()));
    }
    println!(
        "cloudflare: acknowledged {} of {total} before kill -9",
        acknowledged.len()
    );
}
