//! Two proxy replicas (the real binary) on one real PostgreSQL: parallel
//! connects through both, `kill -9` of one mid-way, restart. Every
//! acknowledged connect is present, the store decrypts, and the audit chain
//! verifies as ONE chain with both replicas' rows interleaved and no fork.
//! Replicas share one operator's sign-in guards (a TOTP code is accepted
//! once; the attempt budgets count across replicas), honour each other's
//! step-up and publish the same federation keys. Start-up refuses a wrong key, an unreachable
//! server and a failed migration with a coded message naming the variable.

mod common;
#[path = "support/postgres.rs"]
mod postgres;

use alphaswarm_proxy::audit::AuditSink;
use alphaswarm_proxy::db::audit::DbAuditSink;
use alphaswarm_proxy::db::store::DbIntegrationStore;
use alphaswarm_proxy::db::{Database, OpenOptions, Target};
use alphaswarm_proxy::store::{FernetFileStore, IntegrationStore};
use common::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn replica_env(
    dir: &std::path::Path,
    key: &str,
    url: &str,
    aws: &LoopbackAws,
) -> Vec<(&'static str, String)> {
    let mut env = common::binary_env(dir, key, EXTERNAL_ID_SECRET);
    env.extend([
        ("ALPHASWARM_ADMIN_DATABASE_URL", url.to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    env.extend(aws.env());
    env
}

/// A replica with its own state dir (its own local operator, for now) and
/// a stepped-up session on it.
struct Replica {
    name: &'static str,
    proxy: BinaryProxy,
    password: String,
    totp: totp_rs::TOTP,
    token: String,
}

impl Replica {
    async fn start(
        name: &'static str,
        root: &std::path::Path,
        key: &str,
        url: &str,
        aws: &LoopbackAws,
    ) -> Replica {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let env = replica_env(&dir, key, url, aws);
        // Spawning waits for the banner: off the runtime, so replicas start together.
        let proxy = tokio::task::spawn_blocking(move || BinaryProxy::spawn(&dir, "first", &env))
            .await
            .unwrap();
        let (password, totp) = proxy.enrollment();
        let token = proxy
            .stepped_up(&common::http_client(), &password, &totp)
            .await;
        Replica {
            name,
            proxy,
            password,
            totp,
            token,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_one_store_and_one_chain_through_a_kill_dash_nine() {
    let root = temp_dir("replicas");
    let url = postgres::fresh_database().await;
    let aws = LoopbackAws::start().await;
    let key = FernetFileStore::generate_key();
    // Both start (and migrate) at the same time.
    let (a, b) = tokio::join!(
        Replica::start("a", &root, &key, &url, &aws),
        Replica::start("b", &root, &key, &url, &aws)
    );
    let mut a = a;
    let http = common::http_client();
    // Both generated a first federation key at the same moment: one won,
    // and both publish the winner's.
    let jwks_a = published_jwks(&http, &a.proxy.base).await;
    assert_eq!(jwks_a["keys"].as_array().map(Vec::len), Some(1), "{jwks_a}");
    assert_eq!(jwks_a, published_jwks(&http, &b.proxy.base).await);

    let acknowledged = Arc::new(Mutex::new(Vec::<(String, &'static str, String)>::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let total = 240;
    let roles: Vec<String> = (0..total)
        .map(|i| {
            aws.role(
                &format!("rep-{i}"),
                &format!("r{i}"),
                Trust::Rendered,
                Grant::Baseline,
            )
        })
        .collect();
    let workers: Vec<_> = (0..12)
        .map(|worker| {
            let replica = if worker % 2 == 0 { &a } else { &b };
            let (http, base, token, name) = (
                http.clone(),
                replica.proxy.base.clone(),
                replica.token.clone(),
                replica.name,
            );
            let (acknowledged, done, roles) = (acknowledged.clone(), done.clone(), roles.clone());
            tokio::spawn(async move {
                for i in (worker..total).step_by(12) {
                    let org = format!("rep-{i}");
                    let response = http
                        .post(format!("{base}/admin/accounts/{org}/cloud/aws/connect"))
                        .bearer_auth(&token)
                        .json(&json!({"role_arn": roles[i]}))
                        .send()
                        .await;
                    let body: Value = match response {
                        Ok(r) if r.status() == 200 => match r.json().await {
                            Ok(body) => body,
                            Err(_) => return, // died while answering: not acknowledged
                        },
                        Ok(r) => panic!("connect {org} via {name} failed: {}", r.status()),
                        Err(_) => return, // replica a was killed
                    };
                    let run = body["audit_run_id"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().push((org, name, run));
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    while done.load(Ordering::SeqCst) < 60 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    a.proxy.kill_hard();
    for w in workers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let through_a = acknowledged.iter().filter(|(_, n, _)| *n == "a").count();
    assert!(
        through_a >= 10 && through_a < total / 2,
        "a died mid-way: {through_a} acknowledged through it"
    );
    assert_eq!(
        acknowledged.len() - through_a,
        total / 2,
        "b served all of its share"
    );

    // a restarts (no re-enrolment: its state dir kept its operator). Its
    // first step-up's code stays used across the restart: the next step's.
    let dir_a = root.join("a");
    let restarted = BinaryProxy::spawn(&dir_a, "second", &replica_env(&dir_a, &key, &url, &aws));
    assert!(!restarted.stdout().contains("password:"));
    let login_a = restarted.login(&http, &a.password).await;
    let (status, body) = step_up(&http, &restarted.base, &login_a, &next_totp_code(&a.totp)).await;
    assert_eq!(status, 200, "{body}");
    let token_a = body["token"].as_str().unwrap().to_owned();

    // Every acknowledged connect is listed by either replica.
    for (i, (org, _, _)) in acknowledged.iter().enumerate() {
        let (base, token) = if i % 2 == 0 {
            (&restarted.base, &token_a)
        } else {
            (&b.proxy.base, &b.token)
        };
        let body: Value = http
            .get(format!("{base}/admin/accounts/{org}/integrations"))
            .bearer_auth(token)
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

    // The store decrypts; the chain is one, verified by both replicas.
    let db = Database::open(&Target::postgres(&url).unwrap(), OpenOptions::default())
        .await
        .unwrap();
    let store = DbIntegrationStore::open(db.clone(), &key).await.unwrap();
    assert!(store.count().await.unwrap() >= acknowledged.len());
    for (org, _, _) in &acknowledged {
        let record = store
            .get(&format!("cloud_aws:org:{org}"))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{org} lost"));
        assert_eq!(record.sensitive["external_id"], external_id_for(org));
    }
    for (base, token) in [(&restarted.base, &token_a), (&b.proxy.base, &b.token)] {
        let report: Value = http
            .get(format!("{base}/admin/audit/verify"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(report["ok"], true, "{report}");
    }
    // Checked against the one checkpoint key the replicas share.
    let key = alphaswarm_proxy::audit::AuditSigner::load(
        &root
            .join("a")
            .join("state")
            .join(alphaswarm_proxy::audit::SIGNING_KEY_FILE),
    )
    .unwrap()
    .verifying_key();
    let report = DbAuditSink::verifier(db.clone(), key)
        .verify()
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
    let rows = common::audit_rows(&db).await;
    assert_eq!(rows.len() as u64, report.rows);
    // No fork: seq 1..n, each row chained to the one before.
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["seq"], i as u64 + 1);
        if i > 0 {
            assert_eq!(row["prev_hash"], rows[i - 1]["hash"]);
        }
    }
    // Interleaved: the chain alternates between the replicas' runs.
    let writer: HashMap<&str, &str> = acknowledged
        .iter()
        .map(|(_, name, run)| (run.as_str(), *name))
        .collect();
    let order: Vec<&str> = rows
        .iter()
        .filter_map(|r| writer.get(r["audit_run_id"].as_str().unwrap()).copied())
        .collect();
    let switches = order.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        switches >= 10,
        "rows of both replicas interleave ({switches} switches)"
    );
    for (_, _, run) in &acknowledged {
        let phases: Vec<&str> = rows
            .iter()
            .filter(|r| r["audit_run_id"] == run.as_str())
            .map(|r| r["phase"].as_str().unwrap())
            .collect();
        assert_eq!(phases, ["pending", "succeeded"], "{run}");
    }
    db.close().await;
}

async fn step_up(http: &reqwest::Client, base: &str, token: &str, code: &str) -> (u16, Value) {
    let response = http
        .post(format!("{base}/auth/step-up"))
        .bearer_auth(token)
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_sign_in_guards_step_up_and_federation_keys() {
    let root = temp_dir("replica-guards");
    let url = postgres::fresh_database().await;
    let aws = LoopbackAws::start().await;
    let key = FernetFileStore::generate_key();
    let a = Replica::start("a", &root, &key, &url, &aws).await;
    // Replicas share one operator (its file on a shared volume or secret).
    let state_b = root.join("b").join("state");
    std::fs::create_dir_all(&state_b).unwrap();
    std::fs::copy(
        root.join("a").join("state").join("operator.json"),
        state_b.join("operator.json"),
    )
    .unwrap();
    let dir_b = root.join("b");
    let b = BinaryProxy::spawn(&dir_b, "first", &replica_env(&dir_b, &key, &url, &aws));
    assert!(
        !b.stdout().contains("password:"),
        "b did not enrol its own operator"
    );
    let http = common::http_client();

    // A step-up obtained on a is honoured by b.
    let arn = aws.role("guards-b", "guards", Trust::Rendered, Grant::Baseline);
    let connect = |base: String, token: String, org: &'static str| {
        let (http, arn) = (http.clone(), arn.clone());
        async move {
            http.post(format!("{base}/admin/accounts/{org}/cloud/aws/connect"))
                .bearer_auth(token)
                .json(&json!({"role_arn": arn}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        connect(b.base.clone(), a.token.clone(), "guards-b").await,
        200
    );

    // A code accepted on a is refused on b (and on a again).
    let code = next_totp_code(&a.totp);
    let login_a = a.proxy.login(&http, &a.password).await;
    let (status, body) = step_up(&http, &a.proxy.base, &login_a, &code).await;
    assert_eq!(status, 200, "{body}");
    let login_b = b.login(&http, &a.password).await;
    let (status, body) = step_up(&http, &b.base, &login_b, &code).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "invalid_totp_code", "{body}");

    // Both publish the same keys.
    let keys_a = published_jwks(&http, &a.proxy.base).await;
    assert_eq!(keys_a["keys"].as_array().map(Vec::len), Some(1), "{keys_a}");
    assert_eq!(keys_a, published_jwks(&http, &b.base).await);

    // One budget behind a load balancer: the replayed code refused by b
    // and wrong codes sent to a and b in turn spend the client's 5 free
    // failures together (per-replica budgets would allow 5 on each), and
    // both then refuse.
    let bases = [&a.proxy.base, &b.base];
    let logins = [&login_a, &login_b];
    for attempt in 0..4 {
        let (status, body) =
            step_up(&http, bases[attempt % 2], logins[attempt % 2], "nocode").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("invalid_totp_code")),
            "attempt {attempt}: {body}"
        );
    }
    for (base, login) in bases.iter().zip(logins) {
        let (status, body) = step_up(&http, base, login, "nocode").await;
        assert_eq!(status, 429, "{base}: {body}");
        assert_eq!(body["code"], "too_many_attempts", "{body}");
    }
}

/// Runs the binary's `serve` with `env` and returns (exit code, all output).
fn start_and_fail(dir: &std::path::Path, env: &[(&str, String)]) -> (Option<i32>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_alphaswarm-proxy"))
        .env_clear()
        .env("HOME", dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test]
async fn start_up_refuses_a_wrong_key_a_dead_server_and_a_failed_migration() {
    let root = temp_dir("refusals");
    let url = postgres::fresh_database().await;
    let aws = LoopbackAws::start().await;
    let key = FernetFileStore::generate_key();
    // The database learns the key from the first replica.
    drop(BinaryProxy::spawn(
        &root,
        "first",
        &replica_env(&root, &key, &url, &aws),
    ));

    let other_key = FernetFileStore::generate_key();
    let (code, text) = start_and_fail(&root, &replica_env(&root, &other_key, &url, &aws));
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("[store_wrong_key]"), "{text}");
    assert!(text.contains("ALPHASWARM_ADMIN_INTEGRATIONS_KEY"), "{text}");
    assert!(!text.contains(&other_key) && !text.contains(&key), "{text}");

    let dead = postgres::unreachable_url("pw-CANARY-dead");
    let mut env = replica_env(&root, &key, &dead, &aws);
    env.push((
        "ALPHASWARM_ADMIN_DATABASE_CONNECT_TIMEOUT_SECONDS",
        "1".to_owned(),
    ));
    let (code, text) = start_and_fail(&root, &env);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("[database_unreachable]"), "{text}");
    assert!(text.contains("ALPHASWARM_ADMIN_DATABASE_URL"), "{text}");
    assert!(
        !text.contains("CANARY"),
        "the password is never printed: {text}"
    );
    assert!(!text.contains("panicked"), "{text}");

    // Another application owns a table the first migration creates.
    let clash = postgres::fresh_database().await;
    let pool = sqlx::PgPool::connect(&clash).await.unwrap();
    sqlx::raw_sql("CREATE TABLE integrations (owner TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    let (code, text) = start_and_fail(&root, &replica_env(&root, &key, &clash, &aws));
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("[database_migration_failed]"), "{text}");
    assert!(text.contains("ALPHASWARM_ADMIN_DATABASE_URL"), "{text}");
    assert!(text.contains("rolled back"), "{text}");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(tables, ["integrations"], "nothing half-migrated");
    pool.close().await;

    // A shared database needs the shared key and external-id secret.
    let env: Vec<_> = replica_env(&root, &key, &url, &aws)
        .into_iter()
        .filter(|(k, _)| *k != "ALPHASWARM_ADMIN_INTEGRATIONS_KEY")
        .collect();
    let (code, text) = start_and_fail(&root, &env);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("ALPHASWARM_ADMIN_INTEGRATIONS_KEY is required when ALPHASWARM_ADMIN_DATABASE_URL is set"),
        "{text}"
    );
}
