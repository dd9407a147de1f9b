//! Generation: from a clip, a prompt and a reference sound to candidate soundtracks.

pub mod cache;
pub mod clips;
pub mod conditioning;
pub mod denoise;
pub mod draft;
pub mod export;
pub mod generate;
pub mod inherit;
pub mod job;
pub mod model;
pub mod pack;
pub mod presets;
pub mod pretrained_vocoder;
pub mod render;
pub mod request;
pub mod retrieval;
mod scoring;
pub mod spot;
pub mod windows;

pub use cache::FeatureCache;
pub use generate::{
    Event, EventSource, GenerationReport, RenderedCandidate, Stage, UsedEvent, generate,
};
pub use job::{Generator, Job, JobMessage};
pub use model::{Model, ModelManifest};
pub use request::{Ablation, Anchoring, GenerationRequest, ReferenceSound};
pub use retrieval::SourceRecording;
