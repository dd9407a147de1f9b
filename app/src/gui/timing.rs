//! The editor's timing actions: tapping events while the clip plays, turning a vocal
//! imitation into markers, and spotting the reference sound on the markers without a model.

use std::path::{Path, PathBuf};

use avsync_engine::dsp::MelExtractor;
use avsync_engine::gmds::Lineage;
use avsync_engine::media::{DecodeOptions, WavSpec, decode_audio, write_wav};
use avsync_engine::pipeline::RenderedCandidate;
use avsync_engine::pipeline::SourceRecording;
use avsync_engine::pipeline::draft::SoundKind;
use avsync_engine::pipeline::model::SAMPLE_RATE;
use avsync_engine::pipeline::spot::{SpotEvent, SpotVariation, spot};
use avsync_engine::{AudioBuffer, Error, Result};

use super::candidate::{CandidateItem, Edits};
use super::markers::imitation_onsets;
use super::recorder::Recording;
use super::studio::Studio;

impl Studio {
    /// Mark an event on the frame at the playhead (a tap while playing).
    pub fn tap(&mut self) {
        if let Some(c) = &self.clip {
            let rate = c.rate;
            self.markers.add(self.playhead, rate);
        }
    }

    /// Add a marker at every onset of the sound at `path` (a vocal imitation performed from
    /// the in point).
    pub fn markers_from_imitation(&mut self, path: &Path) {
        let Some(c) = &self.clip else {
            return self.error("open a clip first");
        };
        let (rate, duration, start) = (c.rate, c.duration, self.range.0);
        match imitation_onsets(path) {
            Ok(onsets) => {
                let before = self.markers.len();
                for t in onsets.iter().map(|t| start + t).filter(|t| *t <= duration) {
                    self.markers.add(t, rate);
                }
                let added = self.markers.len() - before;
                self.info(format!(
                    "{added} markers from the onsets of {}",
                    path.display()
                ));
            }
            Err(e) => self.error(e),
        }
    }

    /// Keep a vocal imitation recorded from the in point as a WAV in the export folder and
    /// add a marker at each of its onsets; returns the file written.
    pub fn markers_from_recording(&mut self, take: Recording) -> Option<PathBuf> {
        let peak = take.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        match self.keep_recording(take) {
            Ok(path) => {
                if peak < 1e-4 {
                    self.error(format!(
                        "the recording is silent (is the microphone muted?): {}",
                        path.display()
                    ));
                } else {
                    self.markers_from_imitation(&path);
                }
                Some(path)
            }
            Err(e) => {
                self.error(e);
                None
            }
        }
    }

    fn keep_recording(&self, take: Recording) -> Result<PathBuf> {
        let Some(clip) = &self.clip else {
            return Err(Error::invalid("open a clip first"));
        };
        if take.samples.is_empty() {
            return Err(Error::invalid("nothing was recorded"));
        }
        let (dir, stem) = self.output_place(&clip.path);
        let path = (1..)
            .map(|n| dir.join(format!("{stem}_imitation_{n}.wav")))
            .find(|p| !p.exists())
            .expect("an unused name");
        write_wav(
            &path,
            &AudioBuffer::new(take.rate, 1, take.samples),
            &WavSpec::default(),
        )
    }

    /// Place the reference sound at every marker in the in/out range, with small gain and
    /// pitch variations, as a new candidate (no model).
    pub fn spot(&mut self) {
        match self.spotted() {
            Ok(item) => {
                self.info(format!("spotted: {}", item.name));
                self.candidates.push(item);
                self.selected = Some(self.candidates.len() - 1);
            }
            Err(e) => self.error(e),
        }
    }

    fn spotted(&self) -> Result<CandidateItem> {
        if self.clip.is_none() {
            return Err(Error::invalid("open a clip first"));
        }
        let path = PathBuf::from(self.reference_path.trim());
        if path.as_os_str().is_empty() {
            return Err(Error::invalid(
                "spotting places the reference sound: choose one first",
            ));
        }
        let (from, to) = self.range;
        let events: Vec<SpotEvent> = self
            .markers
            .within(self.range)
            .into_iter()
            .map(|t| SpotEvent {
                time_s: t - from,
                strength: 1.0,
            })
            .collect();
        if events.is_empty() {
            return Err(Error::invalid(
                "no markers in the in/out range: tap M while the clip plays, or add them on \
                 the timeline",
            ));
        }
        let sound = decode_audio(&path, &DecodeOptions::to(SAMPLE_RATE, 1))?;
        let len = ((to - from) * f64::from(SAMPLE_RATE)).round() as usize;
        // Each spotting of the same settings varies differently.
        let seed = self.request.seed.wrapping_add(self.candidates.len() as u64);
        let audio = spot(
            &sound.samples,
            &events,
            len,
            SAMPLE_RATE,
            &SpotVariation::default(),
            seed,
        );
        let mel = MelExtractor::audioldm()?.log_mel(&audio)?;
        let stem = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        Ok(CandidateItem {
            rendered: RenderedCandidate {
                rank: 0,
                id: 0,
                lineage: Lineage::Initial { seed },
                search_score: 0.0,
                score: 0.0,
                scores: Vec::new(),
                audio,
                mel,
                full_band: None,
                source: Some(SourceRecording::given(&path)),
                placement: Some(SoundKind::OneShot),
                joins: Vec::new(),
            },
            name: format!(
                "#{} spot {stem} x{}",
                self.candidates.len() + 1,
                events.len()
            ),
            seed,
            range: self.range,
            edits: Edits::default(),
        })
    }
}
