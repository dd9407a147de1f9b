//! Packing a trained model for shipping: the directory copied without training state, its
//! weights stored in half precision, and the effect of that measured on the U-Net's output
//! (the network whose errors compound over the sampling steps).

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use super::model::Model;
use crate::error::{Error, Result};
use crate::media::output::StagedDir;
use crate::models::adapters::{AdapterScales, ConditionInputs};
use crate::models::weights::{read_state, save_safetensors_as};
use crate::noise::NoiseRng;

/// What packing did.
#[derive(Debug, Clone, Serialize)]
pub struct PackReport {
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Relative RMS difference of one U-Net prediction with the packed weights against the
    /// original ones (random latent, the model's own text encoding of a caption).
    pub unet_relative_error: f64,
}

fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let p = e.map_err(|e| Error::io(&d, e))?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One U-Net prediction of `model` for a fixed input.
fn probe_prediction(model: &Model, device: &Device) -> Result<Vec<f32>> {
    let [c, t, f] = model.latent_shape;
    let mut rng = NoiseRng::new(7);
    let x = rng.tensor([1, c, t, f], device);
    let (states, mask) = model.text.encode(&["footsteps on gravel"])?;
    let inputs = match &model.adapter {
        Some(a) => ConditionInputs {
            video: Some(rng.tensor([1, a.d_video], device).abs()),
            frames: Some(
                rng.tensor([1, model.frame_count(), a.d_frame], device)
                    .abs(),
            ),
            audio: None,
        },
        None => ConditionInputs {
            video: None,
            frames: None,
            audio: None,
        },
    };
    let cond = model
        .unet
        .conditions(states, Some(mask), &inputs, AdapterScales::default());
    let t_step = Tensor::<1>::from_data(TensorData::new(vec![500f32], [1]), device);
    model
        .unet
        .forward(x, t_step, &cond)
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::invalid(format!("{e:?}")))
}

/// Copy the model in `src` to `dst` (created; must not hold a model), weights in half
/// precision when `half`. The destination is checked by loading it.
pub fn pack_model(src: &Path, dst: &Path, half: bool, device: &Device) -> Result<PackReport> {
    let original = Model::load(src, device)?;
    if dst.join(super::model::MANIFEST).exists() {
        return Err(Error::media(dst, "already holds a model"));
    }
    // Built beside `dst` and renamed onto it once loaded back: an interrupted pack leaves
    // no half-written model under the name.
    let staged = StagedDir::new(dst)?;
    let mut files = 0;
    let mut bytes = 0;
    for file in files_under(src)? {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        let target = staged.path().join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        if file.extension().is_some_and(|e| e == "safetensors") {
            save_safetensors_as(&target, &read_state(&file)?, half)?;
        } else {
            let data = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
            crate::media::output::write_atomic(&target, |w| w.write_all(&data))?;
        }
        files += 1;
        bytes += std::fs::metadata(&target)
            .map_err(|e| Error::io(&target, e))?
            .len();
    }
    let packed = Model::load(staged.path(), device)?;
    let a = probe_prediction(&original, device)?;
    let b = probe_prediction(&packed, device)?;
    let diff: f64 = a
        .iter()
        .zip(&b)
        .map(|(x, y)| f64::from(x - y).powi(2))
        .sum();
    let norm: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum();
    drop(packed);
    staged.commit()?;
    Ok(PackReport {
        files,
        bytes,
        unet_relative_error: (diff / norm.max(1e-30)).sqrt(),
    })
}
