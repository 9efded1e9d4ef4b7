//! The built web UI is served at `/` with `index.html` as the fallback for
//! client-side routes, while unknown API paths stay JSON 404s.

mod common;

use common::*;

#[tokio::test]
async fn the_web_ui_is_served_with_an_index_fallback() {
    let web = temp_dir("web");
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><title>AlphaSwarm wizard</title>",
    )
    .unwrap();
    std::fs::write(web.join("app.js"), "console.log('wizard')").unwrap();
    let web = web.display().to_string();
    let proxy = TestProxy::start_with("static", &[(alphaswarm_proxy::config::WEB_DIR, &web)]).await;
    let get = |path: &str| {
        let url = proxy.url(path);
        let http = proxy.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, body) = get("/").await;
    assert_eq!(status, 200);
    assert!(body.contains("AlphaSwarm wizard"));
    assert_eq!(
        get("/app.js").await,
        (200, "console.log('wizard')".to_owned())
    );
    let (status, body) = get("/accounts/acme/integrations").await;
    assert_eq!(status, 200, "client-side routes fall back to index.html");
    assert!(body.contains("AlphaSwarm wizard"));
    let (status, body) = get("/admin/unknown").await;
    assert_eq!(status, 404);
    assert!(body.contains("\"code\":\"not_found\""));
}

#[tokio::test]
async fn without_a_built_ui_the_root_says_so() {
    let proxy = TestProxy::start("noweb").await;
    let r = proxy.http.get(proxy.url("/")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.text().await.unwrap().contains("web_ui_not_built"));
}
