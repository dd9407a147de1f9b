//! Spotting without a model: one chosen sound placed at each event (picked from the picture,
//! tapped or marked), with its attack on the event's frame and the small random gain and
//! pitch variations that keep repeats from sounding mechanical. A copy that would still ring
//! when the next event comes is faded out just before it (a choke, as an editor cuts the
//! previous hit), so every event keeps a clean attack. A real workflow, and the baseline
//! generation is measured against.

use crate::noise::NoiseRng;

/// How each placed copy varies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpotVariation {
    /// Random gain, uniform in +-`gain_db`.
    pub gain_db: f64,
    /// Random pitch (and speed) shift, uniform in +-`semitones`.
    pub semitones: f64,
    /// How much an event's strength scales its copy: gain `1 - follow * (1 - strength)`.
    pub follow_strength: f32,
}

impl Default for SpotVariation {
    fn default() -> Self {
        Self {
            gain_db: 2.0,
            semitones: 1.0,
            follow_strength: 0.5,
        }
    }
}

/// An event to spot on: when, and how strong relative to the strongest, in (0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpotEvent {
    pub time_s: f64,
    pub strength: f32,
}

/// Fade-out of a copy cut short by the next event, seconds.
const CHOKE_S: f64 = 0.015;

/// Pre-roll kept before the attack, seconds.
const PRE_ROLL_S: f64 = 0.002;
/// The attack is the first sample reaching this fraction of the sound's peak.
const ATTACK_FRACTION: f32 = 0.1;

/// Where the sound's attack starts: leading silence would put the audible hit late.
pub fn attack_start(sound: &[f32], sample_rate: u32) -> usize {
    let peak = sound.iter().fold(0f32, |m, v| m.max(v.abs()));
    if peak <= 0.0 || !peak.is_finite() {
        return 0;
    }
    let first = sound
        .iter()
        .position(|v| v.abs() >= ATTACK_FRACTION * peak)
        .unwrap_or(0);
    first.saturating_sub((PRE_ROLL_S * f64::from(sample_rate)) as usize)
}

/// `len` samples with `sound` (mono, at `sample_rate`) placed at every event, each copy's
/// attack on its event. Copies overlap and sum; events outside `[0, len)` are skipped.
pub fn spot(
    sound: &[f32],
    events: &[SpotEvent],
    len: usize,
    sample_rate: u32,
    variation: &SpotVariation,
    seed: u64,
) -> Vec<f32> {
    let mut out = vec![0f32; len];
    let sound = &sound[attack_start(sound, sample_rate).min(sound.len())..];
    if sound.is_empty() {
        return out;
    }
    let mut rng = NoiseRng::new(seed);
    let starts: Vec<usize> = {
        let mut at: Vec<usize> = events
            .iter()
            .filter(|e| e.time_s.is_finite() && e.time_s >= 0.0)
            .map(|e| (e.time_s * f64::from(sample_rate)).round() as usize)
            .collect();
        at.sort_unstable();
        at
    };
    let choke = ((CHOKE_S * f64::from(sample_rate)) as usize).max(1);
    for e in events {
        let gain_db = rng.range(-variation.gain_db, variation.gain_db);
        let speed = 2f64.powf(rng.range(-variation.semitones, variation.semitones) / 12.0);
        if !(e.time_s.is_finite() && e.time_s >= 0.0) {
            continue;
        }
        let at = (e.time_s * f64::from(sample_rate)).round() as usize;
        if at >= len {
            continue;
        }
        let strength = e.strength.clamp(0.0, 1.0);
        let gain = 10f64.powf(gain_db / 20.0) as f32
            * (1.0 - variation.follow_strength * (1.0 - strength));
        // Linear-interpolation resampling: for a shift of a semitone or two its imaging is far
        // below the recording's own noise.
        // The next event's pre-roll is where this copy must have gone quiet.
        let next = starts
            .iter()
            .find(|&&s| s > at)
            .map_or(len, |&s| s.saturating_sub(choke).max(at + 1));
        let full_len = (sound.len() as f64 / speed) as usize;
        let copy_len = full_len.min(len - at).min(next - at);
        let fade_from = if copy_len < full_len.min(len - at) {
            copy_len.saturating_sub(choke)
        } else {
            copy_len
        };
        for (k, o) in out[at..at + copy_len].iter_mut().enumerate() {
            let pos = k as f64 * speed;
            let i = pos as usize;
            let frac = (pos - i as f64) as f32;
            let a = sound[i.min(sound.len() - 1)];
            let b = sound[(i + 1).min(sound.len() - 1)];
            let fade = if k >= fade_from {
                1.0 - (k - fade_from + 1) as f32 / (copy_len - fade_from + 1) as f32
            } else {
                1.0
            };
            *o += gain * fade * (a + frac * (b - a));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(sr: u32) -> Vec<f32> {
        let mut s = vec![0f32; sr as usize / 10];
        for (k, v) in s.iter_mut().enumerate().skip(400) {
            *v = (-(k as f32 - 400.0) / 200.0).exp() * if k % 2 == 0 { 1.0 } else { -1.0 };
        }
        s
    }

    #[test]
    fn each_copy_starts_its_attack_on_its_event() {
        let sr = 16_000;
        let sound = click(sr);
        assert_eq!(attack_start(&sound, sr), 400 - 32);
        let events = [
            SpotEvent {
                time_s: 0.25,
                strength: 1.0,
            },
            SpotEvent {
                time_s: 0.75,
                strength: 0.2,
            },
            SpotEvent {
                time_s: 5.0,
                strength: 1.0,
            },
        ];
        let still = SpotVariation {
            gain_db: 0.0,
            semitones: 0.0,
            follow_strength: 0.5,
        };
        let out = spot(&sound, &events, sr as usize, sr, &still, 7);
        assert_eq!(out.len(), sr as usize);
        let first = out.iter().position(|v| v.abs() > 0.5).unwrap();
        assert_eq!(first, 4000 + 32, "attack on the event, pre-roll before it");
        let peak = |a: usize| out[a..a + 400].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!((peak(4000) - 1.0).abs() < 1e-6);
        assert!(
            (peak(12_000) - 0.6).abs() < 1e-6,
            "weaker event, quieter copy"
        );
        assert!(out[..4000].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn variations_are_bounded_and_seeded() {
        let sr = 16_000;
        let sound = click(sr);
        let events: Vec<SpotEvent> = (0..8)
            .map(|k| SpotEvent {
                time_s: 0.1 * k as f64,
                strength: 1.0,
            })
            .collect();
        let v = SpotVariation::default();
        let a = spot(&sound, &events, sr as usize, sr, &v, 1);
        assert_eq!(a, spot(&sound, &events, sr as usize, sr, &v, 1));
        assert_ne!(a, spot(&sound, &events, sr as usize, sr, &v, 2));
        let max = a.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(max <= 10f32.powf(2.0 / 20.0) + 1e-4 && max > 0.7);
        assert!(spot(&[], &events, 100, sr, &v, 1).iter().all(|&x| x == 0.0));
    }

    /// A copy still ringing at the next event is faded out before that event's attack.
    #[test]
    fn a_ringing_copy_is_choked_before_the_next_event() {
        let sr = 16_000;
        let ring: Vec<f32> = (0..sr as usize)
            .map(|k| if k % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        let events = [0.1, 0.3].map(|time_s| SpotEvent {
            time_s,
            strength: 1.0,
        });
        let still = SpotVariation {
            gain_db: 0.0,
            semitones: 0.0,
            follow_strength: 0.0,
        };
        let out = spot(&ring, &events, sr as usize, sr, &still, 0);
        // Silent just before the second event (its pre-roll aside), full after it.
        let before = out[4800 - 8..4800 - 1]
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()));
        assert!(before < 0.05, "{before}");
        assert!((out[4800 + 10].abs() - 0.5).abs() < 1e-6);
        assert!(
            (out[3000].abs() - 0.5).abs() < 1e-6,
            "the first copy plays until then"
        );
    }
}
