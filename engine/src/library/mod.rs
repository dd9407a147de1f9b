//! A sound designer's own library: every sound of their folders embedded once with the
//! bundled aisfx network and projected into the verifier heads' joint text-audio space, kept
//! in an index file outside the library, and searched by description (the heads and the
//! file-path words) or by example (aisfx similarity). A hit becomes the reference sound
//! (eq. 3's audio prompt) or is spotted on the user's markers.

pub mod embed;
pub mod index;
pub mod search;

pub use embed::SoundEmbedder;
pub use index::{IndexProgress, LibraryEntry, LibraryIndex, Skipped, UpdateReport};
pub use search::{Hit, search_example, search_text};
