//! The draft a variation starts from: a real recording fitted to the picture before the
//! model varies it, as a Foley editor would lay it. A one-shot sound (a hit, a step, a
//! squawk) is spotted on every event, attack on the frame ([`super::spot`]); a sustained one
//! (rain, an engine, fire, an ambience) becomes a seamless bed over the range whose level
//! follows the picture's motion. Which of the two is read from the recording's envelope.

use serde::{Deserialize, Serialize};

use super::spot::{SpotEvent, SpotVariation, spot};
use crate::dsp::looping::extend;
use crate::error::Result;

/// How a recording is laid on the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoundKind {
    /// A short event: placed at every event of the picture.
    OneShot,
    /// A continuing sound: a bed over the whole range.
    Sustained,
    /// Already laid on the range (a candidate to vary again): used as it is.
    AsLaid,
}

/// Envelope frames for the decision, seconds.
const ENVELOPE_FRAME_S: f64 = 0.05;
/// A sustained sound lasts at least this long.
const SUSTAINED_MIN_S: f64 = 1.5;
/// ... and stays within 20 dB of its loudest frame for at least this fraction of its length.
const SUSTAINED_ACTIVE: f64 = 0.7;

/// Whether `sound` (mono at `rate`) is a one-shot or a sustained sound: sustained when it
/// lasts [`SUSTAINED_MIN_S`] or more and its level stays within 20 dB of its loudest 50 ms
/// for most of its length (leading and trailing silence aside).
pub fn sound_kind(sound: &[f32], rate: u32) -> SoundKind {
    let frame = ((ENVELOPE_FRAME_S * f64::from(rate)) as usize).max(1);
    let rms: Vec<f32> = sound
        .chunks(frame)
        .map(|c| (c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32).sqrt())
        .collect();
    let peak = rms.iter().fold(0f32, |m, &v| m.max(v));
    if !(peak > 0.0) {
        return SoundKind::OneShot;
    }
    let audible = |v: &f32| *v > peak * 0.01;
    let (Some(first), Some(last)) = (rms.iter().position(audible), rms.iter().rposition(audible))
    else {
        return SoundKind::OneShot;
    };
    let body = &rms[first..=last];
    let seconds = body.len() as f64 * ENVELOPE_FRAME_S;
    let active = body.iter().filter(|&&v| v > peak * 0.1).count() as f64 / body.len() as f64;
    if seconds >= SUSTAINED_MIN_S && active >= SUSTAINED_ACTIVE {
        SoundKind::Sustained
    } else {
        SoundKind::OneShot
    }
}

/// The picture's motion over the range, for a bed's level: `(seconds from the range's start,
/// motion energy)` per frame.
#[derive(Debug, Clone, Copy)]
pub struct MotionLevel<'a> {
    /// Frame times, seconds from the range's start.
    pub times: &'a [f64],
    /// Motion energy per frame (any scale).
    pub energy: &'a [f32],
}

/// Lowest bed level relative to its loudest, linear (-10 dB): a still picture keeps its
/// ambience.
const BED_FLOOR: f32 = 0.32;
/// Motion is smoothed over this long before it sets a bed's level, seconds.
const BED_SMOOTHING_S: f64 = 0.5;
/// Crossfade between repeats of a bed, seconds.
const BED_CROSSFADE_S: f64 = 0.25;

/// The draft of `sound` (mono at `rate`) over `len` samples: spotted on `events` (seconds
/// from the range's start; with none, once at the start) when it is a one-shot sound, a bed
/// following `motion` when it is sustained. `seed` varies each spotted copy's gain and pitch.
pub fn draft(
    sound: &[f32],
    rate: u32,
    kind: SoundKind,
    events: &[SpotEvent],
    motion: MotionLevel<'_>,
    len: usize,
    seed: u64,
) -> Result<Vec<f32>> {
    match kind {
        SoundKind::OneShot => {
            let at_start = [SpotEvent {
                time_s: 0.0,
                strength: 1.0,
            }];
            let events = if events.is_empty() { &at_start } else { events };
            Ok(spot(
                sound,
                events,
                len,
                rate,
                &SpotVariation::default(),
                seed,
            ))
        }
        SoundKind::Sustained => bed(sound, rate, motion, len),
        SoundKind::AsLaid => {
            let mut out = sound[..len.min(sound.len())].to_vec();
            out.resize(len, 0.0);
            Ok(out)
        }
    }
}

/// A bed of `len` samples: `sound` repeated with crossfades where it is shorter, with a fade
/// in and out of one crossfade, its level following the smoothed motion between
/// [`BED_FLOOR`] and full.
fn bed(sound: &[f32], rate: u32, motion: MotionLevel<'_>, len: usize) -> Result<Vec<f32>> {
    let fade = ((BED_CROSSFADE_S * f64::from(rate)) as usize).min(sound.len() / 2);
    let mut out = if sound.len() >= len || fade == 0 {
        let mut s = sound[..len.min(sound.len())].to_vec();
        s.resize(len, 0.0);
        s
    } else {
        let mut s = extend(sound, len, fade)?;
        s.truncate(len);
        s
    };
    let level = smoothed_level(motion);
    let edge = fade.min(len / 4).max(1);
    for (i, v) in out.iter_mut().enumerate() {
        let t = i as f64 / f64::from(rate);
        let m = level_at(motion.times, &level, t);
        let ramp = (i.min(len - 1 - i) as f32 / edge as f32).min(1.0);
        *v *= (BED_FLOOR + (1.0 - BED_FLOOR) * m) * ramp;
    }
    Ok(out)
}

/// Motion energy smoothed over [`BED_SMOOTHING_S`] and scaled so its 95th percentile is 1.
fn smoothed_level(motion: MotionLevel<'_>) -> Vec<f32> {
    let n = motion.energy.len().min(motion.times.len());
    if n == 0 {
        return Vec::new();
    }
    let span = match (motion.times.first(), motion.times.get(n - 1)) {
        (Some(a), Some(b)) if n > 1 && b > a => (b - a) / (n - 1) as f64,
        _ => 1.0,
    };
    let half = ((BED_SMOOTHING_S / 2.0 / span) as usize).max(1);
    let smooth: Vec<f32> = (0..n)
        .map(|i| {
            let w = &motion.energy[i.saturating_sub(half)..(i + half + 1).min(n)];
            w.iter().sum::<f32>() / w.len() as f32
        })
        .collect();
    let mut sorted = smooth.clone();
    sorted.sort_by(f32::total_cmp);
    let top = sorted[(sorted.len() - 1) * 95 / 100];
    if !(top > 0.0) {
        return vec![1.0; n];
    }
    smooth.iter().map(|v| (v / top).clamp(0.0, 1.0)).collect()
}

/// The level at `t`: linear between frames, held at the ends; full with no motion track.
fn level_at(times: &[f64], level: &[f32], t: f64) -> f32 {
    if level.is_empty() {
        return 1.0;
    }
    let i = times[..level.len()].partition_point(|&x| x <= t);
    match i {
        0 => level[0],
        i if i >= level.len() => level[level.len() - 1],
        i => {
            let (a, b) = (times[i - 1], times[i]);
            let f = if b > a {
                ((t - a) / (b - a)) as f32
            } else {
                0.0
            };
            level[i - 1] + f * (level[i] - level[i - 1])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::NoiseRng;

    fn hit(rate: u32) -> Vec<f32> {
        (0..rate as usize / 4)
            .map(|i| (-(i as f32) / 400.0).exp() * (i as f32 * 0.3).sin())
            .collect()
    }

    fn rain(rate: u32, seconds: f64) -> Vec<f32> {
        NoiseRng::new(4)
            .normals((seconds * f64::from(rate)) as usize)
            .into_iter()
            .map(|v| 0.1 * v)
            .collect()
    }

    #[test]
    fn hits_are_one_shots_and_rain_is_sustained() {
        let rate = 16_000;
        assert_eq!(sound_kind(&hit(rate), rate), SoundKind::OneShot);
        assert_eq!(sound_kind(&rain(rate, 3.0), rate), SoundKind::Sustained);
        // Short rain is a one-shot; a long decay with a loud head is too.
        assert_eq!(sound_kind(&rain(rate, 0.5), rate), SoundKind::OneShot);
        let mut long_hit = hit(rate);
        long_hit.resize(3 * rate as usize, 0.0);
        assert_eq!(sound_kind(&long_hit, rate), SoundKind::OneShot);
        assert_eq!(sound_kind(&[], rate), SoundKind::OneShot);
    }

    #[test]
    fn one_shots_land_on_the_events_and_beds_follow_the_motion() {
        let rate = 16_000;
        let still = MotionLevel {
            times: &[],
            energy: &[],
        };
        let events = [SpotEvent {
            time_s: 0.5,
            strength: 1.0,
        }];
        let d = draft(
            &hit(rate),
            rate,
            SoundKind::OneShot,
            &events,
            still,
            16_000,
            1,
        )
        .unwrap();
        let first = d.iter().position(|v| v.abs() > 1e-3).unwrap();
        assert!((first as i64 - 8000).abs() < 40, "{first}");
        // No events: once, at the start.
        let d = draft(&hit(rate), rate, SoundKind::OneShot, &[], still, 16_000, 1).unwrap();
        assert!(d[..200].iter().any(|v| v.abs() > 1e-3));

        // A bed of 4 s from 1 s of rain, loud while the picture moves, quiet while still.
        let times: Vec<f64> = (0..100).map(|i| i as f64 * 0.04).collect();
        let energy: Vec<f32> = times
            .iter()
            .map(|&t| if t < 2.0 { 1.0 } else { 0.0 })
            .collect();
        let motion = MotionLevel {
            times: &times,
            energy: &energy,
        };
        let d = draft(
            &rain(rate, 1.0),
            rate,
            SoundKind::Sustained,
            &[],
            motion,
            64_000,
            0,
        )
        .unwrap();
        assert_eq!(d.len(), 64_000);
        let rms = |s: &[f32]| (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt();
        let (moving, still) = (rms(&d[8000..24_000]), rms(&d[48_000..60_000]));
        assert!(moving > 0.08, "{moving}");
        assert!(
            (still / moving - BED_FLOOR).abs() < 0.08,
            "{}",
            still / moving
        );
    }
}
