//! Searching the library: by description, scored by the verifier heads' cosine similarity in
//! their joint space, plus a bonus for the query's words found in the file's path, plus the
//! similarity of the query's meaning to the path words' (libraries name files after what is
//! heard, and the sentence encoder knows that a cockatoo is a bird where the heads, trained
//! on a few thousand captions, do not); and by example, by aisfx cosine similarity.

use super::index::LibraryIndex;

/// Weight of the path-word match (the fraction of query words in the path) against the
/// joint-space cosine.
const WORD_WEIGHT: f32 = 0.5;
/// Weight of the sentence-embedding similarity between the query and the path words.
const MEANING_WEIGHT: f32 = 1.0;

/// A search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Index of the sound in the library index.
    pub index: usize,
    /// Higher is better.
    pub score: f32,
}

/// The `k` best sounds for the description `query`, whose joint-space embedding is `text`
/// and sentence embedding `sentence` (compared with the path words' where the index has
/// them).
pub fn search_text(
    index: &LibraryIndex,
    query: &str,
    text: &[f32],
    sentence: &[f32],
    k: usize,
) -> Vec<Hit> {
    let query_words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let text_norm = norm(text);
    let sentence_norm = norm(sentence);
    let hits = (0..index.len()).map(|i| {
        let cosine =
            dot(index.joint_embedding(i), text) / (norm(index.joint_embedding(i)) * text_norm);
        let words = &index.entries[i].words;
        let found = query_words
            .iter()
            .filter(|q| {
                words
                    .iter()
                    .any(|w| w == *q || (q.len() > 3 && w.starts_with(q.as_str())))
            })
            .count();
        let bonus = if query_words.is_empty() {
            0.0
        } else {
            found as f32 / query_words.len() as f32
        };
        let meaning = index
            .words_embedding(i)
            .filter(|w| w.len() == sentence.len())
            .map_or(0.0, |w| dot(w, sentence) / (norm(w) * sentence_norm));
        Hit {
            index: i,
            score: cosine + WORD_WEIGHT * bonus + MEANING_WEIGHT * meaning,
        }
    });
    best(hits, k)
}

/// The `k` sounds most like `example` (an aisfx embedding), the example itself included
/// when it is in the index.
pub fn search_example(index: &LibraryIndex, example: &[f32], k: usize) -> Vec<Hit> {
    let example_norm = norm(example);
    let hits = (0..index.len()).map(|i| {
        let e = index.audio_embedding(i);
        Hit {
            index: i,
            score: dot(e, example) / (norm(e) * example_norm),
        }
    });
    best(hits, k)
}

fn best(hits: impl Iterator<Item = Hit>, k: usize) -> Vec<Hit> {
    let mut all: Vec<Hit> = hits.filter(|h| h.score.is_finite()).collect();
    let k = k.min(all.len());
    if k == 0 {
        return Vec::new();
    }
    all.select_nth_unstable_by(k - 1, |a, b| b.score.total_cmp(&a.score));
    all.truncate(k);
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    all
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt().max(1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_keeps_the_top_k_in_order() {
        let hits = [0.1, 0.9, f32::NAN, 0.5, 0.7]
            .into_iter()
            .enumerate()
            .map(|(index, score)| Hit { index, score });
        let top = best(hits, 3);
        assert_eq!(
            top.iter().map(|h| h.index).collect::<Vec<_>>(),
            vec![1, 4, 3]
        );
        assert!(best(std::iter::empty(), 3).is_empty());
    }
}
