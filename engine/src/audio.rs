//! An in-memory block of PCM audio: the currency between media decoding, DSP and export.

/// Interleaved 32-bit float samples in [-1, 1] at a fixed rate and channel count.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBuffer {
    /// Samples per second per channel.
    pub sample_rate: u32,
    /// Number of interleaved channels (1 = mono, 2 = stereo).
    pub channels: u16,
    /// Interleaved samples: frame `i`, channel `c` is at `i * channels + c`.
    pub samples: Vec<f32>,
}

impl AudioBuffer {
    /// A buffer over the given interleaved samples.
    pub fn new(sample_rate: u32, channels: u16, samples: Vec<f32>) -> Self {
        debug_assert!(channels > 0 && samples.len() % channels as usize == 0);
        Self {
            sample_rate,
            channels,
            samples,
        }
    }

    /// `frames` frames of silence.
    pub fn silence(sample_rate: u32, channels: u16, frames: usize) -> Self {
        Self::new(sample_rate, channels, vec![0.0; frames * channels as usize])
    }

    /// Number of sample frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1) as usize
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / self.sample_rate as f64
    }

    /// Channel `c` as its own vector.
    pub fn channel(&self, c: usize) -> Vec<f32> {
        let n = self.channels as usize;
        self.samples.iter().skip(c).step_by(n).copied().collect()
    }

    /// The average of all channels.
    pub fn to_mono(&self) -> Vec<f32> {
        let n = self.channels as usize;
        if n == 1 {
            return self.samples.clone();
        }
        let scale = 1.0 / n as f32;
        self.samples
            .chunks_exact(n)
            .map(|f| f.iter().sum::<f32>() * scale)
            .collect()
    }

    /// Largest absolute sample value.
    pub fn peak(&self) -> f32 {
        self.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()))
    }
}
