//! The board's theme, shared by every open board: kept in memory, persisted in Flow's own data
//! dir (never the Claude dir) so it survives restarts.

use std::path::PathBuf;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Theme {
    Light,
    Dark,
    System,
}

impl Theme {
    pub(crate) fn parse(raw: &str) -> Option<Self> {
        match raw {
            "light" => Some(Self::Light),
            "dark" => Some(Self::Dark),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    theme: Theme,
}

pub(crate) struct ThemeStore {
    /// `<data dir>/theme.json`; `None` keeps the theme in memory only.
    path: Option<PathBuf>,
    /// Held only to copy or replace a `Copy` value.
    current: RwLock<Theme>,
}

impl ThemeStore {
    /// Loads the saved theme; a missing or unreadable file means the default, `system`.
    pub(crate) fn load(data_dir: Option<PathBuf>) -> Self {
        let path = data_dir.map(|d| d.join("theme.json"));
        let saved = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice::<Stored>(&bytes).ok())
            .map_or(Theme::System, |s| s.theme);
        Self {
            path,
            current: RwLock::new(saved),
        }
    }

    pub(crate) fn get(&self) -> Theme {
        *self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Persists, then switches. Blocking (file I/O).
    pub(crate) fn set(&self, theme: Theme) -> std::io::Result<()> {
        if let Some(path) = &self.path {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let bytes = serde_json::to_vec(&Stored { theme }).map_err(std::io::Error::other)?;
            flow_core::fs::write_atomic(path, &bytes)?;
        }
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = theme;
        Ok(())
    }
}
