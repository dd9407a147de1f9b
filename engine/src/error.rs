//! The engine's one error type. Every variant that concerns a file names it, so a message
//! shown to the user always says which file and what went wrong.

use std::path::{Path, PathBuf};

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused a file operation.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A media file could not be opened, decoded or written.
    #[error("{}: {message}", path.display())]
    Media { path: PathBuf, message: String },
    /// A request was malformed (out-of-range parameter, empty input, ...).
    #[error("{0}")]
    InvalidInput(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// A media error on `path`.
    pub fn media(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Self::Media {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    /// A malformed request.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }
}
