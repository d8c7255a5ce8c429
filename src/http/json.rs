//! Request parsing: JSON bodies read regardless of Content-Type, with 400s that name the
//! field, and query strings where the first of repeated keys wins.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{AppError, AppResult, Issue};

/// A JSON body of type `T`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::field("invalid_type", "", "The request body could not be read")
            }
        })?;
        parse(&bytes).map(Body)
    }
}

/// A form body (`application/x-www-form-urlencoded`, what the pages' forms post) of type `T`:
/// its fields become JSON strings (the first of repeated names wins) and are held to the same
/// bounds as JSON bodies (limits.rs) before `T` sees them.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|_| AppError::field("invalid_type", "", "The form could not be read"))?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| AppError::field("invalid_type", "", "The form could not be read"))?;
        let mut fields = serde_json::Map::new();
        for (name, value) in pairs {
            fields.entry(name).or_insert(Value::String(value));
        }
        let value = Value::Object(fields);
        let issues = crate::http::limits::check(&value);
        if !issues.is_empty() {
            return Err(AppError::InvalidBody(issues));
        }
        serde_path_to_error::deserialize(value).map(Form).map_err(|e| AppError::InvalidBody(vec![issue_of(&e)]))
    }
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::field("invalid_type", "", "A JSON body is required"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: Value = serde_path_to_error::deserialize(&mut de).map_err(|e| AppError::InvalidBody(vec![issue_of(&e)]))?;
    // Bounds first (limits.rs), so no handler ever sees an out-of-bounds value.
    let issues = crate::http::limits::check(&value);
    if !issues.is_empty() {
        return Err(AppError::InvalidBody(issues));
    }
    serde_path_to_error::deserialize(value).map_err(|e| AppError::InvalidBody(vec![issue_of(&e)]))
}

/// A body that may be left out: empty (or only whitespace) is `T::default()`, anything else
/// must parse as `parse` does.
pub fn parse_optional<T: DeserializeOwned + Default>(bytes: &[u8]) -> AppResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) { Ok(T::default()) } else { parse(bytes) }
}

fn issue_of(e: &serde_path_to_error::Error<serde_json::Error>) -> Issue {
    let mut path: Vec<Value> = e
        .path()
        .iter()
        .filter_map(|seg| match seg {
            serde_path_to_error::Segment::Map { key } => Some(Value::from(key.as_str())),
            serde_path_to_error::Segment::Seq { index } => Some(Value::from(*index)),
            serde_path_to_error::Segment::Enum { variant } => Some(Value::from(variant.as_str())),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect();
    let inner = e.inner();
    let message = inner.to_string();
    if inner.is_syntax() || inner.is_eof() {
        return Issue { code: "invalid_type", path, message: format!("Malformed JSON: {message}") };
    }
    let code = if let Some(field) = between_backticks(&message, "missing field `") {
        path.push(Value::from(field));
        "invalid_type"
    } else if let Some(field) = between_backticks(&message, "unknown field `") {
        path.push(Value::from(field));
        "unrecognized_keys"
    } else if message.starts_with("unknown variant") {
        "invalid_value"
    } else {
        "invalid_type"
    };
    let field = path.iter().map(|p| p.to_string().trim_matches('"').to_string()).collect::<Vec<_>>().join(".");
    let message = if field.is_empty() { message } else { format!("{field}: {message}") };
    Issue { code, path, message }
}

fn between_backticks<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

pub use crate::error::Checks;

pub use crate::domain::{Int, non_null};

/// The query string as ordered pairs; the first of repeated keys wins.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A non-empty value for `key`.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// `?limit=` of ocd's own lists: a whole number from 1 to 500, `default` when absent.
    pub fn limit(&self, default: i64) -> AppResult<i64> {
        match self.non_empty("limit") {
            None => Ok(default),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| AppError::BadRequest("limit must be a whole number from 1 to 500".into())),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|_| AppError::BadRequest("Invalid query string".into()))?;
        for (key, value) in &pairs {
            crate::http::limits::check_param(key, value).map_err(AppError::BadRequest)?;
        }
        Ok(Params(pairs))
    }
}

/// JavaScript `parseInt` on a query value: optional sign and leading digits.
pub fn leading_int(text: &str) -> Option<i64> {
    let t = text.trim_start();
    let (sign, digits) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let end = digits.bytes().take_while(u8::is_ascii_digit).count();
    digits[..end].parse::<i64>().ok().map(|n| sign * n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        content: String,
        n: Option<Int>,
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse::<Sample>(br#"{"n": 1}"#).err().unwrap();
        let AppError::InvalidBody(issues) = e else { panic!() };
        assert_eq!(issues[0].path, vec![Value::from("content")]);
        let AppError::InvalidBody(issues) = parse::<Sample>(br#"{"content":"x","n":1.5}"#).err().unwrap() else { panic!() };
        assert_eq!(issues[0].path, vec![Value::from("n")]);
        let AppError::InvalidBody(issues) = parse::<Sample>(br#"{"content":"x","zz":1}"#).err().unwrap() else { panic!() };
        assert_eq!(issues[0].code, "unrecognized_keys");
        assert!(parse::<Sample>(b"{nope").is_err());
        assert!(parse::<Sample>(b"  ").is_err());
        assert_eq!(parse::<Sample>(br#"{"content":"x","n":5.0}"#).unwrap().n, Some(Int(5)));
    }

    #[test]
    fn leading_int_follows_parse_int() {
        assert_eq!(leading_int("123abc"), Some(123));
        assert_eq!(leading_int(" -5"), Some(-5));
        assert_eq!(leading_int("abc"), None);
        assert_eq!(leading_int(""), None);
    }
}
