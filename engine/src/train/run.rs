//! A training run on disk: its settings, step, loss log, optimizer state, raw and averaged
//! weights. A stopped run (interrupted or finished) resumes from its last checkpoint with
//! the same optimizer moments and data order, so stopping costs at most the steps since it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::media::output::write_atomic;
use crate::models::weights::{StateDict, read_state, save_safetensors};

const STATE: &str = "state.json";
const OPTIMIZER: &str = "optimizer.bpk";
const WEIGHTS: &str = "weights.safetensors";
const AVERAGE: &str = "ema.safetensors";
const LOG: &str = "loss.csv";

/// Settings every stage shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Optimizer steps to reach (a resumed run continues up to this count).
    pub steps: usize,
    /// Examples per step.
    pub batch: usize,
    /// Peak learning rate (AdamW).
    pub learning_rate: f64,
    /// Linear warm-up steps.
    pub warmup: usize,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Per-parameter gradient norm clip.
    pub clip_norm: f64,
    /// Seed of the data order, noise and dropout.
    pub seed: u64,
    /// Steps between checkpoints.
    pub checkpoint_every: usize,
    /// Decay of the weight average written as the result (0: the raw weights).
    pub ema_decay: f64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            steps: 1000,
            batch: 8,
            learning_rate: 2e-4,
            warmup: 100,
            weight_decay: 1e-4,
            clip_norm: 1.0,
            seed: 0,
            checkpoint_every: 100,
            ema_decay: 0.0,
        }
    }
}

impl TrainSettings {
    /// The learning rate at `step`: linear warm-up, then constant.
    pub fn learning_rate_at(&self, step: usize) -> f64 {
        if step < self.warmup {
            self.learning_rate * (step + 1) as f64 / self.warmup as f64
        } else {
            self.learning_rate
        }
    }

    /// AdamW as configured.
    pub fn optimizer(&self) -> ModuleOptimizer {
        AdamWConfig::new()
            .with_weight_decay(self.weight_decay as f32)
            .with_grad_clipping(Some(GradientClippingConfig::Norm(self.clip_norm as f32)))
            .init()
    }

    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        if self.batch == 0 || self.checkpoint_every == 0 {
            return Err(Error::invalid(
                "batch and checkpoint interval must be positive",
            ));
        }
        if !(self.learning_rate > 0.0) || !(0.0..1.0).contains(&self.ema_decay) {
            return Err(Error::invalid(
                "the learning rate must be positive and the EMA decay in [0, 1)",
            ));
        }
        Ok(())
    }
}

/// What a run records between sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// Stage name.
    pub stage: String,
    /// Settings it was started with (the step target may be raised on resume).
    pub settings: TrainSettings,
    /// Steps done.
    pub step: usize,
    /// Seconds spent training, over all sessions.
    pub seconds: f64,
    /// Mean loss terms over the last checkpoint interval.
    pub last_losses: BTreeMap<String, f64>,
    /// Folder of the last checkpoint inside the run (weights, average, optimizer); runs
    /// written before checkpoints had folders keep their files at the top.
    #[serde(default)]
    pub checkpoint: Option<String>,
}

/// An exponential moving average of named weights.
#[derive(Debug, Default)]
pub struct Ema {
    values: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Ema {
    /// Fold `state` in with weight `1 - decay` (the first call copies it).
    pub fn update(&mut self, state: &StateDict, decay: f64) -> Result<()> {
        let d = decay as f32;
        for (name, data) in state {
            let v: Vec<f32> = data
                .clone()
                .convert::<f32>()
                .try_into_vec()
                .map_err(|e| Error::invalid(format!("tensor `{name}`: {e:?}")))?;
            match self.values.get_mut(name) {
                Some((_, acc)) if acc.len() == v.len() => {
                    for (a, x) in acc.iter_mut().zip(v) {
                        *a = d * *a + (1.0 - d) * x;
                    }
                }
                _ => {
                    self.values.insert(name.clone(), (data.shape().to_vec(), v));
                }
            }
        }
        Ok(())
    }

    /// The averaged weights.
    pub fn state(&self) -> StateDict {
        self.values
            .iter()
            .map(|(n, (shape, v))| {
                (
                    n.clone(),
                    burn::tensor::TensorData::new(v.clone(), shape.clone()),
                )
            })
            .collect()
    }

    fn load(path: &Path) -> Result<Self> {
        let mut values = BTreeMap::new();
        for (name, data) in read_state(path)? {
            let shape = data.shape().to_vec();
            let v = data
                .try_into_vec::<f32>()
                .map_err(|e| Error::media(path, format!("tensor `{name}`: {e:?}")))?;
            values.insert(name, (shape, v));
        }
        Ok(Self { values })
    }
}

/// Where the last checkpoint of a run lies.
fn checkpoint_dir(dir: &Path, state: &RunState) -> PathBuf {
    state
        .checkpoint
        .as_ref()
        .map_or_else(|| dir.to_path_buf(), |c| dir.join(c))
}

/// Drop the log lines of steps after `step` (done after the last checkpoint by a run that
/// was then interrupted: they are redone on resume).
fn forget_steps_after(log: &Path, step: usize) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(log) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, line)| {
            *i == 0
                || line
                    .split(',')
                    .next()
                    .and_then(|s| s.parse::<usize>().ok())
                    .is_some_and(|s| s <= step)
        })
        .map(|(_, line)| line)
        .collect();
    if kept.len() == text.lines().count() {
        return Ok(());
    }
    let mut out = kept.join("\n");
    out.push('\n');
    write_atomic(log, |w| w.write_all(out.as_bytes()))?;
    Ok(())
}

/// Remove what an interrupted run left behind: checkpoint folders the state does not name
/// (one being written when the run was stopped) and unfinished temporary files.
fn remove_leftovers(dir: &Path, state: &RunState) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale_checkpoint =
            name.starts_with("checkpoint-") && state.checkpoint.as_deref() != Some(name.as_ref());
        if stale_checkpoint {
            let _ = std::fs::remove_dir_all(entry.path());
        } else if name.starts_with(".avsync-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// An open run directory.
pub struct Run {
    dir: PathBuf,
    /// Its state.
    pub state: RunState,
    /// The weight average, when the settings ask for one.
    pub ema: Ema,
    started: Instant,
    seconds_before: f64,
    sums: BTreeMap<String, (f64, usize)>,
}

impl Run {
    /// Open `dir` for `stage`: resume the run there, or start one with `settings`. On
    /// resume the stored settings hold except the step target, which `settings` may raise.
    pub fn open(dir: &Path, stage: &str, settings: &TrainSettings) -> Result<Self> {
        settings.validate()?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let state_path = dir.join(STATE);
        let (state, ema) = if state_path.exists() {
            let text = std::fs::read(&state_path).map_err(|e| Error::io(&state_path, e))?;
            let mut state: RunState = serde_json::from_slice(&text)
                .map_err(|e| Error::media(&state_path, format!("invalid run state: {e}")))?;
            if state.stage != stage {
                return Err(Error::media(
                    dir,
                    format!("holds a `{}` run, not `{stage}`", state.stage),
                ));
            }
            state.settings.steps = settings.steps.max(state.step);
            forget_steps_after(&dir.join(LOG), state.step)?;
            remove_leftovers(dir, &state);
            let ema_path = checkpoint_dir(dir, &state).join(AVERAGE);
            let ema = if ema_path.exists() {
                Ema::load(&ema_path)?
            } else {
                Ema::default()
            };
            (state, ema)
        } else {
            let state = RunState {
                stage: stage.to_string(),
                settings: settings.clone(),
                step: 0,
                seconds: 0.0,
                last_losses: BTreeMap::new(),
                checkpoint: None,
            };
            (state, Ema::default())
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            seconds_before: state.seconds,
            state,
            ema,
            started: Instant::now(),
            sums: BTreeMap::new(),
        })
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a checkpoint exists to resume from.
    pub fn resumed(&self) -> bool {
        self.state.step > 0
    }

    /// Raw weights of the last checkpoint.
    pub fn weights_path(&self) -> PathBuf {
        checkpoint_dir(&self.dir, &self.state).join(WEIGHTS)
    }

    /// The optimizer, with its moments restored when resuming.
    pub fn optimizer(&self) -> Result<ModuleOptimizer> {
        let optim = self.state.settings.optimizer();
        if !self.resumed() {
            return Ok(optim);
        }
        let path = checkpoint_dir(&self.dir, &self.state).join(OPTIMIZER);
        optim
            .load(&path)
            .map_err(|e| Error::media(&path, format!("cannot restore the optimizer: {e:?}")))
    }

    /// Record the loss terms of one step (appended to `loss.csv`).
    pub fn record(&mut self, losses: &[(&str, f64)]) -> Result<()> {
        let path = self.dir.join(LOG);
        let new = !path.exists();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut line = String::new();
        if new {
            line.push_str("step,seconds");
            for (k, _) in losses {
                line.push(',');
                line.push_str(k);
            }
            line.push('\n');
        }
        line.push_str(&format!("{},{:.1}", self.state.step, self.seconds()));
        for (k, v) in losses {
            line.push_str(&format!(",{v:.6}"));
            let e = self.sums.entry((*k).to_string()).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
        line.push('\n');
        f.write_all(line.as_bytes())
            .map_err(|e| Error::io(&path, e))
    }

    /// Training seconds over all sessions.
    pub fn seconds(&self) -> f64 {
        self.seconds_before + self.started.elapsed().as_secs_f64()
    }

    /// Write a checkpoint: raw weights, the average and the optimizer moments into a new
    /// folder, then the state naming it (last, so an interrupted checkpoint is never taken
    /// for a complete one), then drop the previous folder.
    pub fn checkpoint(&mut self, raw: &StateDict, optim: &ModuleOptimizer) -> Result<()> {
        let name = format!("checkpoint-{:07}", self.state.step);
        let folder = self.dir.join(&name);
        std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
        save_safetensors(&folder.join(WEIGHTS), raw)?;
        if self.state.settings.ema_decay > 0.0 {
            save_safetensors(&folder.join(AVERAGE), &self.ema.state())?;
        }
        let opt_path = folder.join(OPTIMIZER);
        optim
            .save(&opt_path)
            .map_err(|e| Error::media(&opt_path, format!("cannot save the optimizer: {e:?}")))?;
        let previous = checkpoint_dir(&self.dir, &self.state);
        self.state.seconds = self.seconds();
        self.state.last_losses = std::mem::take(&mut self.sums)
            .into_iter()
            .map(|(k, (s, n))| (k, s / n.max(1) as f64))
            .collect();
        self.state.checkpoint = Some(name);
        let json =
            serde_json::to_vec_pretty(&self.state).map_err(|e| Error::invalid(e.to_string()))?;
        write_atomic(&self.dir.join(STATE), |w| w.write_all(&json))?;
        if previous != self.dir && previous != folder {
            let _ = std::fs::remove_dir_all(&previous);
        } else if previous == self.dir {
            for f in [WEIGHTS, AVERAGE, OPTIMIZER] {
                let _ = std::fs::remove_file(self.dir.join(f));
            }
        }
        Ok(())
    }

    /// The weights a finished stage hands on: the average when one is kept, else `raw`.
    pub fn result(&self, raw: StateDict) -> StateDict {
        if self.state.settings.ema_decay > 0.0 && !self.ema.values.is_empty() {
            self.ema.state()
        } else {
            raw
        }
    }
}
