//! `avsync probe FILE`

use std::path::Path;

use anyhow::Result;

pub fn run(file: &Path) -> Result<()> {
    let info = avsync_engine::media::probe(file)?;
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}
