//! Beds made from a candidate: a seamless loop of a chosen length for ambience and room tone,
//! or the candidate continued past its end. Each becomes a new candidate beside its source
//! (the generated audio is never changed), with the loop's seam measured and logged.

use avsync_engine::dsp::MelExtractor;
use avsync_engine::dsp::looping::{extend, make_loop, seam};
use avsync_engine::pipeline::model::SAMPLE_RATE;
use avsync_engine::{Error, Result};

use super::candidate::{CandidateItem, Edits};
use super::studio::Studio;

/// Crossfade of a bed's joins, seconds.
pub const BED_CROSSFADE_S: f64 = 0.5;
/// Longest bed, seconds.
pub const MAX_BED_S: f64 = 3600.0;

/// What a bed is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bed {
    /// A seamless loop of this many seconds.
    Loop(f64),
    /// The candidate continued this many seconds past its end.
    Extend(f64),
}

impl Studio {
    /// Make `bed` from candidate `index` and add it (selected) after the others.
    pub fn make_bed(&mut self, index: usize, bed: Bed) {
        match self.try_make_bed(index, bed) {
            Ok(note) => self.info(note),
            Err(e) => self.error(e),
        }
    }

    fn try_make_bed(&mut self, index: usize, bed: Bed) -> Result<String> {
        let source = self
            .candidates
            .get(index)
            .ok_or_else(|| Error::invalid("no such candidate"))?;
        let seconds = match bed {
            Bed::Loop(s) | Bed::Extend(s) => s,
        };
        if !(seconds > 0.0 && seconds <= MAX_BED_S) {
            return Err(Error::invalid(format!(
                "a bed is 0 to {MAX_BED_S} s long, got {seconds} s"
            )));
        }
        let rate = f64::from(SAMPLE_RATE);
        let samples = |s: f64| (s * rate).round() as usize;
        let audio = &source.rendered.audio;
        let (audio, name, note) = match bed {
            Bed::Loop(s) => {
                let len = samples(s);
                let fade = samples(BED_CROSSFADE_S).min(len / 2).max(1);
                let looped = make_loop(audio, len, fade)?;
                let joint = seam(&looped, SAMPLE_RATE)?;
                let note = format!(
                    "seam {}: spectral change {:.1} dB (the loop's own: median {:.1}, 99th \
                     percentile {:.1}), level change {:.1} dB ({:.1}, {:.1})",
                    if joint.inaudible() {
                        "inaudible"
                    } else {
                        "audible"
                    },
                    joint.spectral_db,
                    joint.spectral_median_db,
                    joint.spectral_p99_db,
                    joint.level_db,
                    joint.level_median_db,
                    joint.level_p99_db
                );
                (looped, format!("{} loop {s:.1} s", source.name), note)
            }
            Bed::Extend(s) => {
                let len = audio.len() + samples(s);
                let mut longer = extend(audio, len, samples(BED_CROSSFADE_S))?;
                longer.truncate(len);
                let note = format!("continued {s:.1} s past its end");
                (longer, format!("{} +{s:.1} s", source.name), note)
            }
        };
        let mel = MelExtractor::audioldm()?.log_mel(&audio)?;
        let start = source.range.0;
        let length = audio.len() as f64 / rate;
        let mut rendered = source.rendered.clone();
        rendered.audio = audio;
        rendered.mel = mel;
        let item = CandidateItem {
            rendered,
            name: name.clone(),
            seed: source.seed,
            range: (start, start + length),
            edits: Edits::default(),
        };
        self.candidates.push(item);
        self.selected = Some(self.candidates.len() - 1);
        Ok(format!("made {name}: {note}"))
    }
}
