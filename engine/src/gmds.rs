//! Gaussian Mixture Diffusion Search (paper section 3.3, Algorithm 1): a test-time search
//! over the initial noise of the sampler, scored by verifiers.
//!
//! A population of `N` noises is drawn from N(0, I) and scored. For `T` iterations, each
//! member `x` gets one fresh `eta ~ N(0, I)` and two proposals
//! `x_s = b_s x + sqrt(1 - b_s^2) eta` (eq. 4) and `x_l = b_l x + sqrt(1 - b_l^2) eta`
//! (eq. 5); the better proposal replaces the member, and the best noise ever scored is kept.
//! Both proposals stay exactly N(0, I), so every candidate is a valid sampler input.
//!
//! **On the names.** The paper calls `b_s` the conservative, local step and `b_l > b_s` the
//! aggressive, global one, but in eq. 4-5 a *smaller* coefficient keeps less of `x`: the
//! proposal with `b_s` moves further. We implement the formulas as printed and name the
//! coefficients by their effect: [`GmdsSettings::explore`] is `b_s` (the far proposal) and
//! [`GmdsSettings::refine`] is `b_l` (the near proposal).
//!
//! All `2N` proposals of an iteration are scored as one batch, so the objective can run them
//! through the network together.
//!
//! **Anchors.** When generation starts from real recordings, a candidate is a noise *and*
//! the recording it varies (its anchor). Member `i` of the initial population takes anchor
//! `i mod A`, and a proposal keeps its parent's, so the search chooses among recordings as
//! well as among noises.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::noise::NoiseRng;

/// Search settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GmdsSettings {
    /// Population size `N` (the paper uses 6).
    pub population: usize,
    /// Iterations `T`; 0 scores the initial population only (best-of-N).
    pub iterations: usize,
    /// `b_s` of eq. 4: the far, exploring proposal, in (0, 1).
    pub explore: f64,
    /// `b_l` of eq. 5: the near, refining proposal, in (0, 1).
    pub refine: f64,
}

impl Default for GmdsSettings {
    fn default() -> Self {
        Self {
            population: 6,
            iterations: 2,
            explore: 0.5,
            refine: 0.9,
        }
    }
}

impl GmdsSettings {
    /// Check the ranges.
    pub fn validate(&self) -> Result<()> {
        if self.population == 0 {
            return Err(Error::invalid(
                "the GMDS population (candidates) must be at least 1",
            ));
        }
        for (name, b) in [
            ("beta_s (explore)", self.explore),
            ("beta_l (refine)", self.refine),
        ] {
            if !(b > 0.0 && b < 1.0) {
                return Err(Error::invalid(format!("{name} must be in (0, 1), got {b}")));
            }
        }
        Ok(())
    }

    /// Candidates the search scores: `N + 2 N T`.
    pub fn evaluations(&self) -> usize {
        self.population * (1 + 2 * self.iterations)
    }
}

/// How a candidate noise came to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Lineage {
    /// Drawn directly from N(0, I) with this seed.
    Initial {
        /// Seed of the noise.
        seed: u64,
    },
    /// A proposal from member `parent` at `iteration` (1-based).
    Proposal {
        /// Id of the candidate it was derived from.
        parent: usize,
        /// Iteration that made it.
        iteration: usize,
        /// Coefficient used (`b_s` or `b_l`).
        beta: f64,
        /// `"explore"` (eq. 4) or `"refine"` (eq. 5).
        step: String,
        /// Seed of the shared `eta`.
        eta_seed: u64,
    },
}

/// A scored candidate.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate<S> {
    /// Order in which it was scored.
    pub id: usize,
    /// Where it came from.
    pub lineage: Lineage,
    /// Combined score (higher is better).
    pub score: f64,
    /// What the objective reported beside the score (per-verifier scores, audio, ...).
    pub detail: S,
    /// The noise itself.
    #[serde(skip)]
    pub noise: Vec<f32>,
    /// Which anchor (recording) it varies, `0..A`.
    pub anchor: usize,
}

/// One candidate to score: its noise and its anchor.
#[derive(Debug, Clone, Copy)]
pub struct Proposal<'a> {
    /// The initial noise.
    pub noise: &'a [f32],
    /// Which anchor it varies.
    pub anchor: usize,
}

/// Scores with their details for a batch, or `None` when cancelled.
pub type Scored<D> = Option<Vec<(f64, D)>>;

/// What the search optimises: scores a batch of noises (the network runs them together).
pub trait Objective {
    /// Per-candidate detail kept with each score.
    type Detail: Clone;
    /// Score each proposal; higher is better. Returns `None` when cancelled.
    fn score(&mut self, batch: &[Proposal<'_>]) -> Result<Scored<Self::Detail>>;
}

/// The result of a search.
#[derive(Debug, Clone, Serialize)]
pub struct SearchReport<S> {
    /// Every scored candidate, best first.
    pub candidates: Vec<Candidate<S>>,
    /// Id of the best candidate.
    pub best: usize,
    /// Best score after the initial population and after each iteration (never decreasing).
    pub best_by_iteration: Vec<f64>,
}

/// Run Algorithm 1 over noises of `dim` values and `anchors` anchors (at least 1). `seed`
/// fixes everything: the initial population's seeds and the etas come from generators
/// seeded from `seed`. Returns `None` when the objective cancels.
pub fn search<O: Objective>(
    settings: &GmdsSettings,
    dim: usize,
    anchors: usize,
    seed: u64,
    objective: &mut O,
) -> Result<Option<SearchReport<O::Detail>>> {
    settings.validate()?;
    if dim == 0 {
        return Err(Error::invalid("the noise has no elements"));
    }
    if anchors == 0 {
        return Err(Error::invalid("a search needs at least one anchor"));
    }
    let n = settings.population;
    let mut all: Vec<Candidate<O::Detail>> = Vec::with_capacity(settings.evaluations());

    // Member seeds are drawn from the request's seed rather than counted up from it, so
    // neighbouring seeds (7 and 8) share no initial noise.
    let mut member_seeds = NoiseRng::new(seed ^ 0x1A17_5EED);
    let initial: Vec<Entry> = (0..n)
        .map(|i| {
            let s = member_seeds.next_u64();
            (
                Lineage::Initial { seed: s },
                NoiseRng::new(s).normals(dim),
                i % anchors,
            )
        })
        .collect();
    let Some(population) = score_batch(objective, initial, &mut all)? else {
        return Ok(None);
    };
    let mut population = population;
    let mut best = argmax(&all, &population);
    let mut best_by_iteration = vec![all[best].score];

    let mut eta_seeds = NoiseRng::new(seed ^ 0x6D5A_5EED);
    for iteration in 1..=settings.iterations {
        let mut proposals = Vec::with_capacity(2 * n);
        for &member in &population {
            let eta_seed = eta_seeds.next_u64();
            let eta = NoiseRng::new(eta_seed).normals(dim);
            for (step, beta) in [("explore", settings.explore), ("refine", settings.refine)] {
                let keep = beta as f32;
                let fresh = (1.0 - beta * beta).sqrt() as f32;
                let x: Vec<f32> = all[member]
                    .noise
                    .iter()
                    .zip(&eta)
                    .map(|(x, e)| keep * x + fresh * e)
                    .collect();
                let lineage = Lineage::Proposal {
                    parent: all[member].id,
                    iteration,
                    beta,
                    step: step.to_string(),
                    eta_seed,
                };
                proposals.push((lineage, x, all[member].anchor));
            }
        }
        let Some(ids) = score_batch(objective, proposals, &mut all)? else {
            return Ok(None);
        };
        for (slot, pair) in population.iter_mut().zip(ids.chunks(2)) {
            *slot = if all[pair[0]].score >= all[pair[1]].score {
                pair[0]
            } else {
                pair[1]
            };
            if all[*slot].score > all[best].score {
                best = *slot;
            }
        }
        best_by_iteration.push(all[best].score);
    }

    let best_id = all[best].id;
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    Ok(Some(SearchReport {
        candidates: all,
        best: best_id,
        best_by_iteration,
    }))
}

/// A candidate before scoring: lineage, noise, anchor.
type Entry = (Lineage, Vec<f32>, usize);

/// Score `batch` and append it to `all`; returns the new candidates' indices in `all`.
fn score_batch<O: Objective>(
    objective: &mut O,
    batch: Vec<Entry>,
    all: &mut Vec<Candidate<O::Detail>>,
) -> Result<Option<Vec<usize>>> {
    let views: Vec<Proposal<'_>> = batch
        .iter()
        .map(|(_, noise, anchor)| Proposal {
            noise,
            anchor: *anchor,
        })
        .collect();
    let Some(scores) = objective.score(&views)? else {
        return Ok(None);
    };
    if scores.len() != batch.len() {
        return Err(Error::invalid(
            "the objective returned the wrong number of scores",
        ));
    }
    let start = all.len();
    for ((lineage, noise, anchor), (score, detail)) in batch.into_iter().zip(scores) {
        if !score.is_finite() {
            return Err(Error::invalid("a verifier returned a non-finite score"));
        }
        all.push(Candidate {
            id: all.len(),
            lineage,
            score,
            detail,
            noise,
            anchor,
        });
    }
    Ok(Some((start..all.len()).collect()))
}

fn argmax<S>(all: &[Candidate<S>], members: &[usize]) -> usize {
    *members
        .iter()
        .max_by(|a, b| all[**a].score.total_cmp(&all[**b].score).then(b.cmp(a)))
        .expect("non-empty population")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Score: closeness to a fixed target direction; counts batches.
    struct Toward {
        target: Vec<f32>,
        batches: Vec<usize>,
        cancel_after: Option<usize>,
    }

    impl Objective for Toward {
        type Detail = ();
        fn score(&mut self, batch: &[Proposal<'_>]) -> Result<Scored<()>> {
            self.batches.push(batch.len());
            if self.cancel_after.is_some_and(|n| self.batches.len() > n) {
                return Ok(None);
            }
            Ok(Some(
                batch
                    .iter()
                    .map(|p| {
                        (
                            p.noise
                                .iter()
                                .zip(&self.target)
                                .map(|(a, b)| f64::from(a * b))
                                .sum::<f64>(),
                            (),
                        )
                    })
                    .collect(),
            ))
        }
    }

    fn toward() -> Toward {
        Toward {
            target: NoiseRng::new(99).normals(64),
            batches: Vec::new(),
            cancel_after: None,
        }
    }

    #[test]
    fn follows_algorithm_1_and_never_loses_the_best() {
        let s = GmdsSettings {
            population: 6,
            iterations: 4,
            explore: 0.5,
            refine: 0.9,
        };
        let mut obj = toward();
        let r = search(&s, 64, 1, 7, &mut obj).unwrap().unwrap();
        assert_eq!(
            obj.batches,
            vec![6, 12, 12, 12, 12],
            "N, then 2N per iteration, batched"
        );
        assert_eq!(r.candidates.len(), s.evaluations());
        assert!(r.best_by_iteration.windows(2).all(|w| w[1] >= w[0]));
        let max = r
            .candidates
            .iter()
            .map(|c| c.score)
            .fold(f64::MIN, f64::max);
        assert_eq!(r.candidates[0].score, max);
        assert_eq!(r.candidates[0].id, r.best);
        assert_eq!(*r.best_by_iteration.last().unwrap(), max);
        assert!(
            r.best_by_iteration.last().unwrap() > &r.best_by_iteration[0],
            "search improves on a smooth objective"
        );
        // Deterministic for a seed.
        let again = search(&s, 64, 1, 7, &mut toward()).unwrap().unwrap();
        assert_eq!(
            again.candidates.iter().map(|c| c.score).collect::<Vec<_>>(),
            r.candidates.iter().map(|c| c.score).collect::<Vec<_>>()
        );
    }

    #[test]
    fn proposals_follow_eq_4_and_5() {
        let s = GmdsSettings {
            population: 1,
            iterations: 1,
            explore: 0.3,
            refine: 0.8,
        };
        let r = search(&s, 16, 1, 3, &mut toward()).unwrap().unwrap();
        let parent = r
            .candidates
            .iter()
            .find(|c| matches!(c.lineage, Lineage::Initial { .. }))
            .unwrap();
        for c in &r.candidates {
            if let Lineage::Proposal {
                parent: p,
                beta,
                eta_seed,
                ..
            } = &c.lineage
            {
                assert_eq!(*p, parent.id);
                let eta = NoiseRng::new(*eta_seed).normals(16);
                for ((x, x0), e) in c.noise.iter().zip(&parent.noise).zip(&eta) {
                    let expected = *beta as f32 * x0 + (1.0 - beta * beta).sqrt() as f32 * e;
                    assert!((x - expected).abs() < 1e-6);
                }
            }
        }
    }

    #[test]
    fn bad_settings_and_cancellation() {
        let bad = |s: GmdsSettings| search(&s, 8, 1, 0, &mut toward()).is_err();
        assert!(bad(GmdsSettings {
            population: 0,
            ..GmdsSettings::default()
        }));
        assert!(bad(GmdsSettings {
            explore: 0.0,
            ..GmdsSettings::default()
        }));
        assert!(bad(GmdsSettings {
            refine: 1.0,
            ..GmdsSettings::default()
        }));
        assert!(bad(GmdsSettings {
            explore: f64::NAN,
            ..GmdsSettings::default()
        }));
        let mut obj = toward();
        obj.cancel_after = Some(1);
        assert!(
            search(&GmdsSettings::default(), 8, 1, 0, &mut obj)
                .unwrap()
                .is_none()
        );
        let best_of_n = search(
            &GmdsSettings {
                iterations: 0,
                ..GmdsSettings::default()
            },
            8,
            1,
            0,
            &mut toward(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(best_of_n.candidates.len(), 6);
        assert!(search(&GmdsSettings::default(), 8, 0, 0, &mut toward()).is_err());
    }

    #[test]
    fn members_cycle_through_anchors_and_proposals_keep_their_parents() {
        let s = GmdsSettings {
            population: 5,
            iterations: 2,
            ..GmdsSettings::default()
        };
        let r = search(&s, 16, 3, 1, &mut toward()).unwrap().unwrap();
        let by_id = |id: usize| r.candidates.iter().find(|c| c.id == id).unwrap();
        for c in &r.candidates {
            match c.lineage {
                Lineage::Initial { .. } => assert_eq!(c.anchor, c.id % 3),
                Lineage::Proposal { parent, .. } => assert_eq!(c.anchor, by_id(parent).anchor),
            }
        }
    }
}
