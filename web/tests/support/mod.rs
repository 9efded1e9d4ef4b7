//! DOM helpers for the component tests, and a stand-in for `window.fetch`
//! that answers the wizard's calls from a table and records each request,
//! so whole flows (step-up prompt included) run in the browser without a
//! proxy.

use serde_json::Value;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement};

/// A fresh container on the page, so tests do not see each other's DOM.
pub fn container() -> HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

pub fn all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

pub fn one(root: &Element, selector: &str) -> Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no element matches {selector}"))
}

pub fn text(root: &Element, selector: &str) -> String {
    one(root, selector).text_content().unwrap_or_default()
}

pub fn click(root: &Element, selector: &str) {
    one(root, selector).unchecked_into::<HtmlElement>().click();
}

/// Types `value` into an input as a user would (an `input` event that bubbles).
pub fn type_into(root: &Element, selector: &str, value: &str) {
    let input: HtmlInputElement = one(root, selector).unchecked_into();
    input.set_value(value);
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict("input", &init).unwrap();
    input.dispatch_event(&event).unwrap();
}

pub fn input_checked(root: &Element, selector: &str) -> bool {
    one(root, selector)
        .unchecked_into::<HtmlInputElement>()
        .checked()
}

pub fn input_value(root: &Element, selector: &str) -> String {
    one(root, selector)
        .unchecked_into::<HtmlInputElement>()
        .value()
}

/// Lets Leptos run the effects a signal change scheduled.
pub async fn tick() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

/// Polls `ready` until it holds (requests are answered asynchronously).
pub async fn wait_until(what: &str, ready: impl Fn() -> bool) {
    for _ in 0..300 {
        if ready() {
            return;
        }
        gloo_timers::future::TimeoutFuture::new(10).await;
    }
    panic!("timed out waiting for {what}");
}

/// Replaces `window.fetch`: `routes` maps `"METHOD /path"` to a list of
/// `{status, body}` answers, served in order (the last one repeats). An
/// unknown route answers 404 in the proxy's error shape.
pub fn stub_fetch(routes: Value) {
    let install = js_sys::Function::new_with_args(
        "routes",
        r#"
        window.__stub = { routes: JSON.parse(routes), requests: [] };
        window.fetch = async (input, init) => {
            const req = input instanceof Request ? input : new Request(input, init);
            const path = new URL(req.url).pathname;
            const text = await req.text();
            window.__stub.requests.push({ method: req.method, path, authorization: req.headers.get('authorization'),
                body: text ? JSON.parse(text) : null });
            const queue = window.__stub.routes[req.method + ' ' + path];
            const answer = !queue ? { status: 404, body: { code: 'not_found', message: 'no stub for ' + path, hint: '' } }
                : queue.length > 1 ? queue.shift() : queue[0];
            return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json' } });
        };
        "#,
    );
    install
        .call1(&wasm_bindgen::JsValue::NULL, &routes.to_string().into())
        .unwrap();
}

/// A request the stub saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

pub fn requests() -> Vec<Seen> {
    let read = js_sys::Function::new_no_args("return JSON.stringify(window.__stub.requests)");
    let json = read.call0(&wasm_bindgen::JsValue::NULL).unwrap();
    let list: Vec<Value> = serde_json::from_str(&json.as_string().unwrap()).unwrap();
    list.into_iter()
        .map(|r| Seen {
            method: r["method"].as_str().unwrap().to_owned(),
            path: r["path"].as_str().unwrap().to_owned(),
            authorization: r["authorization"].as_str().map(str::to_owned),
            body: r["body"].clone(),
        })
        .collect()
}

/// The requests to paths ending with `suffix`.
pub fn requests_to(suffix: &str) -> Vec<Seen> {
    requests()
        .into_iter()
        .filter(|r| r.path.ends_with(suffix))
        .collect()
}

pub fn ok(body: Value) -> Value {
    serde_json::json!({ "status": 200, "body": body })
}

pub fn minimal_bundle(cloud: &str) -> Value {
    serde_json::json!({
        "cloud": cloud, "orgId": "acme", "values": [], "files": [],
        "commands": { "bash": [], "powershell": [] },
        "links": [], "terraform": "", "warnings": [], "notes": []
    })
}
