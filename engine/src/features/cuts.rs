//! Shot cuts: frames where the whole picture is replaced at once. A cut fakes motion
//! everywhere (every cell changes, no shift explains it), and no sound belongs to it, so
//! events are never picked on a cut or on the motion measured across one. The standard test:
//! the colour histogram jumps and most of the picture changes after registering the camera,
//! far more than on the frames around it.

use crate::media::RgbFrame;

/// Bins per colour channel of the histogram.
const BINS: usize = 8;
/// A cell has changed when its registered residual exceeds this (luma 0..1).
const CELL_CHANGED: f32 = 0.04;
/// ... and a cut changes at least this fraction of the cells.
const MIN_CHANGED_FRACTION: f32 = 0.6;
/// The histogram distance (0..1) of a cut between pictures of different colour...
const MIN_HISTOGRAM: f32 = 0.2;
/// ... or the mean registered residual of a cut between pictures of similar colour.
const MIN_RESIDUAL: f32 = 0.07;
/// A cut stands out from the frames around it by this factor.
const OUTSTANDING: f32 = 3.0;
/// Frames on each side the factor is measured against.
const NEIGHBOURS: usize = 5;

/// Normalised RGB histogram of a frame.
fn histogram(frame: &RgbFrame) -> [f32; 3 * BINS] {
    let mut h = [0f32; 3 * BINS];
    for p in frame.data.chunks_exact(3) {
        for (c, &v) in p.iter().enumerate() {
            h[c * BINS + usize::from(v) * BINS / 256] += 1.0;
        }
    }
    let n = (frame.data.len() / 3).max(1) as f32;
    h.map(|v| v / n)
}

/// Median of the values around `i` (not `i` itself).
fn local_median(v: &[f32], i: usize) -> f32 {
    let mut near: Vec<f32> = (i.saturating_sub(NEIGHBOURS)..(i + NEIGHBOURS + 1).min(v.len()))
        .filter(|&j| j != i)
        .map(|j| v[j])
        .collect();
    if near.is_empty() {
        return 0.0;
    }
    near.sort_by(f32::total_cmp);
    near[near.len() / 2]
}

/// Which frames start a new shot, from the frames and each frame's registered residual per
/// cell (`residual[i]` compares frame `i` with frame `i - 1`). The first frame is never a cut.
pub fn shot_cuts(frames: &[RgbFrame], residual: &[Vec<f32>]) -> Vec<bool> {
    let n = frames.len().min(residual.len());
    let hists: Vec<[f32; 3 * BINS]> = frames[..n].iter().map(histogram).collect();
    let mut distance = vec![0f32; n];
    let mut mean = vec![0f32; n];
    let mut changed = vec![0f32; n];
    for i in 1..n {
        distance[i] = hists[i]
            .iter()
            .zip(&hists[i - 1])
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / 6.0;
        let cells = &residual[i];
        let count = cells.len().max(1) as f32;
        mean[i] = cells.iter().sum::<f32>() / count;
        changed[i] = cells.iter().filter(|&&r| r > CELL_CHANGED).count() as f32 / count;
    }
    (0..n)
        .map(|i| {
            i > 0
                && changed[i] >= MIN_CHANGED_FRACTION
                && ((distance[i] >= MIN_HISTOGRAM
                    && distance[i] >= OUTSTANDING * local_median(&distance, i))
                    || (mean[i] >= MIN_RESIDUAL && mean[i] >= OUTSTANDING * local_median(&mean, i)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seed: u32, w: u32, h: u32) -> RgbFrame {
        let data = (0..w * h)
            .flat_map(|i| {
                let v = ((i.wrapping_mul(2_654_435_761).wrapping_add(seed * 977)) >> 24) as u8;
                [v, v.wrapping_add(seed as u8 * 40), 255 - v]
            })
            .collect();
        RgbFrame {
            width: w,
            height: h,
            pts_s: 0.0,
            data,
        }
    }

    #[test]
    fn a_replaced_picture_is_a_cut_and_steady_change_is_not() {
        // Shot A for six frames, shot B after: frame 6 is the cut.
        let frames: Vec<RgbFrame> = (0..12)
            .map(|k| frame(u32::from(k >= 6) + 1, 16, 16))
            .collect();
        let mut residual = vec![vec![0.01f32; 16]; 12];
        residual[6] = vec![0.3; 16];
        let cuts = shot_cuts(&frames, &residual);
        assert_eq!(
            cuts.iter()
                .enumerate()
                .filter(|(_, c)| **c)
                .map(|(i, _)| i)
                .collect::<Vec<_>>(),
            vec![6]
        );
        // Everything changing all the time (a fast pan that registration missed) is not a cut.
        let busy = vec![vec![0.3f32; 16]; 12];
        let same: Vec<RgbFrame> = (0..12).map(|_| frame(1, 16, 16)).collect();
        assert!(shot_cuts(&same, &busy).iter().all(|c| !c));
        // A flash on part of the picture changes few cells.
        let mut flash = vec![vec![0.01f32; 16]; 12];
        flash[4][..4].copy_from_slice(&[0.5; 4]);
        assert!(shot_cuts(&same, &flash).iter().all(|c| !c));
        assert!(shot_cuts(&[], &[]).is_empty());
    }
}
