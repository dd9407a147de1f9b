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

/// A directory built under a temporary name beside `target` and renamed onto it by
/// [`StagedDir::commit`] when complete (removed if dropped uncommitted): an interrupted build
/// never leaves a partial directory under the final name.
pub struct StagedDir {
    target: PathBuf,
    temp: tempfile::TempDir,
}

impl StagedDir {
    /// Prepare to build `target`, which must not exist or be an empty directory; its parent
    /// is created.
    pub fn new(target: &Path) -> Result<Self> {
        if target.as_os_str().is_empty() {
            return Err(Error::invalid("output directory path is empty"));
        }
        if target.exists() && !is_empty_dir(target)? {
            return Err(Error::media(
                target,
                "already exists and is not an empty directory",
            ));
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let temp = tempfile::Builder::new()
            .prefix(".avsync-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
        Ok(Self {
            target: target.to_path_buf(),
            temp,
        })
    }

    /// Where to build now.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Rename the finished directory onto the target.
    pub fn commit(self) -> Result<PathBuf> {
        if self.target.exists() {
            if !is_empty_dir(&self.target)? {
                return Err(Error::media(
                    &self.target,
                    "appeared while it was being built",
                ));
            }
            std::fs::remove_dir(&self.target).map_err(|e| Error::io(&self.target, e))?;
        }
        let built = self.temp.keep();
        if let Err(e) = std::fs::rename(&built, &self.target) {
            let _ = std::fs::remove_dir_all(&built);
            return Err(Error::io(&self.target, e));
        }
        Ok(self.target)
    }
}

fn is_empty_dir(p: &Path) -> Result<bool> {
    if !p.is_dir() {
        return Ok(false);
    }
    Ok(std::fs::read_dir(p)
        .map_err(|e| Error::io(p, e))?
        .next()
        .is_none())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_directory_appears_whole_or_not_at_all() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("models").join("packed");
        {
            let staged = StagedDir::new(&target).unwrap();
            std::fs::write(staged.path().join("half.bin"), b"partial").unwrap();
        }
        let left: Vec<_> = std::fs::read_dir(target.parent().unwrap())
            .unwrap()
            .collect();
        assert!(left.is_empty(), "dropped uncommitted: nothing left");

        let staged = StagedDir::new(&target).unwrap();
        std::fs::write(staged.path().join("weights.bin"), b"whole").unwrap();
        assert_eq!(staged.commit().unwrap(), target);
        assert_eq!(std::fs::read(target.join("weights.bin")).unwrap(), b"whole");
        let e = StagedDir::new(&target).err().unwrap().to_string();
        assert!(
            e.contains("packed") && e.contains("not an empty directory"),
            "{e}"
        );

        // An empty directory the user made for it is taken over.
        let empty = root.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let staged = StagedDir::new(&empty).unwrap();
        std::fs::write(staged.path().join("a"), b"a").unwrap();
        // ... unless it filled up meanwhile.
        std::fs::write(empty.join("b"), b"b").unwrap();
        let e = staged.commit().unwrap_err().to_string();
        assert!(e.contains("appeared while it was being built"), "{e}");
        assert_eq!(std::fs::read(empty.join("b")).unwrap(), b"b");
        let names: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(".avsync-")),
            "{names:?}"
        );
    }
}
