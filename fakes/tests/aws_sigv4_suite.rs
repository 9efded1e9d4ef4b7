//! The fake's own SigV4 verifier against AWS's published test vectors
//! (tests/sigv4-suite, see its README): for every signed request it must
//! build the suite's canonical request and string to sign, accept the
//! suite's signature, and refuse the same request after any one change
//! (secret, a signed header's value, the body, the path, the signature).

use alphaswarm_fakes::aws::sigv4::{self, Received};
use std::path::{Path, PathBuf};

fn suite() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4-suite");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

struct Parsed {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A raw HTTP/1.1 request as the suite writes it (folded header lines
/// continue the previous header, as obsolete line folding does).
fn parse_request(text: &str) -> Parsed {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.rsplit_once(" HTTP/").unwrap().0;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    Parsed {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// Where header `name` is in a parsed request.
fn header_at(parsed: &Parsed, name: &str) -> usize {
    parsed
        .headers
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case(name))
        .unwrap()
}

fn read(case: &Path, file: &str) -> String {
    std::fs::read_to_string(case.join(file)).unwrap()
}

fn check(parsed: &Parsed, secret: &str) -> Result<(), sigv4::SigError> {
    let received = Received {
        method: &parsed.method,
        path: &parsed.path,
        query: &parsed.query,
        headers: &parsed.headers,
        body: &parsed.body,
    };
    let auth = sigv4::parse_authorization(received.header("authorization").unwrap())?;
    let date = received.header("x-amz-date").unwrap();
    sigv4::verify(&received, &auth, date, secret)
}

#[test]
fn every_vector_verifies_and_any_change_is_refused() {
    let cases = suite();
    assert!(cases.len() >= 30, "only {} vectors", cases.len());
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let context: serde_json::Value =
            serde_json::from_str(&read(&case, "context.json")).unwrap();
        let secret = context["credentials"]["secret_access_key"]
            .as_str()
            .unwrap();
        let parsed = parse_request(&read(&case, "header-signed-request.txt"));
        let received = Received {
            method: &parsed.method,
            path: &parsed.path,
            query: &parsed.query,
            headers: &parsed.headers,
            body: &parsed.body,
        };
        let auth = sigv4::parse_authorization(received.header("authorization").unwrap()).unwrap();
        let canonical = sigv4::canonical_request(&received, &auth.signed_headers).unwrap();
        assert_eq!(
            canonical,
            read(&case, "header-canonical-request.txt"),
            "{name}: canonical request"
        );
        let date = received.header("x-amz-date").unwrap();
        let to_sign = sigv4::string_to_sign(date, &auth.scope(), &canonical);
        assert_eq!(
            to_sign,
            read(&case, "header-string-to-sign.txt"),
            "{name}: string to sign"
        );
        assert_eq!(
            check(&parsed, secret),
            Ok(()),
            "{name}: the suite's signature"
        );

        assert!(
            check(&parsed, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ").is_err(),
            "{name}: accepted with another secret"
        );
        // One change at a time to the request as signed.
        type Change = (&'static str, fn(&mut Parsed));
        let changes: [Change; 4] = [
            ("a body byte", |p| p.body.push(b'x')),
            ("a path change", |p| p.path.push('x')),
            ("a signed header's value", |p| {
                let at = header_at(p, "host");
                p.headers[at].1.push_str(".evil");
            }),
            ("one signature digit", |p| {
                let at = header_at(p, "authorization");
                let value = &mut p.headers[at].1;
                let flipped = if value.ends_with('0') { '1' } else { '0' };
                value.pop();
                value.push(flipped);
            }),
        ];
        for (what, change) in changes {
            let mut changed = parse_request(&read(&case, "header-signed-request.txt"));
            change(&mut changed);
            assert!(
                check(&changed, secret).is_err(),
                "{name}: accepted after {what}"
            );
        }
    }
}

#[test]
fn the_signing_key_derivation_matches_the_aws_documentation_example() {
    // AWS General Reference, "Examples of how to derive a signing key for
    // Signature Version 4": secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
    // 20120215, us-east-1, iam.
    let key = sigv4::signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "20120215",
        "us-east-1",
        "iam",
    );
    assert_eq!(
        hex::encode(key),
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    );
}
