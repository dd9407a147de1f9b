//! The command line: one file per subcommand, each a thin layer over the engine.

mod batch;
mod dataset;
mod eval;
mod events;
mod footage;
mod frames;
mod generate;
mod library;
mod looping;
mod loudness;
mod mel;
mod model;
mod mux;
mod png_out;
mod probe;
mod progress;
mod tone;
mod train;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// AvSync Studio: Foley for silent video with AvSyncDiff.
#[derive(Debug, Parser)]
#[command(name = "avsync", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

impl Cli {
    /// Whether this runs a command (else it opens the editor).
    pub fn is_command(&self) -> bool {
        self.command.is_some()
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Describe a media file as JSON: container, duration, video timing, audio streams.
    Probe {
        /// The media file.
        file: PathBuf,
    },
    /// Extract N frames spaced uniformly over a time range as PNG files (+ frames.json).
    Frames(frames::FramesArgs),
    /// Render the log-mel spectrogram the model sees (16 kHz, 64 mels) as a PNG with axes.
    Mel(mel::MelArgs),
    /// Mux an audio file into a copy of a video (picture untouched).
    Mux(mux::MuxArgs),
    /// Measure EBU R128 loudness and true peak; optionally normalise into a new WAV.
    Loudness(loudness::LoudnessArgs),
    /// Write a reference tone (sine at a level, optionally a one-frame sync pop).
    Tone(tone::ToneArgs),
    /// Make a seamless loop of a chosen length from an ambience or bed, and measure its seam.
    Loop(looping::LoopArgs),
    /// Generate candidate soundtracks for a clip: WAVs, the best muxed into the video, a report.
    Generate(generate::GenerateArgs),
    /// Generate for many clips (a folder or a CSV), resumable, with one report.
    Batch(batch::BatchArgs),
    /// Evaluate a model on clips with known sound: onset ACC/AP, FD, sync, ablations.
    Eval(eval::EvalArgs),
    /// Measure the picture's event picker on clips with known events (precision, recall, F1,
    /// false events per second), or list the events it picks on videos.
    Events(events::EventsArgs),
    /// Write clips with no sound events over real photographs (pans, zooms, shake, cuts,
    /// distant traffic, crowds, light), for measuring false events.
    Footage(footage::FootageArgs),
    /// Build a training set from a folder of sound files (captions from paths or a CSV).
    Dataset(dataset::DatasetArgs),
    /// Train one part of a model (vae, vocoder, unet, heads) on a sound set, resumably.
    Train(train::TrainArgs),
    /// Create or inspect model directories.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Index a sound library and search it by description or by example.
    #[command(subcommand)]
    Library(library::LibraryCommand),
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Probe { file }) => probe::run(&file),
        Some(Command::Frames(a)) => frames::run(&a),
        Some(Command::Mux(a)) => mux::run(&a),
        Some(Command::Mel(a)) => mel::run(&a),
        Some(Command::Loudness(a)) => loudness::run(&a),
        Some(Command::Tone(a)) => tone::run(&a),
        Some(Command::Loop(a)) => looping::run(&a),
        Some(Command::Generate(a)) => generate::run(&a),
        Some(Command::Batch(a)) => batch::run(&a),
        Some(Command::Eval(a)) => eval::run(&a),
        Some(Command::Events(a)) => events::run(&a),
        Some(Command::Footage(a)) => footage::run(&a),
        Some(Command::Dataset(a)) => dataset::run(&a),
        Some(Command::Train(a)) => train::run(&a),
        Some(Command::Model(c)) => model::run(&c),
        Some(Command::Library(c)) => library::run(&c),
        None => crate::gui::run(),
    }
}
