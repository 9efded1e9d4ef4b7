//! kill -9 the real proxy binary while many connects run in parallel
//! (SQLite, the embedded default): after a restart every acknowledged (200)
//! connection is still there, the store decrypts, and the audit chain
//! verifies. Once for AWS (in-process fake) and once for Cloudflare tokens
//! (loopback fake).

mod common;

use alphaswarm_proxy::audit::{AuditSigner, AuditSink, SIGNING_KEY_FILE};
use alphaswarm_proxy::db::audit::DbAuditSink;
use alphaswarm_proxy::db::store::DbIntegrationStore;
use alphaswarm_proxy::store::{FernetFileStore, IntegrationStore};
use common::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Sends `total` connects from 16 workers (`request(i)` is the i-th's path
/// and body), kills the proxy hard once `kill_after` were acknowledged, and
/// returns the indices acknowledged with a 200.
async fn connect_until_killed(
    proxy: &mut BinaryProxy,
    http: &reqwest::Client,
    session: &str,
    total: usize,
    kill_after: usize,
    request: impl Fn(usize) -> (String, Value) + Send + Sync + 'static,
) -> Vec<usize> {
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let request = Arc::new(request);
    let session = Arc::new(session.to_owned());
    let workers: Vec<_> = (0..16)
        .map(|worker| {
            let (http, session, acknowledged, done, base, request) = (
                http.clone(),
                session.clone(),
                acknowledged.clone(),
                done.clone(),
                proxy.base.clone(),
                request.clone(),
            );
            tokio::spawn(async move {
                for i in (worker..total).step_by(16) {
                    let (path, body) = request(i);
                    let response = http
                        .post(format!("{base}{path}"))
                        .bearer_auth(session.as_str())
                        .json(&body)
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status() == 200 => acknowledged.lock().unwrap().push(i),
                        Ok(r) => panic!("{path} failed before the crash: {}", r.status()),
                        Err(_) => return, // the proxy died
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Kill in the middle of the stream of writes.
    while done.load(Ordering::SeqCst) < kill_after {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    proxy.kill_hard();
    for w in workers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= kill_after && acknowledged.len() < total,
        "killed mid-way: {}",
        acknowledged.len()
    );
    acknowledged
}

/// `GET path` on a running proxy, as JSON.
async fn get_json(http: &reqwest::Client, proxy: &BinaryProxy, path: &str, session: &str) -> Value {
    http.get(format!("{}{path}", proxy.base))
        .bearer_auth(session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_connections_survive_kill_dash_nine() {
    let dir = temp_dir("crash");
    let key = FernetFileStore::generate_key();
    let total = 400;
    // One role per org, from the rendered artifacts, in the loopback AWS the
    // binary's real client talks to.
    let aws = LoopbackAws::start().await;
    for i in 0..total {
        aws.role(
            &format!("crash-{i}"),
            &format!("r{i}"),
            Trust::Rendered,
            Grant::Baseline,
        );
    }
    let mut env = common::binary_env(&dir, &key, EXTERNAL_ID_SECRET);
    env.extend(aws.env());
    env.push(("RUST_LOG", "warn".to_owned()));
    let mut proxy = BinaryProxy::spawn(&dir, "first", &env);
    let (password, totp) = proxy.enrollment();
    let http = common::http_client();
    let session = proxy.stepped_up(&http, &password, &totp).await;
    let acknowledged = connect_until_killed(&mut proxy, &http, &session, total, 60, |i| {
        (
            format!("/admin/accounts/crash-{i}/cloud/aws/connect"),
            json!({"role_arn": role_arn(CUSTOMER, &format!("r{i}"))}),
        )
    })
    .await;
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();

    // The database on disk decrypts and holds every acknowledged connection.
    let db = binary_database(&dir).await;
    let store = DbIntegrationStore::open(db.clone(), &key).await.unwrap();
    for i in &acknowledged {
        assert!(
            store
                .get(&format!("cloud_aws:org:crash-{i}"))
                .await
                .unwrap()
                .is_some(),
            "crash-{i} lost"
        );
    }
    let key = AuditSigner::load(&dir.join("state").join(SIGNING_KEY_FILE))
        .unwrap()
        .verifying_key();
    // Each row is committed with the head it moves: a kill cannot tear one.
    let audit = DbAuditSink::verifier(db.clone(), key)
        .verify()
        .await
        .unwrap();
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
    // The restart signed the rows the crash left unsigned.
    let db = binary_database(&dir).await;
    let audit = DbAuditSink::verifier(db.clone(), key)
        .verify()
        .await
        .unwrap();
    db.close().await;
    assert!(
        audit.ok && audit.rows_after_last_checkpoint == 0,
        "{audit:?}"
    );
    let session = restarted
        .stepped_up_with_code(&http, &password, &next_totp_code(&totp))
        .await;
    for i in acknowledged.iter().take(40) {
        let path = format!("/admin/accounts/crash-{i}/integrations");
        let body = get_json(&http, &restarted, &path, &session).await;
        assert_eq!(
            body["integrations"].as_array().map(Vec::len),
            Some(1),
            "crash-{i}: {body}"
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
    let session = proxy.stepped_up(&http, &password, &totp).await;
    let sent = tokens.clone();
    let acknowledged = connect_until_killed(&mut proxy, &http, &session, total, 40, move |i| {
        (
            format!("/admin/accounts/cf-{i}/cloud/cloudflare/connect"),
            json!({"token": sent[i], "template": "r2"}),
        )
    })
    .await;
    let db = binary_database(&dir).await;
    let store = DbIntegrationStore::open(db.clone(), &key).await.unwrap();
    for &i in &acknowledged {
        let record = store
            .get(&format!("cloud_cloudflare:org:cf-{i}"))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("cf-{i} lost"));
        assert_eq!(
            record.secrets["token"], tokens[i],
            "cf-{i} holds its own token"
        );
    }
    db.close().await;
    let raw = binary_database_bytes(&dir);
    assert!(tokens.iter().all(|t| !raw.contains(t.as_str())));

    let restarted = BinaryProxy::spawn(&dir, "second", &env);
    // The first run's code stays used across the restart (the replay guard persists).
    let session = restarted
        .stepped_up_with_code(&http, &password, &next_totp_code(&totp))
        .await;
    for &i in acknowledged.iter().take(20) {
        let path = format!("/admin/accounts/cf-{i}/integrations");
        let body = get_json(&http, &restarted, &path, &session).await;
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
