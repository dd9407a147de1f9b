//! The editor's sound library: the index file, a folder indexing on its own thread (progress,
//! cancel, saved as it goes), and searches by description or by example. The networks load
//! on a thread the first time they are needed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use avsync_engine::library::{
    Hit, LibraryIndex, SoundEmbedder, UpdateReport, search_example, search_text,
};
use avsync_engine::pipeline::model::assets_dir;

/// Results shown per search.
const RESULTS: usize = 50;
/// The index is saved this often while a folder is indexed.
const SAVE_EVERY: Duration = Duration::from_secs(30);

/// What the indexing thread reports.
enum IndexMessage {
    Progress { done: usize, total: usize },
    Finished(Box<Result<(LibraryIndex, UpdateReport), String>>),
}

/// A folder being indexed.
struct Indexing {
    messages: Receiver<IndexMessage>,
    cancel: Arc<AtomicBool>,
}

/// Work waiting for the networks to load.
enum Pending {
    Text(String),
    Example(usize),
    Index,
}

/// The library panel's state.
pub struct Library {
    /// The index file (`None`: no home folder to keep one in, and none chosen).
    pub index_path: Option<PathBuf>,
    /// The folder to index, as typed.
    pub folder: String,
    /// The search text.
    pub query: String,
    /// The index.
    pub index: Arc<LibraryIndex>,
    /// Results of the last search, best first.
    pub hits: Vec<Hit>,
    /// Time the last search took, milliseconds.
    pub search_ms: Option<f64>,
    /// Files indexed and found, while indexing.
    pub progress: Option<(usize, usize)>,
    /// What happened last.
    pub status: String,
    /// The model whose heads match text with sounds.
    model_dir: PathBuf,
    embedder: Option<Arc<SoundEmbedder>>,
    loading: Option<Receiver<Result<SoundEmbedder, String>>>,
    pending: Option<Pending>,
    indexing: Option<Indexing>,
}

impl Library {
    /// The library of `index_path` (read now; a missing file is an empty library), matching
    /// text with the heads of the model in `model_dir`.
    pub fn open(index_path: Option<PathBuf>, model_dir: &Path) -> Self {
        let (index, status) = match index_path.as_deref().map(LibraryIndex::load) {
            Some(Ok(i)) => {
                let status = format!("{} sounds indexed", i.len());
                (i, status)
            }
            Some(Err(e)) => (LibraryIndex::new(), format!("error: {e}")),
            None => (LibraryIndex::new(), "no index file".into()),
        };
        Self {
            index_path,
            folder: String::new(),
            query: String::new(),
            index: Arc::new(index),
            hits: Vec::new(),
            search_ms: None,
            progress: None,
            status,
            model_dir: model_dir.to_path_buf(),
            embedder: None,
            loading: None,
            pending: None,
            indexing: None,
        }
    }

    /// Whether a folder is being indexed or the networks are loading.
    pub fn busy(&self) -> bool {
        self.indexing.is_some() || self.loading.is_some()
    }

    /// Start loading the networks unless they are loaded or loading.
    fn load_embedder(&mut self) {
        if self.embedder.is_some() || self.loading.is_some() {
            return;
        }
        let (tx, rx) = channel();
        let model_dir = self.model_dir.clone();
        std::thread::spawn(move || {
            let loaded = SoundEmbedder::load(
                &assets_dir().join("models"),
                &model_dir,
                &burn::tensor::Device::flex(),
            );
            let _ = tx.send(loaded.map_err(|e| e.to_string()));
        });
        self.loading = Some(rx);
        self.status = "loading the sound and text networks".into();
    }

    /// Index the typed folder on a background thread (new and changed files only).
    pub fn index_folder(&mut self) {
        if self.indexing.is_some() {
            return;
        }
        let Some(index_path) = self.index_path.clone() else {
            self.status = "error: no index file to write to".into();
            return;
        };
        let folder = PathBuf::from(self.folder.trim());
        if !folder.is_dir() {
            self.status = format!("error: {}: not a folder", folder.display());
            return;
        }
        let Some(embedder) = self.embedder.clone() else {
            // Indexing starts once the networks are in.
            self.pending = Some(Pending::Index);
            self.load_embedder();
            return;
        };
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        let mut index = (*self.index).clone();
        std::thread::spawn(move || {
            let report =
                index.update_saving(&folder, &embedder, &index_path, SAVE_EVERY, &mut |p| {
                    let _ = tx.send(IndexMessage::Progress {
                        done: p.done,
                        total: p.total,
                    });
                    !stop.load(Ordering::Relaxed)
                });
            let result = report.map(|r| (index, r)).map_err(|e| e.to_string());
            let _ = tx.send(IndexMessage::Finished(Box::new(result)));
        });
        self.progress = Some((0, 0));
        self.status = "indexing".into();
        self.indexing = Some(Indexing {
            messages: rx,
            cancel,
        });
    }

    /// Stop indexing (what was indexed is kept).
    pub fn cancel(&mut self) {
        if let Some(i) = &self.indexing {
            i.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Search by description.
    pub fn search(&mut self) {
        self.pending = Some(Pending::Text(self.query.clone()));
        self.run_pending();
    }

    /// Search for sounds like hit `i` of the index.
    pub fn more_like(&mut self, entry: usize) {
        self.pending = Some(Pending::Example(entry));
        self.run_pending();
    }

    fn run_pending(&mut self) {
        let Some(embedder) = self.embedder.clone() else {
            self.load_embedder();
            return;
        };
        let t = Instant::now();
        match self.pending.take() {
            Some(Pending::Text(q)) if !q.trim().is_empty() => match embedder.query(&q) {
                Ok((joint, sentence)) => {
                    self.hits = search_text(&self.index, &q, &joint, &sentence, RESULTS);
                }
                Err(e) => self.status = format!("error: {e}"),
            },
            Some(Pending::Example(i)) if i < self.index.len() => {
                let example = self.index.audio_embedding(i).to_vec();
                self.hits = search_example(&self.index, &example, RESULTS);
            }
            Some(Pending::Index) => return self.index_folder(),
            _ => return,
        }
        self.search_ms = Some(t.elapsed().as_secs_f64() * 1e3);
        self.status = format!("{} results", self.hits.len());
    }

    /// Take in what the background threads reported.
    pub fn poll(&mut self) {
        if let Some(rx) = &self.loading
            && let Ok(loaded) = rx.try_recv()
        {
            self.loading = None;
            match loaded {
                Ok(e) => {
                    self.embedder = Some(Arc::new(e));
                    self.status = "ready".into();
                    self.run_pending();
                }
                Err(e) => {
                    self.pending = None;
                    self.status = format!("error: {e}");
                }
            }
        }
        let Some(indexing) = &self.indexing else {
            return;
        };
        let mut finished = None;
        while let Ok(m) = indexing.messages.try_recv() {
            match m {
                IndexMessage::Progress { done, total } => self.progress = Some((done, total)),
                IndexMessage::Finished(r) => finished = Some(r),
            }
        }
        if let Some(result) = finished {
            self.indexing = None;
            self.progress = None;
            match *result {
                Ok((index, r)) => {
                    self.index = Arc::new(index);
                    self.hits.clear();
                    self.status = format!(
                        "{}{} found, {} new, {} changed, {} removed, {} skipped; {} sounds \
                         indexed",
                        if r.cancelled { "stopped: " } else { "" },
                        r.found,
                        r.added,
                        r.changed,
                        r.removed,
                        r.skipped,
                        self.index.len()
                    );
                }
                Err(e) => self.status = format!("error: {e}"),
            }
        }
    }

    /// Wait for the background work to end (tests).
    pub fn wait(&mut self) {
        while self.busy() {
            std::thread::sleep(Duration::from_millis(10));
            self.poll();
        }
    }
}
