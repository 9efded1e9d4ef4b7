//! The AWS Query protocol: form parameters in, XML out, per service.

use super::state::Fault;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Sts,
    Iam,
    Ec2,
}

impl Service {
    /// Each Query API has its own `Version`; with the action it names the
    /// service independently of how the request was signed.
    pub fn of(action: &str, version: &str) -> Option<Service> {
        match version {
            "2011-06-15" => Some(Service::Sts),
            "2010-05-08" => Some(Service::Iam),
            "2016-11-15" if !action.is_empty() => Some(Service::Ec2),
            _ => None,
        }
    }

    /// The SigV4 signing name.
    pub fn name(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::Iam => "iam",
            Service::Ec2 => "ec2",
        }
    }

    fn namespace(self) -> &'static str {
        match self {
            Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
            Service::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
            Service::Ec2 => "http://ec2.amazonaws.com/doc/2016-11-15/",
        }
    }

    /// The fault for a missing required parameter (`name` as the API spells it).
    pub fn missing(self, name: &str) -> Fault {
        match self {
            Service::Ec2 => Fault::new(
                400,
                "MissingParameter",
                format!("The request must contain the parameter {name}"),
            ),
            Service::Sts | Service::Iam => {
                let mut chars = name.chars();
                let camel: String = chars
                    .next()
                    .map(|c| c.to_ascii_lowercase())
                    .into_iter()
                    .chain(chars)
                    .collect();
                Fault::validation(format!(
                    "1 validation error detected: Value null at '{camel}' failed to satisfy constraint: Member must not be null"
                ))
            }
        }
    }
}

/// The request's parameters (query string and form body together).
#[derive(Debug, Default)]
pub(crate) struct Params(BTreeMap<String, String>);

impl Params {
    pub fn parse(query: &str, form: &[u8]) -> Params {
        let mut map = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()).chain(form_urlencoded::parse(form)) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Params(map)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn required(&self, service: Service, name: &str) -> Result<&str, Fault> {
        self.get(name).ok_or_else(|| service.missing(name))
    }

    /// `<prefix>.member.1`, `.2`, … (the Query protocol's lists), in order.
    pub fn members(&self, prefix: &str) -> Vec<String> {
        (1..)
            .map_while(|i| self.get(&format!("{prefix}.member.{i}")).map(str::to_owned))
            .collect()
    }
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<name>escaped text</name>`.
pub(crate) fn element(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", escape(text))
}

pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A success answer: `inner` is the `…Result` element's content (or, for
/// EC2, the response's content); `None` for IAM calls that return nothing.
pub(crate) fn success(service: Service, action: &str, inner: Option<&str>) -> String {
    let ns = service.namespace();
    let id = request_id();
    match service {
        Service::Ec2 => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{ns}\"><requestId>{id}</requestId>{}</{action}Response>",
            inner.unwrap_or_default()
        ),
        Service::Sts | Service::Iam => {
            let result = inner
                .map(|inner| format!("<{action}Result>{inner}</{action}Result>"))
                .unwrap_or_default();
            format!(
                "<{action}Response xmlns=\"{ns}\">{result}<ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></{action}Response>"
            )
        }
    }
}

/// An error answer in the service's envelope (EC2's differs from STS/IAM's).
pub(crate) fn error(service: Option<Service>, fault: &Fault) -> String {
    let id = request_id();
    let (code, message) = (escape(&fault.code), escape(&fault.message));
    match service {
        Some(Service::Ec2) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{id}</RequestID></Response>"
        ),
        other => {
            let ns = other
                .map(|s| format!(" xmlns=\"{}\"", s.namespace()))
                .unwrap_or_default();
            let kind = if fault.status >= 500 {
                "Receiver"
            } else {
                "Sender"
            };
            format!(
                "<ErrorResponse{ns}><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>"
            )
        }
    }
}

/// ISO 8601 as AWS writes timestamps: `2026-11-30T12:00:00Z`.
pub(crate) fn timestamp(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
