//! The bounds on every value a client sends, checked once where a JSON body or a query string
//! is parsed, before any handler sees it. A value out of bounds is a 400 whose `path` names the
//! field. Which bound applies is decided by the field's name, so a new route gets the same
//! bounds without declaring them:
//!
//! - ids (`id`, `ids`, `…_id`, `…Id`, `project`, `agent`, `session`, `tag`): at most 256 bytes;
//! - names and titles (`name`, `title`): at most 1,000 characters;
//! - every other string (content, descriptions, comments, message text, reasons): at most
//!   100,000 characters;
//! - free-form JSON stored as given (`config`, `skills`, `dependencies`): at most 64 KiB encoded;
//! - envelopes (`payload`, `metadata`): their fields follow the rules above, and the whole at
//!   most 256 KiB encoded;
//! - arrays: at most 1,000 items (a batch upsert stays one transaction), `ids` at most 10,000;
//! - dates (`…_date`, `…_at`, `last_heartbeat`, in seconds): 0 to 253402300799 (year 9999);
//! - usage deltas: `tokens_in`/`tokens_out` 0 to 1,000,000,000, `cost_usd` 0 to 1,000,000;
//! - no string and no key contains a NUL character: PostgreSQL cannot store one, and both
//!   databases must behave the same.

use serde_json::Value;

use crate::error::Issue;

pub const MAX_ID_BYTES: usize = 256;
pub const MAX_NAME_CHARS: usize = 1_000;
pub const MAX_TEXT_CHARS: usize = 100_000;
pub const MAX_FREE_JSON_BYTES: usize = 64 * 1024;
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;
pub const MAX_ITEMS: usize = 1_000;
pub const MAX_MARK_READ_IDS: usize = 10_000;
/// 9999-12-31T23:59:59Z: the last second every calendar library can print.
pub const MAX_DATE_SECONDS: i64 = 253_402_300_799;
pub const MAX_TOKEN_DELTA: i64 = 1_000_000_000;
pub const MAX_COST_DELTA: f64 = 1_000_000.0;

/// What kind of value a field name announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Id,
    Name,
    Text,
    FreeJson,
    Envelope,
    Date,
    Tokens,
    Cost,
}

fn kind_of(key: &str) -> Kind {
    match key {
        "name" | "title" => Kind::Name,
        "id" | "ids" | "project" | "agent" | "session" | "tag" | "original_id" => Kind::Id,
        "config" | "skills" | "dependencies" => Kind::FreeJson,
        "payload" | "metadata" => Kind::Envelope,
        "last_heartbeat" | "since" => Kind::Date,
        "tokens_in" | "tokens_out" => Kind::Tokens,
        "cost_usd" => Kind::Cost,
        k if k.ends_with("_id") || k.ends_with("Id") => Kind::Id,
        k if k.ends_with("_date") || k.ends_with("_at") => Kind::Date,
        _ => Kind::Text,
    }
}

/// Every bound `value` breaks, each naming its field.
pub fn check(value: &Value) -> Vec<Issue> {
    let mut walk = Walk { path: Vec::new(), issues: Vec::new() };
    walk.value(None, value);
    walk.issues
}

/// A query-string value: no NUL, and the bound its key announces.
pub fn check_param(key: &str, value: &str) -> Result<(), String> {
    if key.contains('\0') || value.contains('\0') {
        return Err(format!("{}: must not contain NUL characters", printable(key)));
    }
    let max = match kind_of(key) {
        Kind::Id => MAX_ID_BYTES,
        Kind::Name => MAX_NAME_CHARS,
        _ => MAX_TEXT_CHARS,
    };
    if value.len() > max {
        return Err(format!("{}: must be at most {max} bytes", printable(key)));
    }
    Ok(())
}

/// A path segment that names an object: valid UTF-8 (checked by the caller), no NUL, at most
/// 256 bytes.
pub fn check_path_id(name: &str, value: &str) -> Result<(), String> {
    if value.contains('\0') {
        return Err(format!("{name}: must not contain NUL characters"));
    }
    if value.len() > MAX_ID_BYTES {
        return Err(format!("{name}: must be at most {MAX_ID_BYTES} bytes"));
    }
    Ok(())
}

fn printable(key: &str) -> String {
    key.chars().filter(|c| !c.is_control()).take(64).collect()
}

struct Walk {
    path: Vec<Value>,
    issues: Vec<Issue>,
}

impl Walk {
    fn fail(&mut self, code: &'static str, message: String) {
        let field = self.path.iter().map(|p| p.to_string().trim_matches('"').to_string()).collect::<Vec<_>>().join(".");
        let message = if field.is_empty() { message } else { format!("{field}: {message}") };
        self.issues.push(Issue { code, path: self.path.clone(), message });
    }

    /// `key` is the name of the field holding `value` (for array items: the array's name).
    fn value(&mut self, key: Option<&str>, value: &Value) {
        let kind = key.map_or(Kind::Text, kind_of);
        match value {
            Value::String(s) => self.string(kind, s),
            Value::Number(n) => self.number(kind, n),
            Value::Array(items) => {
                let max = if key == Some("ids") { MAX_MARK_READ_IDS } else { MAX_ITEMS };
                if kind == Kind::FreeJson {
                    self.free_json(value);
                } else if items.len() > max {
                    self.fail("too_big", format!("must contain at most {max} items"));
                } else {
                    for (index, item) in items.iter().enumerate() {
                        self.path.push(Value::from(index));
                        self.value(key, item);
                        self.path.pop();
                    }
                }
            }
            Value::Object(fields) => {
                if kind == Kind::FreeJson {
                    self.free_json(value);
                    return;
                }
                if kind == Kind::Envelope && value.to_string().len() > MAX_ENVELOPE_BYTES {
                    self.fail("too_big", format!("must be at most {MAX_ENVELOPE_BYTES} bytes of JSON"));
                    return;
                }
                for (name, field) in fields {
                    self.path.push(Value::from(printable(name)));
                    if name.contains('\0') {
                        self.fail("invalid_string", "keys must not contain NUL characters".into());
                    } else {
                        self.value(Some(name), field);
                    }
                    self.path.pop();
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn string(&mut self, kind: Kind, s: &str) {
        if s.contains('\0') {
            return self.fail("invalid_string", "must not contain NUL characters".into());
        }
        let (too_long, bound) = match kind {
            Kind::Id => (s.len() > MAX_ID_BYTES, format!("{MAX_ID_BYTES} bytes")),
            Kind::Name => (exceeds_chars(s, MAX_NAME_CHARS), format!("{MAX_NAME_CHARS} characters")),
            _ => (exceeds_chars(s, MAX_TEXT_CHARS), format!("{MAX_TEXT_CHARS} characters")),
        };
        if too_long {
            self.fail("too_big", format!("must be at most {bound}"));
        }
    }

    fn number(&mut self, kind: Kind, n: &serde_json::Number) {
        let f = n.as_f64().unwrap_or(f64::NAN);
        let (low, high, what) = match kind {
            Kind::Date => (0.0, MAX_DATE_SECONDS as f64, "a time in seconds from 0 to 253402300799"),
            Kind::Tokens => (0.0, MAX_TOKEN_DELTA as f64, "a token count from 0 to 1000000000 per report"),
            Kind::Cost => (0.0, MAX_COST_DELTA, "a cost from 0 to 1000000 per report"),
            _ => return,
        };
        if !(low..=high).contains(&f) {
            let code = if f < low { "too_small" } else { "too_big" };
            self.fail(code, format!("must be {what}"));
        }
    }

    /// Free-form JSON is stored as given: only its size and NUL characters matter.
    fn free_json(&mut self, value: &Value) {
        if value.to_string().len() > MAX_FREE_JSON_BYTES {
            self.fail("too_big", format!("must be at most {MAX_FREE_JSON_BYTES} bytes of JSON"));
        } else if has_nul(value) {
            self.fail("invalid_string", "must not contain NUL characters".into());
        }
    }
}

/// Whether a NUL character is in any string or key of `value`.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Whether `s` has more than `max` characters, without counting past the bound.
fn exceeds_chars(s: &str, max: usize) -> bool {
    s.len() > max && s.chars().nth(max).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(value: Value) -> Vec<String> {
        check(&value).into_iter().map(|i| i.message).collect()
    }

    #[test]
    fn each_kind_of_field_has_its_bound() {
        assert!(paths(json!({"id": "a".repeat(256), "name": "n".repeat(1000), "content": "c".repeat(100_000)})).is_empty());
        assert_eq!(paths(json!({"id": "a".repeat(257)})), ["id: must be at most 256 bytes"]);
        assert_eq!(paths(json!({"taskId": "é".repeat(129)})), ["taskId: must be at most 256 bytes"]);
        assert_eq!(paths(json!({"title": "é".repeat(1001)})), ["title: must be at most 1000 characters"]);
        assert_eq!(paths(json!({"todos": [{"content": "x".repeat(100_001)}]})), ["todos.0.content: must be at most 100000 characters"]);
        assert_eq!(paths(json!({"todos": vec![json!({}); 1001]})), ["todos: must contain at most 1000 items"]);
        assert!(paths(json!({"ids": vec!["1"; 10_000]})).is_empty());
        assert_eq!(paths(json!({"ids": vec!["1"; 10_001]})), ["ids: must contain at most 10000 items"]);
    }

    #[test]
    fn nul_characters_are_refused_in_values_and_keys() {
        assert_eq!(paths(json!({"payload": {"content": "a\u{0}b"}})), ["payload.content: must not contain NUL characters"]);
        assert_eq!(paths(json!({"a\u{0}": 1})), ["a: keys must not contain NUL characters"]);
        assert_eq!(paths(json!({"config": {"k": "\u{0}"}})), ["config: must not contain NUL characters"]);
        assert!(paths(json!({"config": {"k": "the text \\u0000 is fine"}})).is_empty());
        assert_eq!(paths(json!({"payload": {"a": "x".repeat(90_000), "b": "y".repeat(90_000), "c": "z".repeat(90_000)}})).len(), 1);
        assert!(check_param("project", "p\0").is_err());
        assert!(check_path_id("id", "\0").is_err());
    }

    #[test]
    fn dates_and_deltas_are_bounded() {
        assert_eq!(paths(json!({"start_date": -9_007_199_254_740_991_i64})).len(), 1);
        assert_eq!(paths(json!({"end_date": 253_402_300_800_i64})).len(), 1);
        assert!(paths(json!({"end_date": 253_402_300_799_i64, "blocked_at": 0})).is_empty());
        assert_eq!(
            paths(json!({"tokens_in": 9_223_372_036_854_775_807_i64})),
            ["tokens_in: must be a token count from 0 to 1000000000 per report"]
        );
        assert_eq!(paths(json!({"cost_usd": 1e308})).len(), 1);
        assert_eq!(paths(json!({"tokens_out": -1})).len(), 1);
        assert_eq!(paths(json!({"config": vec!["x"; 20_000]})), ["config: must be at most 65536 bytes of JSON"]);
    }
}
