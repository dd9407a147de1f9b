//! Does a generated sound sound like its prompt? Each generated clip is embedded (aisfx, then
//! the audio head) and every distinct description of the evaluation set (MiniLM, then the
//! text head) is scored against it in the verifier heads' joint space; the rank of the
//! clip's own description among them is the measure (1 is best, chance is the middle).
//! The heads come from a judge model fixed across the models compared, so a model is not
//! judged by heads trained with it.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use crate::audio::AudioBuffer;
use crate::encoders::aisfx::Aisfx;
use crate::encoders::minilm::MiniLm;
use crate::error::{Error, Result};
use crate::models::heads::VerifierHeads;

/// Heads, text and sound encoders that judge audio against descriptions.
pub struct PromptJudge {
    heads: VerifierHeads,
    minilm: MiniLm,
    aisfx: Aisfx,
    device: Device,
}

/// Ranks of the true descriptions over a set of clips.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptRanks {
    /// Distinct descriptions each clip was ranked among.
    pub candidates: usize,
    /// Rank of each clip's own description (1 = the most similar).
    pub ranks: Vec<usize>,
    /// Mean rank.
    pub mean_rank: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// Fraction of clips whose description ranks first.
    pub top1: f64,
    /// Fraction of clips whose description is among the five most similar.
    pub top5: f64,
}

impl PromptRanks {
    /// Summarise per-clip ranks among `candidates` descriptions.
    pub fn new(candidates: usize, ranks: Vec<usize>) -> Self {
        let n = ranks.len().max(1) as f64;
        let mean = |f: &dyn Fn(usize) -> f64| ranks.iter().map(|&r| f(r)).sum::<f64>() / n;
        Self {
            candidates,
            mean_rank: mean(&|r| r as f64),
            mrr: mean(&|r| 1.0 / r as f64),
            top1: mean(&|r| f64::from(u8::from(r == 1))),
            top5: mean(&|r| f64::from(u8::from(r <= 5))),
            ranks,
        }
    }
}

fn rows(t: Tensor<2>) -> Result<Vec<Vec<f32>>> {
    let [_, d] = t.dims();
    let v = t
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::invalid(format!("cannot read embeddings: {e:?}")))?;
    Ok(v.chunks_exact(d.max(1)).map(<[f32]>::to_vec).collect())
}

impl PromptJudge {
    /// The heads of the model in `judge` (its `heads/` folder) with the bundled MiniLM and
    /// aisfx networks.
    pub fn load(judge: &Path, minilm: &Path, aisfx: &Path, device: &Device) -> Result<Self> {
        let heads_dir = judge.join("heads");
        if !heads_dir.join("heads_config.json").is_file() {
            return Err(Error::media(judge, "has no verifier heads to judge with"));
        }
        Ok(Self {
            heads: VerifierHeads::from_dir(&heads_dir, device)?,
            minilm: MiniLm::from_dir(minilm, device)?,
            aisfx: Aisfx::from_dir(aisfx, device)?,
            device: device.clone(),
        })
    }

    /// Rank `truth[i]` among `descriptions` for each clip `audio[i]` (mono at `rate`).
    pub fn rank(
        &self,
        descriptions: &[String],
        audio: &[Vec<f32>],
        rate: u32,
        truth: &[usize],
    ) -> Result<PromptRanks> {
        if audio.len() != truth.len() || truth.iter().any(|&t| t >= descriptions.len()) {
            return Err(Error::invalid("every clip needs one of the descriptions"));
        }
        let texts: Vec<&str> = descriptions.iter().map(String::as_str).collect();
        let text = rows(
            self.heads
                .text
                .forward(self.minilm.sentence_embeddings(&texts)?),
        )?;
        let buffers: Vec<AudioBuffer> = audio
            .iter()
            .map(|a| AudioBuffer::new(rate, 1, a.clone()))
            .collect();
        let refs: Vec<&AudioBuffer> = buffers.iter().collect();
        let embedded = self.aisfx.clip_embeddings_audio(&refs)?;
        let d = embedded.first().map_or(0, Vec::len);
        let flat: Vec<f32> = embedded.into_iter().flatten().collect();
        let sounds = Tensor::<2>::from_data(TensorData::new(flat, [audio.len(), d]), &self.device);
        let sounds = rows(self.heads.audio.forward(sounds))?;
        let ranks = sounds
            .iter()
            .zip(truth)
            .map(|(s, &t)| {
                let sim = |e: &[f32]| crate::verify::reference::cosine(s, e);
                let own = sim(&text[t]);
                1 + text.iter().filter(|e| sim(e) > own).count()
            })
            .collect();
        Ok(PromptRanks::new(descriptions.len(), ranks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_summaries() {
        let r = PromptRanks::new(10, vec![1, 2, 6, 1]);
        assert_eq!(r.mean_rank, 2.5);
        assert_eq!(r.top1, 0.5);
        assert_eq!(r.top5, 0.75);
        assert!((r.mrr - (1.0 + 0.5 + 1.0 / 6.0 + 1.0) / 4.0).abs() < 1e-12);
    }
}
