//! Recording a vocal imitation from the microphone while the picture plays: the performer
//! says "ts ts dk" in time with what they see, and each onset of the take becomes a marker.
//!
//! The input device is read on its own thread (a device stream cannot move between threads on
//! every platform, so it is opened there), into a buffer the editor takes when recording
//! stops. Stopping never waits for that thread: a stalled device cannot freeze the window.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest take kept, seconds (an imitation is a few seconds; this bounds a forgotten one).
pub const MAX_TAKE_S: f64 = 600.0;
/// How long opening the input may take before it is reported as failed.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// Samples per channel between level updates and stop checks.
const BLOCK: usize = 256;

/// Where a recording's samples come from.
#[derive(Clone)]
pub enum Input {
    /// The system's default input device.
    Microphone,
    /// A prepared take (interleaved samples, channels, rate), delivered as the device would
    /// deliver it; the interaction tests perform with it.
    Take(Arc<Vec<f32>>, u16, u32),
}

/// A recording in progress.
pub struct Recorder {
    shared: Arc<Shared>,
    channels: u16,
    rate: u32,
}

struct Shared {
    /// Interleaved samples so far.
    samples: Mutex<Vec<f32>>,
    /// Peak of the last block, as f32 bits: the input meter.
    level: AtomicU32,
    stop: AtomicBool,
}

/// A finished recording, mono.
pub struct Recording {
    /// Mono samples.
    pub samples: Vec<f32>,
    /// Sample rate.
    pub rate: u32,
}

impl Recorder {
    /// Start recording from `input`; the error says why the input could not be opened.
    pub fn start(input: Input) -> Result<Self, String> {
        let shared = Arc::new(Shared {
            samples: Mutex::new(Vec::new()),
            level: AtomicU32::new(0),
            stop: AtomicBool::new(false),
        });
        let (opened_tx, opened_rx) = mpsc::channel();
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("avsync-record".into())
            .spawn(move || match open(input) {
                Ok((source, channels, rate)) => {
                    let _ = opened_tx.send(Ok((channels, rate)));
                    capture(source, channels, rate, &thread_shared);
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                }
            })
            .map_err(|e| format!("cannot start recording: {e}"))?;
        let (channels, rate) = opened_rx
            .recv_timeout(OPEN_TIMEOUT)
            .map_err(|_| "the input device did not open".to_string())??;
        Ok(Self {
            shared,
            channels,
            rate,
        })
    }

    /// Seconds recorded so far.
    pub fn seconds(&self) -> f64 {
        let n = self.shared.samples.lock().map_or(0, |s| s.len());
        n as f64 / f64::from(self.channels) / f64::from(self.rate)
    }

    /// The input's recent peak (linear, 0-1): the meter while recording.
    pub fn level(&self) -> f32 {
        f32::from_bits(self.shared.level.load(Ordering::Relaxed))
    }

    /// Stop and take what was recorded, mixed down to mono.
    pub fn stop(self) -> Recording {
        self.shared.stop.store(true, Ordering::Relaxed);
        let interleaved = self
            .shared
            .samples
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        Recording {
            samples: downmix(&interleaved, self.channels),
            rate: self.rate,
        }
    }
}

type Source = Box<dyn Iterator<Item = f32>>;

/// Open `input` (on the recording thread): its samples, channels and rate.
fn open(input: Input) -> Result<(Source, u16, u32), String> {
    match input {
        Input::Microphone => {
            use rodio::Source as _;
            use rodio::microphone::MicrophoneBuilder;
            let mic = MicrophoneBuilder::new()
                .default_device()
                .and_then(|b| b.default_config())
                .map_err(|e| format!("no microphone: {e}"))?
                .open_stream()
                .map_err(|e| format!("the microphone did not open: {e}"))?;
            let (channels, rate) = (mic.channels().get(), mic.sample_rate().get());
            Ok((Box::new(mic), channels, rate))
        }
        Input::Take(samples, channels, rate) => {
            if channels == 0 || rate == 0 {
                return Err("the take has no channels or no sample rate".into());
            }
            let n = samples.len();
            Ok((Box::new((0..n).map(move |i| samples[i])), channels, rate))
        }
    }
}

/// Copy the source into the shared buffer block by block until stopped, the source ends
/// (a device error) or the take reaches its longest.
fn capture(mut source: Source, channels: u16, rate: u32, shared: &Shared) {
    let limit = (MAX_TAKE_S * f64::from(rate)) as usize * usize::from(channels);
    let mut block = Vec::with_capacity(BLOCK * usize::from(channels));
    while !shared.stop.load(Ordering::Relaxed) {
        block.clear();
        block.extend(source.by_ref().take(BLOCK * usize::from(channels)));
        if block.is_empty() {
            return;
        }
        let peak = block.iter().fold(0f32, |m, s| m.max(s.abs()));
        shared
            .level
            .store(peak.min(1.0).to_bits(), Ordering::Relaxed);
        let Ok(mut samples) = shared.samples.lock() else {
            return;
        };
        if samples.len() >= limit {
            return;
        }
        samples.extend(block.iter().map(|s| if s.is_finite() { *s } else { 0.0 }));
    }
}

/// Average interleaved channels to one.
fn downmix(interleaved: &[f32], channels: u16) -> Vec<f32> {
    let c = usize::from(channels.max(1));
    interleaved
        .chunks_exact(c)
        .map(|frame| frame.iter().sum::<f32>() / c as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_take_is_recorded_and_mixed_to_mono() {
        let stereo: Vec<f32> = (0..4_800)
            .flat_map(|i| [i as f32, -(i as f32) * 0.5])
            .collect();
        let recorder = Recorder::start(Input::Take(Arc::new(stereo), 2, 48_000)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while recorder.seconds() < 0.1 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!((recorder.level() - 1.0).abs() < 1e-6, "the meter saturates");
        let take = recorder.stop();
        assert_eq!(take.rate, 48_000);
        assert_eq!(take.samples.len(), 4_800);
        assert_eq!(take.samples[10], 2.5);
    }

    #[test]
    fn an_input_without_a_rate_is_refused() {
        let e = Recorder::start(Input::Take(Arc::new(vec![0.0; 10]), 1, 0)).err();
        assert!(e.unwrap().contains("sample rate"));
    }
}
