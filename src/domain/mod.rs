//! Pure rules: no I/O, time passed in. Each file holds one group of rules.

pub mod calendar;
pub mod hierarchy;
pub mod ids;
pub mod projects;
pub mod todos;
pub mod v2;
pub mod velocity;

use serde::{Deserialize, Deserializer, Serialize};

/// `text` trimmed and cut to `max` characters (agent text can be long; stored summaries are short).
pub fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Declares a closed set of string values: serde and the database read and write each value
/// as its text (so stored rows keep the text they had when these were plain strings), and
/// `as_str`/`parse` convert by hand. A stored text that is not in the set fails the row's
/// decoding with an error naming the type and the text.
macro_rules! string_enum {
    ($(#[$extra:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        $(#[$extra])*
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <str as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'_, sqlx::Any>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: <sqlx::Any as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                $name::parse(text).ok_or_else(|| format!("stored {} `{text}` is not one ocd knows", stringify!($name)).into())
            }
        }
    };
}

pub mod agents;
pub mod alerts;
pub mod analytics;
pub mod approvals;
pub mod channels;
pub mod linear;
pub mod roles;

string_enum!(TodoStatus {
    Pending => "pending",
    InProgress => "in_progress",
    Blocked => "blocked",
    Completed => "completed",
    Cancelled => "cancelled",
    Icebox => "icebox",
});

string_enum!(Priority {
    Low => "low",
    Medium => "medium",
    High => "high",
});

string_enum!(MessageType {
    TaskComplete => "task_complete",
    Error => "error",
    StateChange => "state_change",
    Custom => "custom",
    Worklog => "worklog",
});

string_enum!(EventType {
    TodoUpdate => "todo_update",
    Error => "error",
    StateChange => "state_change",
});

string_enum!(SprintStatus {
    Planning => "planning",
    Active => "active",
    Completed => "completed",
});

string_enum!(TaskStatus {
    Pending => "pending",
    InProgress => "in_progress",
    Done => "done",
    Blocked => "blocked",
    Deferred => "deferred",
    Cancelled => "cancelled",
    Review => "review",
});

string_enum!(SubtaskStatus {
    Pending => "pending",
    InProgress => "in_progress",
    Done => "done",
    Blocked => "blocked",
    Cancelled => "cancelled",
});

impl Priority {
    /// Story points for velocity and burndown: low 1, medium 3, high 5.
    pub fn points(self) -> i64 {
        match self {
            Priority::Low => 1,
            Priority::Medium => 3,
            Priority::High => 5,
        }
    }
}

/// A body field that distinguishes "absent" from an explicit `null` (for partial updates).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Field::Null, Field::Value))
    }
}

impl<T> Field<T> {
    pub fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }

    /// The new value for a nullable column: `Some(new)` when the field was sent.
    pub fn update(self) -> Option<Option<T>> {
        match self {
            Field::Absent => None,
            Field::Null => Some(None),
            Field::Value(v) => Some(Some(v)),
        }
    }

    pub fn into_option(self) -> Option<T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl Field<String> {
    /// `""` counts as null (the original's normalisation for agent, session and project keys).
    pub fn empty_as_null(self) -> Field<String> {
        match self {
            Field::Value(v) if v.is_empty() => Field::Null,
            other => other,
        }
    }
}

/// An integer that may arrive as `5` or `5.0` (but not `1.5`), within ±(2^53 − 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Int, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        if let Some(i) = n.as_i64()
            && (i as f64).abs() <= MAX_SAFE
        {
            return Ok(Int(i));
        }
        match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= MAX_SAFE => Ok(Int(f as i64)),
            _ => Err(serde::de::Error::custom(format!("expected an integer, got {n}"))),
        }
    }
}

/// Deserializes `T` and rejects an explicit `null` (for `field?` keys that may only be omitted).
pub fn non_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}
