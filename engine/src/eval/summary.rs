//! Per-clip metrics of an evaluation run and their summary per variant (full model and
//! ablations), as JSON and as a Markdown table.

use serde::Serialize;

use super::onset::OnsetScores;
use super::prompt_rank::PromptRanks;

/// Metrics of one generated clip.
#[derive(Debug, Clone, Serialize)]
pub struct ClipMetrics {
    /// The clip.
    pub video: String,
    /// Onset accuracy and AP against the real sound.
    pub onsets: OnsetScores,
    /// Sync verifier score of the delivered candidate.
    pub sync: Option<f64>,
    /// Audio-text verifier score of the delivered candidate (models with heads).
    pub text: Option<f64>,
    /// The combined verifier score the search maximised.
    pub score: Option<f64>,
    /// aisfx cosine distance of the delivered candidate to the real recording.
    pub distance: Option<f64>,
    /// Mean aisfx cosine distance between the clip's candidates (their spread).
    pub diversity: Option<f64>,
    /// Seconds the generation took.
    pub seconds: f64,
    /// The recordings the candidates were made from.
    pub sources: Vec<String>,
}

/// Summary of one variant over all clips.
#[derive(Debug, Clone, Serialize)]
pub struct VariantSummary {
    /// Variant name (`full`, `no-frames`, ...).
    pub name: String,
    /// Clips generated.
    pub clips: usize,
    /// Mean onset accuracy over clips with real onsets.
    pub acc: Option<f64>,
    /// Mean onset AP over clips with real onsets.
    pub ap: Option<f64>,
    /// Fréchet distance of the generated set to the real set, when embeddings exist.
    pub fd: Option<f64>,
    /// Mean sync score.
    pub sync: Option<f64>,
    /// Mean audio-text score.
    pub text: Option<f64>,
    /// Mean combined verifier score.
    pub score: Option<f64>,
    /// Mean aisfx distance of the delivered candidates to the real recordings.
    pub distance: Option<f64>,
    /// Mean aisfx distance between the candidates of a clip.
    pub diversity: Option<f64>,
    /// Mean seconds per clip.
    pub seconds: f64,
    /// Rank of each clip's description among all the clips' descriptions, judged in the
    /// verifier heads' joint space.
    pub prompt: Option<PromptRanks>,
    /// Per-clip metrics.
    pub per_clip: Vec<ClipMetrics>,
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

impl VariantSummary {
    /// Summarise `per_clip` (ACC/AP averaged over clips, as the protocol does).
    pub fn new(name: &str, per_clip: Vec<ClipMetrics>, fd: Option<f64>) -> Self {
        Self {
            name: name.to_string(),
            clips: per_clip.len(),
            acc: mean(per_clip.iter().filter_map(|c| c.onsets.acc)),
            ap: mean(per_clip.iter().filter_map(|c| c.onsets.ap)),
            fd,
            sync: mean(per_clip.iter().filter_map(|c| c.sync)),
            text: mean(per_clip.iter().filter_map(|c| c.text)),
            score: mean(per_clip.iter().filter_map(|c| c.score)),
            distance: mean(per_clip.iter().filter_map(|c| c.distance)),
            diversity: mean(per_clip.iter().filter_map(|c| c.diversity)),
            seconds: mean(per_clip.iter().map(|c| c.seconds)).unwrap_or(0.0),
            prompt: None,
            per_clip,
        }
    }
}

/// A Markdown table of the variants.
pub fn markdown_table(variants: &[VariantSummary]) -> String {
    let cell =
        |v: Option<f64>, digits: usize| v.map_or("n/a".to_string(), |x| format!("{x:.digits$}"));
    let mut out = String::from(
        "| variant | clips | onset ACC | onset AP | FD (aisfx) | prompt rank | prompt top-5 | distance to real | diversity | sync | text | verifiers | s / clip |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for v in variants {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |\n",
            v.name,
            v.clips,
            cell(v.acc, 3),
            cell(v.ap, 3),
            cell(v.fd, 2),
            v.prompt.as_ref().map_or("n/a".into(), |p| format!(
                "{:.1} / {}",
                p.mean_rank, p.candidates
            )),
            cell(v.prompt.as_ref().map(|p| p.top5), 3),
            cell(v.distance, 3),
            cell(v.diversity, 3),
            cell(v.sync, 3),
            cell(v.text, 3),
            cell(v.score, 3),
            v.seconds
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_skip_clips_without_onsets() {
        let clip = |acc: Option<f64>, ap: Option<f64>| ClipMetrics {
            video: "a.mp4".into(),
            onsets: OnsetScores {
                acc,
                ap,
                truth: 0,
                predicted: 0,
                hits: 0,
            },
            sync: Some(0.5),
            text: None,
            score: Some(0.25),
            distance: Some(0.1),
            diversity: None,
            seconds: 2.0,
            sources: Vec::new(),
        };
        let v = VariantSummary::new(
            "full",
            vec![
                clip(Some(1.0), Some(0.5)),
                clip(None, None),
                clip(Some(0.5), Some(0.25)),
            ],
            None,
        );
        assert_eq!((v.clips, v.acc, v.ap), (3, Some(0.75), Some(0.375)));
        let table = markdown_table(&[v]);
        assert!(
            table.contains(
                "| full | 3 | 0.750 | 0.375 | n/a | n/a | n/a | 0.100 | n/a | 0.500 | n/a | 0.250 | 2.0 |"
            ),
            "{table}"
        );
    }
}
