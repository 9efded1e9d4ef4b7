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

/// `gzip -9 -n` of `console.log('wizard')` and of the index page, as
/// scripts/build-web.sh writes them next to each asset.
const APP_JS_GZ: &[u8] = &[
    31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 75, 206, 207, 43, 206, 207, 73, 213, 203, 201, 79, 215, 80,
    47, 207, 172, 74, 44, 74, 81, 215, 4, 0, 119, 249, 64, 39, 21, 0, 0, 0,
];
const INDEX_GZ: &[u8] = &[
    31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 179, 81, 76, 201, 79, 46, 169, 44, 72, 85, 200, 40, 201, 205,
    177, 179, 41, 201, 44, 201, 73, 181, 115, 204, 41, 200, 72, 12, 46, 79, 44, 202, 85, 40, 207,
    172, 74, 44, 74, 177, 209, 135, 72, 0, 0, 243, 77, 227, 137, 47, 0, 0, 0,
];

#[tokio::test]
async fn ui_assets_travel_gzip_encoded_to_browsers_that_accept_it_and_plain_otherwise() {
    let web = temp_dir("web-gz");
    let index = "<!doctype html><title>AlphaSwarm wizard</title>";
    std::fs::write(web.join("index.html"), index).unwrap();
    std::fs::write(web.join("index.html.gz"), INDEX_GZ).unwrap();
    std::fs::write(web.join("app.js"), "console.log('wizard')").unwrap();
    std::fs::write(web.join("app.js.gz"), APP_JS_GZ).unwrap();
    let web = web.display().to_string();
    let proxy =
        TestProxy::start_with("static-gz", &[(alphaswarm_proxy::config::WEB_DIR, &web)]).await;
    // (Content-Encoding, Vary, Content-Type, body bytes) for one request.
    let get = |path: &str, accept: Option<&str>| {
        let mut request = proxy.http.get(proxy.url(path));
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            let header = |name: &str| {
                r.headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            };
            let (encoding, vary, kind) = (
                header("content-encoding"),
                header("vary"),
                header("content-type"),
            );
            (encoding, vary, kind, r.bytes().await.unwrap().to_vec())
        }
    };

    let (encoding, vary, kind, body) = get("/app.js", Some("gzip, deflate, br")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(vary.as_deref(), Some("accept-encoding"));
    assert_eq!(
        kind.as_deref(),
        Some("text/javascript"),
        "the type of the file, not of its .gz"
    );
    assert_eq!(
        body, APP_JS_GZ,
        "exactly the precompressed file the build wrote"
    );

    for accept in [None, Some("identity"), Some("br")] {
        let (encoding, vary, _, body) = get("/app.js", accept).await;
        assert_eq!(encoding, None, "{accept:?}");
        assert_eq!(vary.as_deref(), Some("accept-encoding"));
        assert_eq!(body, b"console.log('wizard')", "{accept:?}");
    }

    // The page itself and the client-side routes that fall back to it.
    for path in ["/", "/orgs/acme/connect/aws"] {
        let (encoding, _, kind, body) = get(path, Some("gzip")).await;
        assert_eq!(encoding.as_deref(), Some("gzip"), "{path}");
        assert!(kind.unwrap().starts_with("text/html"), "{path}");
        assert_eq!(body, INDEX_GZ, "{path}");
        let (encoding, _, _, body) = get(path, None).await;
        assert_eq!(
            (encoding, body),
            (None, index.as_bytes().to_vec()),
            "{path}"
        );
    }
}
