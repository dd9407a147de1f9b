//! Motion energy: how much the picture changes from one frame to the next, overall and on a
//! coarse spatial grid. Sounds in Foley follow visible events (a foot lands, a door hits its
//! frame), and those are where the picture changes, so this is the model-free timing signal
//! of the audio-visual sync verifier and of the default model's frame features.

use crate::media::RgbFrame;

/// Luma of a packed RGB frame, box-averaged onto a `w x h` grid (cells smaller than a pixel
/// take that pixel).
pub fn luma_grid(frame: &RgbFrame, w: usize, h: usize) -> Vec<f32> {
    let (fw, fh) = (frame.width as usize, frame.height as usize);
    let span = |cell: usize, cells: usize, size: usize| {
        let a = cell * size / cells;
        (a, ((cell + 1) * size / cells).max(a + 1).min(size))
    };
    let mut out = Vec::with_capacity(w * h);
    for gy in 0..h {
        let (y0, y1) = span(gy, h, fh);
        for gx in 0..w {
            let (x0, x1) = span(gx, w, fw);
            let mut sum = 0f32;
            for y in y0..y1 {
                for p in frame.data[(y * fw + x0) * 3..(y * fw + x1) * 3].chunks_exact(3) {
                    sum +=
                        0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
                }
            }
            let n = ((y1 - y0) * (x1 - x0)).max(1) as f32;
            out.push(sum / n / 255.0);
        }
    }
    out
}

/// Mean absolute luma change from the previous frame, per frame (the first frame gets the
/// second's value, so a cut at the start is not mistaken for an event). Computed on a
/// 32 x 32 grid, which ignores sensor noise and compression grain.
pub fn motion_energy(frames: &[RgbFrame]) -> Vec<f32> {
    let grids: Vec<Vec<f32>> = frames.iter().map(|f| luma_grid(f, 32, 32)).collect();
    let mut energy: Vec<f32> = grids
        .windows(2)
        .map(|w| {
            w[0].iter()
                .zip(&w[1])
                .map(|(a, b)| (a - b).abs())
                .sum::<f32>()
                / w[0].len() as f32
        })
        .collect();
    let first = energy.first().copied().unwrap_or(0.0);
    energy.insert(0, first);
    energy.truncate(frames.len());
    energy
}

/// Motion energy on a `g x g` grid per frame (`frames.len() x g*g`, row-major), the same
/// differences as [`motion_energy`] kept per cell: where in the picture things move.
pub fn motion_grid(frames: &[RgbFrame], g: usize) -> Vec<Vec<f32>> {
    let fine = 4 * g;
    let grids: Vec<Vec<f32>> = frames.iter().map(|f| luma_grid(f, fine, fine)).collect();
    let mut out = Vec::with_capacity(frames.len());
    for i in 0..frames.len() {
        // The first frame is compared with the second, as in `motion_energy`.
        let prev = if i == 0 {
            grids.get(1).unwrap_or(&grids[0])
        } else {
            &grids[i - 1]
        };
        let cur = &grids[i];
        let mut cells = vec![0f32; g * g];
        for y in 0..fine {
            for x in 0..fine {
                let d = (cur[y * fine + x] - prev[y * fine + x]).abs();
                cells[(y / 4) * g + x / 4] += d / 16.0;
            }
        }
        out.push(cells);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(level: u8) -> RgbFrame {
        RgbFrame {
            width: 8,
            height: 8,
            pts_s: 0.0,
            data: vec![level; 8 * 8 * 3],
        }
    }

    #[test]
    fn energy_peaks_where_the_picture_changes() {
        let frames: Vec<RgbFrame> = [10, 10, 200, 200, 200, 50]
            .iter()
            .map(|&l| frame(l))
            .collect();
        let e = motion_energy(&frames);
        assert_eq!(e.len(), 6);
        assert!(e[2] > 0.7 && e[5] > 0.5, "{e:?}");
        assert!(e[1] < 1e-6 && e[3] < 1e-6 && e[4] < 1e-6);
        let g = motion_grid(&frames, 2);
        assert_eq!((g.len(), g[0].len()), (6, 4));
        assert!(g[2].iter().all(|&c| c > 0.7));
        assert!(motion_energy(&[]).is_empty());
        assert_eq!(motion_energy(&frames[..1]), vec![0.0]);
        assert_eq!(motion_grid(&frames[..1], 2), vec![vec![0.0; 4]]);
    }
}
