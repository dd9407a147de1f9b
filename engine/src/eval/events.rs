//! Scoring picked visual events against the true ones: an event counts when it lands within a
//! tolerance (two frames) of a true event not already matched, each true event matching at
//! most one. Precision says how many markers a designer would have to delete, recall how many
//! they would have to add; on footage with no sound events only the false events per second
//! mean anything.

/// Counts of one clip or a sum over clips.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EventCounts {
    /// True events.
    pub truth: usize,
    /// Picked events.
    pub picked: usize,
    /// Picked events that matched a true one.
    pub matched: usize,
    /// Seconds of picture.
    pub seconds: f64,
}

impl std::ops::Add for EventCounts {
    type Output = Self;

    /// Sum of two counts.
    fn add(self, o: Self) -> Self {
        Self {
            truth: self.truth + o.truth,
            picked: self.picked + o.picked,
            matched: self.matched + o.matched,
            seconds: self.seconds + o.seconds,
        }
    }
}

impl EventCounts {
    /// Match `picked` to `truth` (both in seconds, any order) within `tolerance_s`: closest
    /// pairs first, so one early stray marker cannot take a true event from a better one.
    pub fn of(truth: &[f64], picked: &[f64], tolerance_s: f64, seconds: f64) -> Self {
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for (i, &t) in truth.iter().enumerate() {
            for (j, &p) in picked.iter().enumerate() {
                let d = (t - p).abs();
                if d <= tolerance_s {
                    pairs.push((d, i, j));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let (mut used_t, mut used_p) = (vec![false; truth.len()], vec![false; picked.len()]);
        let mut matched = 0;
        for (_, i, j) in pairs {
            if !used_t[i] && !used_p[j] {
                used_t[i] = true;
                used_p[j] = true;
                matched += 1;
            }
        }
        Self {
            truth: truth.len(),
            picked: picked.len(),
            matched,
            seconds,
        }
    }

    /// Fraction of picked events that are true (1 when nothing was picked).
    pub fn precision(&self) -> f64 {
        if self.picked == 0 {
            1.0
        } else {
            self.matched as f64 / self.picked as f64
        }
    }

    /// Fraction of true events picked (1 when there were none).
    pub fn recall(&self) -> f64 {
        if self.truth == 0 {
            1.0
        } else {
            self.matched as f64 / self.truth as f64
        }
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }

    /// Picked events that matched nothing, per second of picture.
    pub fn false_per_second(&self) -> f64 {
        (self.picked - self.matched) as f64 / self.seconds.max(1e-9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_true_event_matches_the_closest_marker_once() {
        let truth = [1.0, 2.0, 3.0];
        // 0.95 and 1.02 both near 1.0: the closer one matches, the other is false; 2.5 is
        // beyond the tolerance; 3.05 matches.
        let c = EventCounts::of(&truth, &[0.95, 1.02, 2.5, 3.05], 0.08, 4.0);
        assert_eq!((c.truth, c.picked, c.matched), (3, 4, 2));
        assert!((c.precision() - 0.5).abs() < 1e-12);
        assert!((c.recall() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.f1() - 4.0 / 7.0).abs() < 1e-12);
        assert!((c.false_per_second() - 0.5).abs() < 1e-12);
        // The greedy order does not let 0.95 take 1.0 from 1.02 and leave 1.02 unmatched when
        // 1.02 is the only marker near a second event.
        let c = EventCounts::of(&[1.0, 1.09], &[1.02], 0.08, 2.0);
        assert_eq!(c.matched, 1);
    }

    #[test]
    fn empty_sides_and_sums() {
        let none = EventCounts::of(&[], &[], 0.08, 3.0);
        assert_eq!(
            (none.precision(), none.recall(), none.f1()),
            (1.0, 1.0, 1.0)
        );
        let stray = EventCounts::of(&[], &[0.5, 1.5], 0.08, 4.0);
        assert_eq!(stray.precision(), 0.0);
        assert_eq!(stray.false_per_second(), 0.5);
        let sum = none + stray + EventCounts::of(&[1.0], &[1.0], 0.08, 1.0);
        assert_eq!((sum.truth, sum.picked, sum.matched), (1, 3, 1));
        assert!((sum.seconds - 8.0).abs() < 1e-12);
        assert!((sum.false_per_second() - 0.25).abs() < 1e-12);
    }
}
