//! Embeddings of library sounds and of search text: aisfx for sound similarity, the verifier
//! heads' projections of aisfx and MiniLM into their joint space for text search.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use crate::encoders::aisfx::Aisfx;
use crate::encoders::minilm::MiniLm;
use crate::error::{Error, Result};
use crate::media::{DecodeOptions, decode_audio, probe};
use crate::models::heads::VerifierHeads;

/// Seconds from a sound's start that its embedding describes: only these are decoded, so a
/// file of any length costs at most this much work.
pub const EMBED_SECONDS: f64 = 30.0;

/// A sound's embeddings and length.
#[derive(Debug, Clone, PartialEq)]
pub struct SoundEmbedding {
    /// Length of the whole file in seconds.
    pub duration_s: f64,
    /// The aisfx embedding (similarity by example).
    pub audio: Vec<f32>,
    /// The heads' projection of it (similarity to text).
    pub joint: Vec<f32>,
}

/// The networks the library embeds with.
pub struct SoundEmbedder {
    aisfx: Aisfx,
    minilm: MiniLm,
    heads: VerifierHeads,
    heads_id: String,
    device: Device,
}

impl SoundEmbedder {
    /// The bundled aisfx and MiniLM (in `models`, the assets' model folder) with the verifier
    /// heads of the model in `model_dir`.
    pub fn load(models: &Path, model_dir: &Path, device: &Device) -> Result<Self> {
        let heads_dir = model_dir.join("heads");
        if !heads_dir.join("heads_config.json").is_file() {
            return Err(Error::media(
                model_dir,
                "has no verifier heads to match text with",
            ));
        }
        Ok(Self {
            aisfx: Aisfx::from_dir(&models.join("aisfx"), device)?,
            minilm: MiniLm::from_dir(&models.join("minilm"), device)?,
            heads: VerifierHeads::from_dir(&heads_dir, device)?,
            heads_id: fingerprint_dir(&heads_dir)?,
            device: device.clone(),
        })
    }

    /// Which heads project the joint embeddings (an index made with others re-projects).
    pub fn heads_id(&self) -> &str {
        &self.heads_id
    }

    /// Width of the aisfx embedding.
    pub fn audio_dim(&self) -> usize {
        self.aisfx.embedding_dim()
    }

    /// Embed the sound file at `path` (its first [`EMBED_SECONDS`]).
    pub fn sound(&self, path: &Path) -> Result<SoundEmbedding> {
        let rate = self.aisfx.config().sample_rate;
        let options = DecodeOptions {
            head_s: Some(EMBED_SECONDS),
            ..DecodeOptions::to(rate, 1)
        };
        let audio = decode_audio(path, &options)?;
        if audio.samples.iter().all(|v| *v == 0.0) {
            return Err(Error::media(path, "the sound is silent or empty"));
        }
        // A sound that ended within the head is measured exactly; a longer one by its header.
        let decoded = audio.samples.len() as f64 / f64::from(rate);
        let duration_s = if decoded < EMBED_SECONDS - 0.5 {
            decoded
        } else {
            probe(path).map_or(decoded, |info| info.duration_s.max(decoded))
        };
        let audio_embedding = self
            .aisfx
            .clip_embeddings(&[&audio.samples])
            .map_err(|e| Error::media(path, e.to_string()))?
            .pop()
            .ok_or_else(|| Error::media(path, "no embedding"))?;
        let joint = self.project(&audio_embedding, 1)?;
        Ok(SoundEmbedding {
            duration_s,
            audio: audio_embedding,
            joint,
        })
    }

    /// The heads' audio projection of `n` aisfx embeddings laid end to end.
    pub fn project(&self, audio: &[f32], n: usize) -> Result<Vec<f32>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let d = audio.len() / n;
        let t = Tensor::<2>::from_data(TensorData::new(audio.to_vec(), [n, d]), &self.device);
        to_vec(self.heads.audio.forward(t))
    }

    /// The heads' projection of a description.
    pub fn text(&self, text: &str) -> Result<Vec<f32>> {
        let e = self.minilm.sentence_embeddings(&[text])?;
        to_vec(self.heads.text.forward(e))
    }

    /// A description as search reads it: its joint-space projection and its sentence
    /// embedding (compared with the sounds' path words).
    pub fn query(&self, text: &str) -> Result<(Vec<f32>, Vec<f32>)> {
        let e = self.minilm.sentence_embeddings(&[text])?;
        Ok((to_vec(self.heads.text.forward(e.clone()))?, to_vec(e)?))
    }

    /// Sentence embeddings of `texts`, end to end.
    pub fn describe(&self, texts: &[&str]) -> Result<Vec<f32>> {
        to_vec(self.minilm.sentence_embeddings(texts)?)
    }
}

fn to_vec(t: Tensor<2>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::invalid(format!("cannot read an embedding: {e:?}")))
}

/// A short hash of a folder's files (names and bytes), FNV-1a.
fn fingerprint_dir(dir: &Path) -> Result<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for p in names {
        eat(p.file_name().map_or(&[][..], |n| n.as_encoded_bytes()));
        eat(&std::fs::read(&p).map_err(|e| Error::io(&p, e))?);
    }
    Ok(format!("{h:016x}"))
}
