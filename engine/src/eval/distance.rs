//! How far one sound is from another, and how far a clip's candidates are from each other,
//! by the cosine distance of their aisfx embeddings (0: the same direction; 1: unrelated).

/// `1 - cos(a, b)`; 1 when either is all zeros.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x * y)).sum();
    let na: f64 = a.iter().map(|x| f64::from(x * x)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(x * x)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        1.0
    } else {
        1.0 - dot / (na * nb)
    }
}

/// Mean cosine distance over all pairs of `embeddings` (`None` with fewer than two): how
/// much the candidates of one clip differ.
pub fn mean_pairwise_distance(embeddings: &[Vec<f32>]) -> Option<f64> {
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for (i, a) in embeddings.iter().enumerate() {
        for b in &embeddings[i + 1..] {
            sum += cosine_distance(a, b);
            pairs += 1;
        }
    }
    (pairs > 0).then(|| sum / pairs as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_of_directions() {
        assert!(cosine_distance(&[1.0, 0.0], &[2.0, 0.0]).abs() < 1e-12);
        assert!((cosine_distance(&[1.0, 0.0], &[0.0, 3.0]) - 1.0).abs() < 1e-12);
        assert_eq!(cosine_distance(&[0.0, 0.0], &[1.0, 0.0]), 1.0);
        let set = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]];
        let d = mean_pairwise_distance(&set).unwrap();
        assert!((d - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(mean_pairwise_distance(&set[..1]), None);
    }
}
