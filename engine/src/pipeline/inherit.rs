//! Starting a new model from a trained one: every tensor whose name and shape the two share
//! is carried over, the rest keeps its fresh initialisation. A model whose frame features
//! change width (a new kind of motion tokens) then retrains only what changed plus what
//! depends on it, instead of everything from noise.

use std::path::Path;

use serde::Serialize;

use super::model::{MANIFEST, ModelManifest};
use crate::error::{Error, Result};
use crate::models::checkpoint::safetensors_files;
use crate::models::weights::{read_state, save_safetensors};

/// What was carried over, per part.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inherited {
    /// `(part, tensors carried over, tensors left fresh)`.
    pub parts: Vec<(String, usize, usize)>,
    /// Whether the verifier heads were copied.
    pub heads: bool,
}

/// The weights file of the part at `dir` (its single safetensors file).
fn weights_file(dir: &Path, stem: &str) -> Result<std::path::PathBuf> {
    let files = safetensors_files(dir, stem)?;
    match files.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Error::media(
            dir,
            "holds a sharded checkpoint; expected one file",
        )),
    }
}

/// Carry the trained tensors of the model in `from` over into the fresh model in `to`
/// (written by `write_fresh_model`). The VAE's latent scale comes along when the whole VAE
/// does, and the verifier heads and the vocoding choice are copied.
pub fn inherit_weights(from: &Path, to: &Path) -> Result<Inherited> {
    let src = ModelManifest::read(from)?;
    let mut dst = ModelManifest::read(to)?;
    let mut report = Inherited::default();
    let mut parts = vec![
        (
            "unet",
            src.unet.clone(),
            dst.unet.clone(),
            "diffusion_pytorch_model",
        ),
        (
            "vae",
            src.vae.clone(),
            dst.vae.clone(),
            "diffusion_pytorch_model",
        ),
        ("vocoder", src.vocoder.clone(), dst.vocoder.clone(), "model"),
    ];
    if let (Some(a), Some(b)) = (&src.adapter, &dst.adapter) {
        parts.push(("adapter", a.clone(), b.clone(), "adapter"));
    }
    for (part, a, b, stem) in parts {
        let (a, b) = (from.join(a), to.join(b));
        let source = read_state(&weights_file(&a, stem)?)?;
        let target_file = weights_file(&b, stem)?;
        let mut state = read_state(&target_file)?;
        let mut carried = 0;
        for (name, data) in &mut state {
            if let Some((_, d)) = source
                .iter()
                .find(|(n, d)| n == name && d.shape() == data.shape())
            {
                *data = d.clone();
                carried += 1;
            }
        }
        let fresh = state.len() - carried;
        save_safetensors(&target_file, &state)?;
        if part == "vae" && fresh == 0 {
            // The trained latent scale belongs to the trained weights.
            let config = a.join("config.json");
            std::fs::copy(&config, b.join("config.json")).map_err(|e| Error::io(&config, e))?;
        }
        report.parts.push((part.to_string(), carried, fresh));
    }
    if let Some(heads) = &src.heads {
        let (a, b) = (from.join(heads), to.join("heads"));
        std::fs::create_dir_all(&b).map_err(|e| Error::io(&b, e))?;
        for e in std::fs::read_dir(&a).map_err(|e| Error::io(&a, e))? {
            let p = e.map_err(|e| Error::io(&a, e))?.path();
            if p.is_file() {
                let name = p.file_name().unwrap_or_default();
                std::fs::copy(&p, b.join(name)).map_err(|e| Error::io(&p, e))?;
            }
        }
        dst.heads = Some("heads".into());
        report.heads = true;
    }
    dst.vocoding = src.vocoding.clone();
    let text = serde_json::to_string_pretty(&dst)
        .map_err(|e| Error::invalid(format!("cannot write the manifest: {e}")))?;
    crate::media::output::write_atomic(&to.join(MANIFEST), |w| w.write_all(text.as_bytes()))?;
    Ok(report)
}
