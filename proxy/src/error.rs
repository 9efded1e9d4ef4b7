//! The one error type every handler returns, rendered as
//! `{code, message, field, hint, audit_run_id}` with a status code.

use alphaswarm_core::CoreError;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Boxed so `Result<_, ApiError>` stays small; fields are reached through `Deref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(Box<ErrorDetail>);

impl std::ops::Deref for ApiError {
    type Target = ErrorDetail;
    fn deref(&self) -> &ErrorDetail {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorDetail {
        &mut self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDetail {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub hint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_run_id: Option<String>,
    /// `already_connected` (409): the connection that would be replaced,
    /// masked as the integrations list shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing: Option<serde_json::Value>,
    /// Seconds for a `Retry-After` header (429s).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        ApiError(Box::new(ErrorDetail {
            status,
            code: code.to_owned(),
            message: message.into(),
            field: None,
            hint: hint.into(),
            audit_run_id: None,
            existing: None,
            retry_after: None,
        }))
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_audit_run_id(mut self, id: impl Into<String>) -> Self {
        self.audit_run_id = Some(id.into());
        self
    }

    /// Any core validation error: bad input, so 400.
    pub fn from_core(error: &dyn CoreError) -> Self {
        let body = error.to_body();
        ApiError(Box::new(ErrorDetail {
            status: StatusCode::BAD_REQUEST,
            code: body.code,
            message: body.message,
            field: body.field,
            hint: body.hint,
            audit_run_id: None,
            existing: None,
            retry_after: None,
        }))
    }

    pub fn bad_request(code: &str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message, hint)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            code,
            message,
            "Check the URL against proxy/API.md.",
        )
    }

    /// The proxy lacks configuration for this request; `env_var` names what to set.
    pub fn not_configured(env_var: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            message,
            format!("Set {env_var} on the proxy and restart it."),
        )
        .with_field(env_var)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            message,
            "Log in (POST /auth/login) and send the token as Authorization: Bearer <token>.",
        )
    }

    pub fn internal(code: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code,
            message,
            "See the proxy's log for details.",
        )
    }
}

impl<E: CoreError> From<E> for ApiError {
    fn from(error: E) -> Self {
        ApiError::from_core(&error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(&*self.0)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// `Json<T>` whose rejections are structured 400s (or 415) instead of axum's text.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The body must be JSON.",
            "Send Content-Type: application/json.",
        ),
        JsonRejection::JsonDataError(e) => invalid_body(
            &std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request(
            "invalid_json",
            "The body is not valid JSON.",
            "Send a JSON object.",
        ),
        JsonRejection::BytesRejection(_) => ApiError::bad_request(
            "invalid_body",
            "The body could not be read.",
            "Send a JSON object of at most 1 MiB.",
        ),
        _ => ApiError::bad_request(
            "invalid_body",
            "The body was refused.",
            "Send a JSON object.",
        ),
    }
}

/// A body of the wrong shape. serde's text can quote the offending value,
/// which might be a secret pasted in the wrong field: only the field name is kept.
pub fn invalid_body(detail: &str) -> ApiError {
    let field = missing_or_unknown_field(detail);
    let message = match (&field, detail.contains("missing field")) {
        (Some(f), true) => format!("The JSON body lacks the required field {f}."),
        (Some(f), false) => format!("The JSON body has the unknown field {f}."),
        (None, true) => "The JSON body lacks a required field.".to_owned(),
        (None, false) if detail.contains("unknown field") => {
            "The JSON body has an unknown field.".to_owned()
        }
        (None, false) => "A field of the JSON body has the wrong type or value.".to_owned(),
    };
    let mut error = ApiError::bad_request(
        "invalid_body",
        message,
        "Send the fields listed in proxy/API.md for this route.",
    );
    error.field = field;
    error
}

/// Reads a JSON value into a typed body, with [`invalid_body`] on failure.
/// Only an object is a body: serde would also read a struct from an array
/// of its fields' values (`["arn:…", null]`), which no client means to send.
pub fn parse_body<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "The body must be a JSON object.",
            "Send a JSON object with the fields listed in proxy/API.md for this route.",
        ));
    }
    serde_json::from_value(value).map_err(|e| invalid_body(&e.to_string()))
}

/// Pulls the field name out of serde's "missing field `x`" / "unknown field `x`".
fn missing_or_unknown_field(detail: &str) -> Option<String> {
    let rest = detail
        .split_once("missing field `")
        .or_else(|| detail.split_once("unknown field `"))?
        .1;
    let (field, _) = rest.split_once('`')?;
    // A "field name" can be anything the client sent, even a pasted secret:
    // name it only when it looks like a field name.
    let plausible = (1..=32).contains(&field.len())
        && field.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    plausible.then(|| field.to_owned())
}

pub fn path_rejection(_: PathRejection) -> ApiError {
    ApiError::bad_request(
        "invalid_path",
        "The URL path could not be read.",
        "Check the URL against proxy/API.md.",
    )
}
