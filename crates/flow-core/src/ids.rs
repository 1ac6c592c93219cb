//! Validated identifiers for sessions, tasks, plans and teams: a value of these types is always safe to join
//! onto a directory path, because `parse` rejects separators, dot segments, NUL and over-long input.

use std::fmt;

/// Why a path id was refused (contract §3: `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`, no `..`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id is empty")]
    Empty,
    #[error("id is longer than {MAX_ID_LEN} characters")]
    TooLong,
    #[error("id must start with a letter or digit")]
    BadStart,
    #[error("id may only contain letters, digits, '_', '.' and '-'")]
    BadChar,
    #[error("id must not contain '..'")]
    DotDot,
}

/// The longest id the contract accepts.
pub const MAX_ID_LEN: usize = 128;

fn validate(raw: &str) -> Result<(), IdError> {
    let bytes = raw.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(IdError::Empty);
    };
    if bytes.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    if !first.is_ascii_alphanumeric() {
        return Err(IdError::BadStart);
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(IdError::BadChar);
    }
    if raw.contains("..") {
        return Err(IdError::DotDot);
    }
    Ok(())
}

macro_rules! path_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Accepts `raw` only if it is a safe single path component (see [`IdError`]).
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                validate(raw)?;
                Ok(Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

path_id!(
    /// The name of a folder under the tasks dir: a session uuid, `session-<8hex>`, a list or team name.
    SessionId
);
path_id!(
    /// A task id: the stem of `<n>.json` inside a session folder.
    TaskId
);
path_id!(
    /// A plan's slug: the stem of `plans/<slug>.md`, and the `slug` of the sessions it belongs to.
    Slug
);
path_id!(
    /// An agent team's name: the folder `teams/<name>/` (and its task list `tasks/<name>/`).
    TeamName
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_contract_shapes() {
        for ok in [
            "0d9a7c1e-4b5f-4a3e-9c1d-2f6e8b7a9c10",
            "session-0d9a7c1e",
            "my_list.v2",
            "7",
            "A",
            &"a".repeat(128),
        ] {
            assert!(SessionId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_hostile_shapes() {
        let cases = [
            ("", IdError::Empty),
            ("..", IdError::BadStart),
            ("a..b", IdError::DotDot),
            ("a/b", IdError::BadChar),
            ("a\\b", IdError::BadChar),
            ("a\0b", IdError::BadChar),
            (".hidden", IdError::BadStart),
            ("-flag", IdError::BadStart),
            ("a b", IdError::BadChar),
            ("a\u{2024}b", IdError::BadChar),
            ("\u{ff0e}\u{ff0e}", IdError::BadStart),
        ];
        for (raw, want) in cases {
            assert_eq!(TaskId::parse(raw), Err(want), "{raw:?}");
        }
        assert_eq!(TaskId::parse(&"a".repeat(129)), Err(IdError::TooLong));
    }

    #[test]
    fn deserialize_validates() {
        assert!(serde_json::from_str::<SessionId>("\"ok-1\"").is_ok());
        assert!(serde_json::from_str::<SessionId>("\"../etc\"").is_err());
    }
}
