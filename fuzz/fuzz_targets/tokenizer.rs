//! MiniLM's and T5's tokenizers on arbitrary text: never a panic, ids within the vocabulary,
//! lengths within the maximum, mask and ids of one length.
#![no_main]

use std::sync::OnceLock;

use avsync_engine::encoders::tokenizer::TextTokenizer;
use libfuzzer_sys::fuzz_target;

const MAX_LEN: usize = 32;

/// The tokenizers with their vocabulary sizes.
fn tokenizers() -> &'static [(TextTokenizer, u32)] {
    static T: OnceLock<Vec<(TextTokenizer, u32)>> = OnceLock::new();
    T.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        [
            "assets/models/minilm/tokenizer.json",
            "tests/parity/fixtures/encoders/t5_tiny/tokenizer.json",
        ]
        .iter()
        .map(|p| {
            let t = TextTokenizer::from_file(&root.join(p), MAX_LEN).unwrap();
            let vocab = t.vocab_size() as u32;
            (t, vocab)
        })
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Two texts per batch, so padding is exercised.
    let (a, b) = text.split_at(text.floor_char_boundary(text.len() / 2));
    for (tok, vocab) in tokenizers() {
        let batch = tok.encode(&[a, b]).unwrap();
        assert_eq!(batch.batch, 2);
        assert!(batch.len <= MAX_LEN);
        assert_eq!(batch.ids.len(), 2 * batch.len);
        assert_eq!(batch.mask.len(), batch.ids.len());
        assert!(batch.ids.iter().all(|&i| i < *vocab));
        assert!(batch.mask.iter().all(|&m| m <= 1));
    }
});
