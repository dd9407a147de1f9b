//! The one API the editor and the CLI drive generation through: a [`Generator`] (a loaded
//! model, its device and the feature cache) runs each request as a [`Job`] on a worker
//! thread, streaming [`Event`]s and finishing with the report. Cancelling is checked after
//! every denoising step, so it takes effect within one step.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use burn::tensor::Device;

use super::cache::FeatureCache;
use super::generate::{Event, GenerationReport, generate};
use super::model::Model;
use super::request::GenerationRequest;
use crate::error::{Error, Result};

/// A loaded model ready to generate, with the encoder cache it keeps between requests.
pub struct Generator {
    /// The model.
    pub model: Model,
    /// Where it runs.
    pub device: Device,
    /// Encoder outputs per clip and range.
    pub cache: FeatureCache,
}

impl Generator {
    /// Load the model in `dir` onto `device`.
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        Ok(Self {
            model: Model::load(dir, &device)?,
            device,
            cache: FeatureCache::new(),
        })
    }

    /// Run a request on this thread.
    pub fn run(
        &mut self,
        request: &GenerationRequest,
        events: &mut dyn FnMut(Event) -> bool,
    ) -> Result<Option<GenerationReport>> {
        generate(&self.model, request, &mut self.cache, &self.device, events)
    }
}

/// What a job sends.
#[derive(Debug)]
pub enum JobMessage {
    /// Progress and finished candidates.
    Event(Event),
    /// The end: the report, `None` when cancelled, or the error.
    Finished(Result<Option<Box<GenerationReport>>>),
}

/// A generation running on a worker thread.
pub struct Job {
    /// Messages in order; [`JobMessage::Finished`] is the last.
    pub messages: Receiver<JobMessage>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Job {
    /// Start `request` on `generator` (shared, so the editor keeps it between jobs; a second
    /// job waits for the first).
    pub fn spawn(generator: Arc<Mutex<Generator>>, request: GenerationRequest) -> Self {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("avsync-generate".into())
            .spawn(move || run(&generator, &request, &flag, &tx))
            .ok();
        if thread.is_none() {
            let (tx2, rx2) = channel();
            let _ = tx2.send(JobMessage::Finished(Err(Error::invalid(
                "cannot start a worker thread",
            ))));
            return Self {
                messages: rx2,
                cancel,
                thread: None,
            };
        }
        Self {
            messages: rx,
            cancel,
            thread,
        }
    }

    /// Ask the job to stop after the current step.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether cancelling was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Wait for the end, passing every event to `on_event`; returns the outcome.
    pub fn wait(mut self, mut on_event: impl FnMut(&Event)) -> Result<Option<GenerationReport>> {
        let mut outcome = None;
        for message in self.messages.iter() {
            match message {
                JobMessage::Event(e) => on_event(&e),
                JobMessage::Finished(r) => {
                    outcome = Some(r);
                    break;
                }
            }
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        outcome
            .unwrap_or_else(|| Err(Error::invalid("the generation stopped unexpectedly")))
            .map(|r| r.map(|b| *b))
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.cancel();
    }
}

fn run(
    generator: &Mutex<Generator>,
    request: &GenerationRequest,
    cancel: &AtomicBool,
    tx: &Sender<JobMessage>,
) {
    let mut g = generator.lock().unwrap_or_else(PoisonError::into_inner);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        g.run(request, &mut |e| {
            let _ = tx.send(JobMessage::Event(e));
            !cancel.load(Ordering::Relaxed)
        })
        .map(|r| r.map(Box::new))
    }))
    .unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "unknown".into());
        Err(Error::invalid(format!("the generation failed: {what}")))
    });
    let _ = tx.send(JobMessage::Finished(outcome));
}
