//! Pictures for the viewer, decoded on a background thread so the interface never waits on
//! the decoder. The viewer asks for a time; only the newest request is served (scrubbing
//! skips what it has passed), and recent frames are kept by frame number.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};

use avsync_engine::media::{RgbFrame, VideoReader};

/// Frames kept.
const CACHE_FRAMES: usize = 96;

/// A decoded picture for frame `index`.
pub struct Decoded {
    /// Frame number at the clip's rate.
    pub index: u64,
    /// The picture.
    pub frame: RgbFrame,
}

/// The decoding thread of one clip.
pub struct FrameServer {
    requests: Sender<(u64, f64)>,
    results: Receiver<Result<Decoded, String>>,
    cache: HashMap<u64, RgbFrame>,
    order: VecDeque<u64>,
    pending: Option<u64>,
}

impl FrameServer {
    /// Start decoding `path` at `width x height`.
    pub fn start(path: PathBuf, width: u32, height: u32) -> Self {
        let (req_tx, req_rx) = channel::<(u64, f64)>();
        let (res_tx, res_rx) = channel();
        std::thread::Builder::new()
            .name("avsync-frames".into())
            .spawn(move || {
                let mut reader = match VideoReader::open(&path) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = res_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                while let Ok(mut req) = req_rx.recv() {
                    // Serve only the newest request.
                    while let Ok(newer) = req_rx.try_recv() {
                        req = newer;
                    }
                    let (index, t) = req;
                    let out = reader
                        .frame_at(t, width, height)
                        .map(|frame| Decoded { index, frame })
                        .map_err(|e| e.to_string());
                    if res_tx.send(out).is_err() {
                        return;
                    }
                }
            })
            .expect("spawn the frame thread");
        Self {
            requests: req_tx,
            results: res_rx,
            cache: HashMap::new(),
            order: VecDeque::new(),
            pending: None,
        }
    }

    /// Take in decoded pictures; returns the latest decoding error, if any.
    pub fn poll(&mut self) -> Option<String> {
        let mut error = None;
        while let Ok(r) = self.results.try_recv() {
            match r {
                Ok(d) => {
                    if self.pending == Some(d.index) {
                        self.pending = None;
                    }
                    self.order.push_back(d.index);
                    self.cache.insert(d.index, d.frame);
                    while self.order.len() > CACHE_FRAMES {
                        if let Some(old) = self.order.pop_front() {
                            self.cache.remove(&old);
                        }
                    }
                }
                Err(e) => {
                    self.pending = None;
                    error = Some(e);
                }
            }
        }
        error
    }

    /// Ask for frame `index` (at `t` seconds) unless it is cached or already asked for.
    pub fn request(&mut self, index: u64, t: f64) {
        if !self.cache.contains_key(&index) && self.pending != Some(index) {
            self.pending = Some(index);
            let _ = self.requests.send((index, t));
        }
    }

    /// The picture of frame `index`, if decoded.
    pub fn frame(&self, index: u64) -> Option<&RgbFrame> {
        self.cache.get(&index)
    }

    /// Whether a request is outstanding.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// The most recent cached frame at or before `index` (shown while decoding).
    pub fn nearest(&self, index: u64) -> Option<&RgbFrame> {
        self.cache
            .iter()
            .filter(|(k, _)| **k <= index)
            .max_by_key(|(k, _)| **k)
            .map(|(_, f)| f)
    }
}
