//! Where the per-user files live: `$XDG_CONFIG_HOME/avsync/` (else `~/.config/avsync/`),
//! beside each other and never inside the user's media or sound library.

use std::path::PathBuf;

/// The per-user settings folder, when the environment names a home.
pub fn config_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("avsync"))
}

/// The default sound-library index.
pub fn default_library_index() -> Option<PathBuf> {
    config_dir().map(|d| d.join("library.avslib"))
}
