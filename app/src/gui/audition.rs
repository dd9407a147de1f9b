//! Auditioning a candidate in sync with the picture: the candidate's audio plays from the
//! playhead, and the picture follows the audio clock (the samples the output has consumed),
//! so what is seen is what is heard even when the interface drops frames. Without a sound
//! device the picture follows the wall clock and the status bar says why.

use std::num::NonZero;
use std::time::Instant;

use rodio::buffer::SamplesBuffer;
use rodio::{DeviceSinkBuilder, DeviceTrait, MixerDeviceSink, Player};

/// Rate of the candidates' audio.
const RATE: u32 = 16_000;

/// What is playing and from where.
struct Playing {
    /// Candidate index.
    candidate: usize,
    /// Clip time at which playback started.
    from: f64,
    /// Clip time at which it ends.
    until: f64,
    /// Player of this playback (device mode).
    player: Option<Player>,
    /// Wall-clock start (no device).
    started: Instant,
}

/// Playback of candidates against the picture.
pub struct Audition {
    sink: Result<MixerDeviceSink, String>,
    playing: Option<Playing>,
    /// A library sound being previewed (not tied to the picture).
    preview: Option<Player>,
}

impl Default for Audition {
    fn default() -> Self {
        Self::new()
    }
}

impl Audition {
    /// Open the default sound device (a missing one is not an error: the picture still
    /// plays, on the wall clock).
    pub fn new() -> Self {
        Self {
            sink: DeviceSinkBuilder::open_default_sink().map_err(|e| e.to_string()),
            playing: None,
            preview: None,
        }
    }

    /// The names of the sound outputs, for the settings.
    pub fn output_names() -> Vec<String> {
        use rodio::cpal::traits::HostTrait;
        rodio::cpal::default_host()
            .output_devices()
            .map(|devices| {
                devices
                    .filter_map(|d| d.description().ok().map(|x| x.name().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Play through the output named `name` from now on.
    pub fn use_output(&mut self, name: &str) {
        use rodio::cpal::traits::HostTrait;
        self.stop();
        let device = rodio::cpal::default_host()
            .output_devices()
            .ok()
            .and_then(|mut ds| ds.find(|d| d.description().is_ok_and(|x| x.name() == name)));
        self.sink = match device {
            Some(d) => DeviceSinkBuilder::from_device(d)
                .and_then(|b| b.open_stream())
                .map_err(|e| e.to_string()),
            None => Err(format!("no sound output named {name}")),
        };
    }

    /// Without a device (tests).
    pub fn silent() -> Self {
        Self {
            sink: Err("no sound device requested".into()),
            playing: None,
            preview: None,
        }
    }

    /// Why there is no sound, when there is none.
    pub fn device_problem(&self) -> Option<&str> {
        self.sink.as_ref().err().map(String::as_str)
    }

    /// Candidate being played.
    pub fn candidate(&self) -> Option<usize> {
        self.playing.as_ref().map(|p| p.candidate)
    }

    /// Play `candidate` from clip time `from` to `until`; `audio` is its 16 kHz waveform
    /// starting at clip time `start` (after nudging), `gain` a linear factor. Where there is
    /// no audio the output plays silence, so its clock (the picture's) keeps running.
    pub fn play(
        &mut self,
        candidate: usize,
        audio: &[f32],
        start: f64,
        gain: f32,
        (from, until): (f64, f64),
    ) {
        self.stop();
        let player = self.sink.as_ref().ok().map(|sink| {
            let player = Player::connect_new(sink.mixer());
            player.append(source_from(audio, start, gain, (from, until)));
            player
        });
        self.playing = Some(Playing {
            candidate,
            from,
            until,
            player,
            started: Instant::now(),
        });
    }

    /// Play a sound (mono at `rate`) on its own, apart from the picture: a library preview.
    /// Returns whether a device plays it.
    pub fn preview(&mut self, samples: Vec<f32>, rate: u32) -> bool {
        self.stop_preview();
        let (Ok(sink), Some(rate)) = (self.sink.as_ref(), NonZero::new(rate)) else {
            return false;
        };
        let player = Player::connect_new(sink.mixer());
        player.append(SamplesBuffer::new(
            NonZero::new(1).expect("one channel"),
            rate,
            samples,
        ));
        self.preview = Some(player);
        true
    }

    /// Stop the preview.
    pub fn stop_preview(&mut self) {
        if let Some(p) = self.preview.take() {
            p.stop();
        }
    }

    /// Stop playback.
    pub fn stop(&mut self) {
        if let Some(p) = self.playing.take()
            && let Some(player) = p.player
        {
            player.stop();
        }
    }

    /// Whether something is playing.
    pub fn is_playing(&self) -> bool {
        self.playing.is_some()
    }

    /// The clip time the picture should show now: playback start plus what the output has
    /// played (or the wall clock without a device).
    pub fn position(&self) -> Option<f64> {
        self.playing.as_ref().map(|p| match &p.player {
            Some(player) if player.empty() => p.until,
            Some(player) => p.from + player.get_pos().as_secs_f64(),
            None => p.from + p.started.elapsed().as_secs_f64(),
        })
    }
}

/// The part of `audio` (16 kHz, starting at clip time `start`) from clip time `from` to
/// `until`, silent where the audio does not reach, as a mono source.
pub fn source_from(
    audio: &[f32],
    start: f64,
    gain: f32,
    (from, until): (f64, f64),
) -> SamplesBuffer {
    let rate = f64::from(RATE);
    let len = ((until - from).max(0.0) * rate).round() as usize;
    let offset = ((from - start) * rate).round() as i64;
    let samples: Vec<f32> = (0..len as i64)
        .map(|i| {
            usize::try_from(offset + i)
                .ok()
                .and_then(|j| audio.get(j))
                .map_or(0.0, |s| s * gain)
        })
        .collect();
    SamplesBuffer::new(
        NonZero::new(1).expect("one channel"),
        NonZero::new(RATE).expect("positive rate"),
        samples,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picture_follows_the_samples_played() {
        // A device-less player: pulling samples is what an output device does.
        let (player, mut output) = Player::new();
        let audio: Vec<f32> = (0..RATE * 2)
            .map(|i| i as f32 / (RATE * 2) as f32)
            .collect();
        // Start at clip time 3.5 s; the candidate starts at 3.0 s, so playback begins half a
        // second into it.
        player.append(source_from(&audio, 3.0, 1.0, (3.5, 6.0)));
        let first = output.next().unwrap();
        assert!((first - 0.25).abs() < 1e-3, "{first}");
        for _ in 0..RATE / 2 {
            output.next();
        }
        let played = player.get_pos().as_secs_f64();
        assert!((played - 0.5).abs() < 0.02, "{played}");
        let audition = Audition {
            sink: Err(String::new()),
            preview: None,
            playing: Some(Playing {
                candidate: 0,
                from: 3.5,
                until: 6.0,
                player: Some(player),
                started: Instant::now(),
            }),
        };
        let t = audition.position().unwrap();
        assert!((t - 4.0).abs() < 0.02, "picture at {t} s");

        // Before the candidate starts: silence first.
        let src = source_from(&audio, 3.0, 0.5, (2.0, 5.0));
        let v: Vec<f32> = src.take(RATE as usize + 2).collect();
        assert!(v[..RATE as usize].iter().all(|s| *s == 0.0));
        assert_eq!(v[RATE as usize + 1], 0.5 * audio[1]);

        // Past the candidate's end (5.0 s) the clock keeps running on silence to `until`.
        let src = source_from(&audio, 3.0, 1.0, (4.0, 7.0));
        let v: Vec<f32> = src.collect();
        assert_eq!(v.len(), 3 * RATE as usize);
        assert!(v[RATE as usize + 8..].iter().all(|s| *s == 0.0));
        // Picture alone: silence over the whole range.
        assert_eq!(
            source_from(&[], 0.0, 0.0, (1.0, 1.5)).count(),
            RATE as usize / 2
        );
    }
}
