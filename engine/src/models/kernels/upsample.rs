//! Nearest-neighbour doubling of both spatial axes, one output row pair per input row.
//! burn's composition (an expand and a reshape of the broadcast view) gathers every output
//! value through a strided iterator, one at a time.

use rayon::prelude::*;

/// `x` (`[B, C, H, W]`, contiguous) as `[B, C, 2H, 2W]`, each value repeated in a 2x2 block.
pub fn upsample_nearest2x(x: &[f32], [b, c, h, w]: [usize; 4]) -> Vec<f32> {
    let mut out = vec![0f32; b * c * 4 * h * w];
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(4 * w)
        .zip(x.par_chunks(w))
        .for_each(|(rows, row)| {
            let (top, bottom) = rows.split_at_mut(2 * w);
            for (pair, v) in top.chunks_exact_mut(2).zip(row) {
                pair.fill(*v);
            }
            bottom.copy_from_slice(top);
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_each_value_in_a_two_by_two_block() {
        let x: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32).collect();
        let out = upsample_nearest2x(&x, [2, 1, 3, 4]);
        for (plane_in, plane_out) in x.chunks(12).zip(out.chunks(48)) {
            for y in 0..6 {
                for xx in 0..8 {
                    assert_eq!(plane_out[y * 8 + xx], plane_in[(y / 2) * 4 + xx / 2]);
                }
            }
        }
    }
}
