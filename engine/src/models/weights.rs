//! Checkpoint weights by name, the way a module tree asks for them.
//!
//! A [`Weights`] is a view on one or more safetensors files under a key prefix (`unet.`,
//! `down_blocks.0.resnets.1.` ...). Each layer asks for its tensors by their checkpoint
//! names and shapes, so loading is a path join, not a hand-kept table. Every problem is an
//! error naming the file and the key: a missing key, a shape mismatch (with both shapes), a
//! truncated or corrupt file, NaN or infinite values, and, through [`Weights::finish`], keys
//! the model did not use. Half-precision files are widened to f32 as they are read.
//!
//! The same interface also creates fresh weights ([`Weights::fresh`]) for models that are
//! about to be trained or benchmarked, so every module has one constructor.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;

use std::path::{Path, PathBuf};
use std::rc::Rc;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};

/// How a freshly created tensor is initialised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// All zeros (biases, zero-initialised output projections).
    Zeros,
    /// All ones (norm scales).
    Ones,
    /// Normal with this standard deviation.
    Normal(f64),
    /// Uniform in `[-b, b]` with `b = 1 / sqrt(fan_in)` (PyTorch's Linear/Conv default).
    FanIn(usize),
}

struct MappedFile {
    path: PathBuf,
    map: memmap2::Mmap,
    /// Header length in bytes (the data section starts at `8 + header_len`).
    header_len: usize,
    metadata: safetensors::tensor::Metadata,
}

impl MappedFile {
    /// The raw bytes and description of tensor `key`, if this file has it.
    fn tensor(&self, key: &str) -> Option<(&safetensors::tensor::TensorInfo, &[u8])> {
        let info = self.metadata.info(key)?;
        let start = 8 + self.header_len;
        let (a, b) = info.data_offsets;
        Some((info, &self.map[start + a..start + b]))
    }
}

enum Source {
    Files(Vec<MappedFile>),
    Fresh,
}

struct Inner {
    source: Source,
    device: Device,
    used: RefCell<BTreeSet<String>>,
    names: RefCell<ParamNames>,
}

/// Checkpoint names of the parameters created through [`Weights::param`], by parameter id,
/// with whether the module keeps the tensor transposed. Ids survive training, so this is
/// how a trained module is written back under the names it was loaded from.
#[derive(Debug, Clone, Default)]
pub struct ParamNames(HashMap<ParamId, (String, bool)>);

impl ParamNames {
    /// Merge another model part's names (an adapter loaded from its own files).
    pub fn extend(&mut self, other: ParamNames) {
        self.0.extend(other.0);
    }

    /// The state dict of `module` (PyTorch layouts, checkpoint names, sorted); parameters
    /// without a recorded name are skipped.
    pub fn state_of<M: Module>(&self, module: &M) -> StateDict {
        struct Collect<'a> {
            names: &'a ParamNames,
            state: StateDict,
        }
        impl ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let Some((name, transposed)) = self.names.0.get(&param.id) {
                    let t = param.val();
                    let data = if *transposed && D == 2 {
                        t.swap_dims(0, 1).into_data()
                    } else {
                        t.into_data()
                    };
                    self.state.push((name.clone(), data));
                }
            }
        }
        let mut c = Collect {
            names: self,
            state: StateDict::new(),
        };
        module.visit(&mut c);
        c.state.sort_by(|a, b| a.0.cmp(&b.0));
        c.state
    }
}

/// Named access to model weights under a key prefix.
#[derive(Clone)]
pub struct Weights {
    inner: Rc<Inner>,
    prefix: String,
}

impl Weights {
    /// Weights read from safetensors `files` (a model may be split over several), placed on
    /// `device`. The files are memory-mapped and validated here; tensors are read on request.
    pub fn from_files(files: &[PathBuf], device: &Device) -> Result<Self> {
        let mut mapped = Vec::with_capacity(files.len());
        for path in files {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            // SAFETY: the mapping is read-only and the files are the user's checkpoints, which
            // are not expected to change while a model loads.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
            // Validates the header and that every tensor lies inside the file.
            SafeTensors::deserialize(&map).map_err(|e| corrupt(path, e))?;
            let (header_len, metadata) =
                SafeTensors::read_metadata(&map).map_err(|e| corrupt(path, e))?;
            mapped.push(MappedFile {
                path: path.clone(),
                map,
                header_len,
                metadata,
            });
        }
        Ok(Self::new(Source::Files(mapped), device))
    }

    /// Weights created on request with the requested initialisation (for new models).
    pub fn fresh(device: &Device) -> Self {
        Self::new(Source::Fresh, device)
    }

    fn new(source: Source, device: &Device) -> Self {
        Self {
            inner: Rc::new(Inner {
                source,
                device: device.clone(),
                used: RefCell::new(BTreeSet::new()),
                names: RefCell::new(ParamNames::default()),
            }),
            prefix: String::new(),
        }
    }

    /// The view under `name` (`vb.pp("conv1")` asks for `conv1.weight`, ...).
    pub fn pp(&self, name: impl std::fmt::Display) -> Self {
        Self {
            inner: self.inner.clone(),
            prefix: format!("{}{}.", self.prefix, name),
        }
    }

    /// The device tensors are placed on.
    pub fn device(&self) -> &Device {
        &self.inner.device
    }

    /// Whether this is a fresh (not loaded) model.
    pub fn is_fresh(&self) -> bool {
        matches!(self.inner.source, Source::Fresh)
    }

    /// Whether a tensor `name` exists under this prefix (fresh weights: never).
    pub fn contains(&self, name: &str) -> bool {
        let key = format!("{}{}", self.prefix, name);
        match &self.inner.source {
            Source::Files(files) => files.iter().any(|f| f.tensor(&key).is_some()),
            Source::Fresh => false,
        }
    }

    /// The tensor `name` with exactly `shape`, or a fresh one initialised by `init`.
    pub fn get<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        init: Init,
    ) -> Result<Tensor<D>> {
        let key = format!("{}{}", self.prefix, name);
        let device = &self.inner.device;
        let files = match &self.inner.source {
            Source::Fresh => return Ok(fresh(shape, init, device)),
            Source::Files(files) => files,
        };
        for file in files {
            let Some((info, bytes)) = file.tensor(&key) else {
                continue;
            };
            if info.shape != shape {
                return Err(Error::media(
                    &file.path,
                    format!(
                        "tensor `{key}` has shape {:?}, the model expects {shape:?}",
                        info.shape
                    ),
                ));
            }
            let values = to_f32(info.dtype, bytes)
                .map_err(|m| Error::media(&file.path, format!("tensor `{key}`: {m}")))?;
            if values.iter().any(|v| !v.is_finite()) {
                return Err(Error::media(
                    &file.path,
                    format!("tensor `{key}` contains NaN or infinite values"),
                ));
            }
            self.inner.used.borrow_mut().insert(key);
            return Ok(Tensor::from_data(TensorData::new(values, shape), device));
        }
        Err(Error::media(
            self.file_list(),
            format!("missing tensor `{key}` (shape {shape:?})"),
        ))
    }

    /// [`Weights::get`] as a named module parameter (see [`ParamNames`]).
    pub fn param<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        init: Init,
    ) -> Result<Param<Tensor<D>>> {
        let mut p = Param::from_tensor(self.get(name, shape, init)?);
        self.record(&mut p, name, false);
        Ok(p)
    }

    /// A `[rows, cols]` checkpoint matrix kept transposed (`[cols, rows]`) by the module.
    pub fn param_transposed(
        &self,
        name: &str,
        shape: [usize; 2],
        init: Init,
    ) -> Result<Param<Tensor<2>>> {
        let mut p = Param::from_tensor(self.get(name, shape, init)?.transpose());
        self.record(&mut p, name, true);
        Ok(p)
    }

    /// Name the parameter: its id becomes a hash of the checkpoint name, so the same model
    /// loaded again has the same ids (a training run's optimizer state refers to them).
    fn record<const D: usize>(&self, p: &mut Param<Tensor<D>>, name: &str, transposed: bool) {
        let full = format!("{}{}", self.prefix, name);
        let hash = full.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        p.id = ParamId::from(hash);
        self.inner
            .names
            .borrow_mut()
            .0
            .insert(p.id, (full, transposed));
    }

    /// The checkpoint names of every parameter created so far.
    pub fn param_names(&self) -> ParamNames {
        self.inner.names.borrow().clone()
    }

    /// Fail if the files hold keys under this prefix that the model never asked for: a
    /// sign of a checkpoint for another architecture or configuration.
    pub fn finish(&self) -> Result<()> {
        self.finish_except(&[])
    }

    /// As [`Weights::finish`], ignoring keys under the given sub-prefixes (parts of a
    /// checkpoint a model deliberately leaves unused, such as BERT's pooler).
    pub fn finish_except(&self, ignored: &[&str]) -> Result<()> {
        let Source::Files(files) = &self.inner.source else {
            return Ok(());
        };
        let used = self.inner.used.borrow();
        let mut unexpected = Vec::new();
        for file in files {
            for name in file.metadata.tensors().keys() {
                let Some(rest) = name.strip_prefix(&self.prefix) else {
                    continue;
                };
                if !used.contains(name.as_str()) && !ignored.iter().any(|p| rest.starts_with(p)) {
                    unexpected.push(name.clone());
                }
            }
        }
        if unexpected.is_empty() {
            return Ok(());
        }
        unexpected.sort();
        let shown: Vec<_> = unexpected
            .iter()
            .take(5)
            .map(|k| format!("`{k}`"))
            .collect();
        let more = unexpected.len().saturating_sub(5);
        Err(Error::media(
            self.file_list(),
            format!(
                "{} unexpected tensor(s) the model does not use: {}{}",
                unexpected.len(),
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        ))
    }

    fn file_list(&self) -> PathBuf {
        match &self.inner.source {
            Source::Files(files) => PathBuf::from(
                files
                    .iter()
                    .map(|f| f.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Source::Fresh => PathBuf::from("<fresh weights>"),
        }
    }
}

fn corrupt(path: &Path, e: safetensors::SafeTensorError) -> Error {
    Error::media(
        path,
        format!("not a valid safetensors file (truncated or corrupt): {e}"),
    )
}

fn fresh<const D: usize>(shape: [usize; D], init: Init, device: &Device) -> Tensor<D> {
    match init {
        Init::Zeros => Tensor::zeros(shape, device),
        Init::Ones => Tensor::ones(shape, device),
        Init::Normal(std) => Tensor::random(shape, Distribution::Normal(0.0, std), device),
        Init::FanIn(fan_in) => {
            let b = 1.0 / (fan_in.max(1) as f64).sqrt();
            Tensor::random(shape, Distribution::Uniform(-b, b), device)
        }
    }
}

/// Widen a little-endian tensor payload to f32.
fn to_f32(dtype: Dtype, bytes: &[u8]) -> std::result::Result<Vec<f32>, String> {
    let f = |n: usize| bytes.chunks_exact(n);
    Ok(match dtype {
        Dtype::F32 => f(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => f(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => f(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::F64 => f(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8-byte chunk")) as f32)
            .collect(),
        other => {
            return Err(format!(
                "unsupported element type {other:?} (expected a float type)"
            ));
        }
    })
}

/// Every tensor of a float32 or float16 safetensors file, widened to f32, sorted by name.
pub fn read_state(path: &Path) -> Result<StateDict> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::media(path, format!("invalid safetensors: {e}")))?;
    let mut out = Vec::new();
    for (name, view) in st.tensors() {
        let values: Vec<f32> = match view.dtype() {
            safetensors::Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            safetensors::Dtype::F16 => view
                .data()
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(Error::media(
                    path,
                    format!("tensor `{name}` has unsupported type {other:?}"),
                ));
            }
        };
        out.push((name, TensorData::new(values, view.shape().to_vec())));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Named tensors to write: PyTorch layouts and checkpoint key names.
pub type StateDict = Vec<(String, TensorData)>;

/// Write `state` as an f32 safetensors file at `path`, atomically.
pub fn save_safetensors(path: &Path, state: &StateDict) -> Result<()> {
    save_safetensors_as(path, state, false)
}

/// [`save_safetensors`] in half precision when `half` (shipped weights: half the size, and
/// loading casts back to f32).
pub fn save_safetensors_as(path: &Path, state: &StateDict, half: bool) -> Result<()> {
    let mut buffers = Vec::with_capacity(state.len());
    for (name, data) in state {
        let values: Vec<f32> = data
            .clone()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| Error::invalid(format!("tensor `{name}`: {e:?}")))?;
        let bytes: Vec<u8> = if half {
            values
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect()
        } else {
            values.iter().flat_map(|v| v.to_le_bytes()).collect()
        };
        buffers.push((name.clone(), data.shape().to_vec(), bytes));
    }
    let dtype = if half { Dtype::F16 } else { Dtype::F32 };
    let views = buffers
        .iter()
        .map(|(n, s, b)| {
            safetensors::tensor::TensorView::new(dtype, s.clone(), b).map(|v| (n.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(format!("cannot serialise tensors: {e}")))?;
    let bytes = safetensors::serialize(views, None)
        .map_err(|e| Error::invalid(format!("cannot serialise tensors: {e}")))?;
    crate::media::output::write_atomic(path, |w| w.write_all(&bytes))?;
    Ok(())
}
