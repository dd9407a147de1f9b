//! Finding the weight files of a checkpoint directory in the layouts public checkpoints use:
//! `NAME.safetensors`, its half-precision variant `NAME.fp16.safetensors`, or shards listed
//! in `NAME.safetensors.index.json`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The `config.json` of a checkpoint directory, checking that both exist.
pub fn config_path(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::media(dir, "checkpoint directory does not exist"));
    }
    let config = dir.join("config.json");
    if !config.is_file() {
        return Err(Error::media(
            dir,
            "no config.json in this checkpoint directory",
        ));
    }
    Ok(config)
}

/// The safetensors files of `stem` in `dir`.
pub fn safetensors_files(dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(Error::media(dir, "checkpoint directory does not exist"));
    }
    let single = dir.join(format!("{stem}.safetensors"));
    if single.is_file() {
        return Ok(vec![single]);
    }
    let half = dir.join(format!("{stem}.fp16.safetensors"));
    if half.is_file() {
        return Ok(vec![half]);
    }
    let index = dir.join(format!("{stem}.safetensors.index.json"));
    if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::media(&index, format!("invalid JSON: {e}")))?;
        let map = json
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| Error::media(&index, "no weight_map"))?;
        let mut files: Vec<PathBuf> = map
            .values()
            .filter_map(|v| v.as_str())
            .map(|f| dir.join(f))
            .collect();
        files.sort();
        files.dedup();
        return Ok(files);
    }
    Err(Error::media(
        dir,
        format!("no {stem}.safetensors (nor an fp16 or sharded variant) in this directory"),
    ))
}
