//! Stage (d): the verifier heads, trained contrastively (CLAP's symmetric InfoNCE) on pairs
//! of a sound's frozen aisfx embedding and its caption's frozen MiniLM sentence embedding.
//! Captions repeat across files (`impact attack`), so a batch holds each caption once: a
//! second sound with the same caption would be a false negative. Retrieval accuracy on the
//! validation split is measured at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use super::dataset::{SoundSet, Split};
use super::run::Run;
use super::{TrainProgress, fit, scalar};
use crate::audio::AudioBuffer;
use crate::encoders::aisfx::Aisfx;
use crate::encoders::minilm::MiniLm;
use crate::error::{Error, Result};
use crate::models::heads::{HeadsConfig, VerifierHeads};
use crate::models::weights::{Weights, save_safetensors};
use crate::noise::NoiseRng;
use crate::pipeline::model::{MANIFEST, ModelManifest, SAMPLE_RATE};
use crate::pipeline::presets::write_json;

/// Stage name.
pub const STAGE: &str = "heads";
/// Seconds of each sound the embedding sees (aisfx averages over its blocks).
const MAX_SECONDS: usize = 10;

/// Retrieval accuracy of the heads on held-out sounds.
#[derive(Debug, Clone, Serialize)]
pub struct Retrieval {
    /// Sounds scored.
    pub sounds: usize,
    /// Distinct captions they carry.
    pub captions: usize,
    /// Fraction of sounds whose own caption ranks first among all captions.
    pub audio_to_text_top1: f64,
    /// ... within the first five.
    pub audio_to_text_top5: f64,
    /// Fraction of captions whose best-matching sound carries that caption.
    pub text_to_audio_top1: f64,
    /// Top-1 accuracy of guessing (one over the caption count).
    pub chance_top1: f64,
    /// Sounds whose caption never occurs in training.
    pub unseen_sounds: usize,
    /// Audio-to-text top-1 accuracy over those sounds (still ranked against every caption).
    pub unseen_audio_to_text_top1: Option<f64>,
}

/// Frozen embeddings of every sound and caption of a set.
pub struct Embeddings {
    /// Sound embeddings, one row per sound of the set.
    pub audio: Vec<Vec<f32>>,
    /// Distinct captions.
    pub captions: Vec<String>,
    /// Sentence embeddings of the distinct captions.
    pub text: Vec<Vec<f32>>,
    /// Caption index of each sound.
    pub caption_of: Vec<usize>,
}

impl Embeddings {
    /// Embed `set` with the bundled encoders.
    pub fn compute(set: &SoundSet, aisfx: &Aisfx, minilm: &MiniLm) -> Result<Self> {
        let mut audio = Vec::with_capacity(set.index.sounds.len());
        for i in 0..set.index.sounds.len() {
            let s = set.samples(i);
            let s = &s[..s.len().min(MAX_SECONDS * SAMPLE_RATE as usize)];
            let buf = AudioBuffer::new(SAMPLE_RATE, 1, s.to_vec());
            audio.extend(aisfx.clip_embeddings_audio(&[&buf])?);
        }
        let mut ids = BTreeMap::new();
        let mut captions = Vec::new();
        let caption_of = set
            .index
            .sounds
            .iter()
            .map(|s| {
                *ids.entry(s.caption.clone()).or_insert_with(|| {
                    captions.push(s.caption.clone());
                    captions.len() - 1
                })
            })
            .collect();
        let mut text = Vec::with_capacity(captions.len());
        for chunk in captions.chunks(64) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let e = minilm.sentence_embeddings(&refs)?;
            let [n, d] = e.dims();
            let v = e
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| Error::invalid(format!("{e:?}")))?;
            text.extend((0..n).map(|i| v[i * d..(i + 1) * d].to_vec()));
        }
        Ok(Self {
            audio,
            captions,
            text,
            caption_of,
        })
    }
}

fn matrix(rows: &[&[f32]], device: &Device) -> Tensor<2> {
    let d = rows.first().map_or(0, |r| r.len());
    let v: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_data(TensorData::new(v, [rows.len(), d]), device)
}

/// A batch of sounds from `pool` with pairwise different captions.
fn distinct_batch(
    emb: &Embeddings,
    pool: &[usize],
    batch: usize,
    rng: &mut NoiseRng,
) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::with_capacity(batch);
    for _ in 0..batch * 8 {
        if picked.len() == batch {
            break;
        }
        let s = pool[rng.below(pool.len())];
        if picked
            .iter()
            .all(|&p| emb.caption_of[p] != emb.caption_of[s])
        {
            picked.push(s);
        }
    }
    picked
}

/// Retrieval of `heads` over the sounds `pool`; `seen` holds the caption ids of the
/// training sounds.
pub fn retrieval(
    heads: &VerifierHeads,
    emb: &Embeddings,
    pool: &[usize],
    seen: &BTreeSet<usize>,
    device: &Device,
) -> Result<Retrieval> {
    let mut caps: Vec<usize> = pool.iter().map(|&s| emb.caption_of[s]).collect();
    caps.sort_unstable();
    caps.dedup();
    let text = matrix(
        &caps
            .iter()
            .map(|&c| emb.text[c].as_slice())
            .collect::<Vec<_>>(),
        device,
    );
    let audio = matrix(
        &pool
            .iter()
            .map(|&s| emb.audio[s].as_slice())
            .collect::<Vec<_>>(),
        device,
    );
    let sim = heads
        .similarity(text, audio)
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::invalid(format!("{e:?}")))?;
    let (nc, ns) = (caps.len(), pool.len());
    let (mut top1, mut top5, mut unseen, mut unseen_top1) = (0usize, 0usize, 0usize, 0usize);
    for (j, &s) in pool.iter().enumerate() {
        let own = caps
            .binary_search(&emb.caption_of[s])
            .expect("caption of the pool");
        let better = (0..nc)
            .filter(|&c| sim[c * ns + j] > sim[own * ns + j])
            .count();
        top1 += usize::from(better == 0);
        top5 += usize::from(better < 5);
        if !seen.contains(&emb.caption_of[s]) {
            unseen += 1;
            unseen_top1 += usize::from(better == 0);
        }
    }
    let mut t2a = 0usize;
    for (c, &cap) in caps.iter().enumerate() {
        let best = (0..ns)
            .max_by(|&a, &b| sim[c * ns + a].total_cmp(&sim[c * ns + b]))
            .expect("sounds");
        t2a += usize::from(emb.caption_of[pool[best]] == cap);
    }
    Ok(Retrieval {
        sounds: ns,
        captions: nc,
        audio_to_text_top1: top1 as f64 / ns.max(1) as f64,
        audio_to_text_top5: top5 as f64 / ns.max(1) as f64,
        text_to_audio_top1: t2a as f64 / nc.max(1) as f64,
        chance_top1: 1.0 / nc.max(1) as f64,
        unseen_sounds: unseen,
        unseen_audio_to_text_top1: (unseen > 0).then(|| unseen_top1 as f64 / unseen as f64),
    })
}

/// Train the verifier heads into `model_dir/heads`; returns their validation retrieval.
pub fn train_heads(
    model_dir: &Path,
    set: &SoundSet,
    emb: &Embeddings,
    run: &mut Run,
    device: &Device,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<Retrieval> {
    let dir = model_dir.join("heads");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let cfg = HeadsConfig {
        text_dim: emb.text.first().map_or(384, Vec::len),
        audio_dim: emb.audio.first().map_or(512, Vec::len),
        hidden_dim: 512,
        joint_dim: 128,
    };
    let ad = device.clone().autodiff();
    let w = if run.resumed() {
        Weights::from_files(&[run.weights_path()], &ad)?
    } else {
        Weights::fresh(&ad)
    };
    let heads = VerifierHeads::load(&cfg, &w)?;
    let names = w.param_names();
    let pool = set.split(Split::Train);
    let distinct: BTreeSet<usize> = pool.iter().map(|&s| emb.caption_of[s]).collect();
    if distinct.len() < 2 {
        return Err(Error::invalid(
            "contrastive training needs training sounds with at least two different captions",
        ));
    }
    let batch = run.state.settings.batch;
    let heads = fit(
        run,
        heads,
        &names,
        |heads, rng| {
            let picked = distinct_batch(emb, &pool, batch, rng);
            let n = picked.len();
            let text = matrix(
                &picked
                    .iter()
                    .map(|&s| emb.text[emb.caption_of[s]].as_slice())
                    .collect::<Vec<_>>(),
                &ad,
            );
            let audio = matrix(
                &picked
                    .iter()
                    .map(|&s| emb.audio[s].as_slice())
                    .collect::<Vec<_>>(),
                &ad,
            );
            let logits = heads.similarity(text, audio) * heads.scale().unsqueeze::<2>();
            let eye = Tensor::<2>::eye(n, &ad);
            let t2a = (log_softmax(logits.clone(), 1) * eye.clone()).sum().neg();
            let a2t = (log_softmax(logits, 0) * eye).sum().neg();
            let loss = (t2a + a2t).div_scalar(2.0 * n as f64);
            Ok((loss.clone(), vec![("loss", scalar(&loss))]))
        },
        progress,
    )?;
    let state = run.result(names.state_of(&heads));
    save_safetensors(&dir.join("heads.safetensors"), &state)?;
    write_json(&dir.join("heads_config.json"), &cfg)?;
    let mut manifest = ModelManifest::read(model_dir)?;
    manifest.heads = Some("heads".into());
    write_json(&model_dir.join(MANIFEST), &manifest)?;
    let trained = VerifierHeads::from_dir(&dir, device)?;
    let val = set.split(Split::Validation);
    let seen: BTreeSet<usize> = pool.iter().map(|&s| emb.caption_of[s]).collect();
    retrieval(
        &trained,
        emb,
        if val.is_empty() { &pool } else { &val },
        &seen,
        device,
    )
}
