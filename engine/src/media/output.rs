//! Writing outputs atomically: every file is written to a temporary file in the target
//! directory and renamed over the target only when complete, so an error or an interruption
//! never leaves a partial file, and a source file is never the thing being written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A temporary file beside `target`, renamed onto it by [`AtomicOutput::commit`] and removed
/// if dropped uncommitted.
pub struct AtomicOutput {
    target: PathBuf,
    temp: tempfile::TempPath,
}

impl AtomicOutput {
    /// Prepare to write `target`. The temporary file keeps the target's extension so that
    /// tools that guess formats from names (FFmpeg muxers) see the right one.
    pub fn new(target: &Path) -> Result<Self> {
        if target.as_os_str().is_empty() {
            return Err(Error::invalid("output path is empty"));
        }
        if target.is_dir() {
            return Err(Error::media(target, "is a directory; give a file name"));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(Error::media(dir, "output directory does not exist"));
        }
        let suffix = target
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let mut builder = tempfile::Builder::new();
        builder.prefix(".avsync-").suffix(&suffix);
        // Deliverables get the usual file mode (less the umask), not a temp file's 0600.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let temp = builder
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?
            .into_temp_path();
        Ok(Self {
            target: target.to_path_buf(),
            temp,
        })
    }

    /// Where to write now.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Rename the finished temporary file onto the target.
    pub fn commit(self) -> Result<PathBuf> {
        let target = self.target;
        self.temp
            .persist(&target)
            .map_err(|e| Error::io(&target, e.error))?;
        Ok(target)
    }
}

/// Write `target` atomically through a buffered writer given to `fill`.
pub fn write_atomic(
    target: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<PathBuf> {
    let out = AtomicOutput::new(target)?;
    let file = File::create(out.temp_path()).map_err(|e| Error::io(target, e))?;
    let mut writer = BufWriter::new(file);
    fill(&mut writer).map_err(|e| Error::io(target, e))?;
    let file = writer
        .into_inner()
        .map_err(|e| Error::io(target, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(target, e))?;
    out.commit()
}

/// Refuse to write onto one of the inputs.
pub fn ensure_not_source(target: &Path, sources: &[&Path]) -> Result<()> {
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    if let Some(t) = canon(target) {
        if sources.iter().any(|s| canon(s).as_ref() == Some(&t)) {
            return Err(Error::media(target, "output would overwrite an input file"));
        }
    }
    Ok(())
}
