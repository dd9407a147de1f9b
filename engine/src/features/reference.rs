//! Reference-sound tokens for the default model: the sound's log-mel spectrogram averaged
//! over short spans. The paper reads EnCodec RVQ embeddings (eq. 3); the default model has no
//! EnCodec weights, and pooled log-mel frames carry what the adapter needs from a reference
//! (timbre and spectral envelope), at a time resolution of `token_s`.

use crate::audio::AudioBuffer;
use crate::dsp::MelExtractor;
use crate::error::{Error, Result};
use crate::media::resample;

/// Mel tokens `[n, n_mels]` (row-major) of the first `max_s` seconds of `audio`, one per
/// `token_s` seconds; returns the values and `n`.
pub fn mel_tokens(audio: &AudioBuffer, token_s: f64, max_s: f64) -> Result<(Vec<f32>, usize)> {
    if audio.samples.is_empty() || audio.channels == 0 || audio.sample_rate == 0 {
        return Err(Error::invalid("the reference sound is empty"));
    }
    let mono = resample(audio, 16_000, 1)?;
    let keep = ((max_s * 16_000.0) as usize).min(mono.samples.len());
    let extractor = MelExtractor::audioldm()?;
    let mut wav = mono.samples[..keep].to_vec();
    crate::dsp::mel::sanitize_wav(&mut wav);
    let mel = extractor.log_mel(&wav)?;
    let per = ((token_s / mel.hop_seconds).round() as usize).max(1);
    let n = mel.n_frames.div_ceil(per).max(1);
    let mut out = vec![0f32; n * mel.n_mels];
    for (i, row) in out.chunks_exact_mut(mel.n_mels).enumerate() {
        let frames: Vec<&[f32]> = (i * per..((i + 1) * per).min(mel.n_frames))
            .filter_map(|t| mel.frame(t))
            .collect();
        for f in &frames {
            for (v, x) in row.iter_mut().zip(*f) {
                *v += x / frames.len() as f32;
            }
        }
    }
    Ok((out, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_the_sound_and_refuse_silence_of_no_length() {
        let sr = 16_000;
        let tone: Vec<f32> = (0..sr)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / sr as f32).sin() * 0.5)
            .collect();
        let audio = AudioBuffer::new(sr as u32, 1, tone);
        let (tokens, n) = mel_tokens(&audio, 0.16, 10.0).unwrap();
        assert_eq!(n, 7, "101 frames in tokens of 16");
        assert_eq!(tokens.len(), n * 64);
        // The 1 kHz band is louder than the top band in every token.
        let band = (crate::dsp::mel::hz_to_mel(1000.0) / crate::dsp::mel::hz_to_mel(8000.0) * 64.0)
            as usize;
        for row in tokens.chunks_exact(64).take(6) {
            assert!(row[band] > row[63] + 3.0, "{row:?}");
        }
        let (_, short) = mel_tokens(&audio, 0.16, 0.5).unwrap();
        assert_eq!(short, 4);
        let empty = AudioBuffer::new(16_000, 1, vec![]);
        assert!(mel_tokens(&empty, 0.16, 1.0).is_err());
    }
}
