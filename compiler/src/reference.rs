//! Plain float64 host references for the examples, the error metric the harnesses compare
//! with, and seeded random inputs.
//!
//! References take f64 slices (convert half-precision test data with [`to_f64`]) and return
//! f64 results; every layout is row-major. They are written for clarity, not speed: naive
//! loops, no blocking, no online softmax, so that they are easy to trust.

use crate::interp::{HostTensor, TensorData};

/// The elements of a tensor as f64 (exact for every float dtype).
pub fn to_f64(t: &HostTensor) -> Vec<f64> {
    t.data.to_f64()
}

/// `‖out − reference‖₂ / ‖reference‖₂`; infinity if either holds a NaN or the lengths differ.
/// A zero reference gives the absolute error norm instead of dividing by zero.
pub fn rel_error(out: &[f64], reference: &[f64]) -> f64 {
    if out.len() != reference.len() || out.iter().chain(reference).any(|x| x.is_nan()) {
        return f64::INFINITY;
    }
    let diff: f64 = out
        .iter()
        .zip(reference)
        .map(|(o, r)| (o - r) * (o - r))
        .sum::<f64>()
        .sqrt();
    let norm = reference.iter().map(|r| r * r).sum::<f64>().sqrt();
    if norm == 0.0 {
        diff
    } else {
        diff / norm
    }
}

/// `x + y`, element-wise.
pub fn vector_add(x: &[f64], y: &[f64]) -> Vec<f64> {
    x.iter().zip(y).map(|(a, b)| a + b).collect()
}

/// Softmax of each row of a `[rows, cols]` matrix.
pub fn softmax(x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows * cols);
    for row in x.chunks(cols).take(rows) {
        out.extend(softmax_row(row));
    }
    out
}

fn softmax_row(row: &[f64]) -> Vec<f64> {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = row.iter().map(|x| (x - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// `a @ b` with a `[m, k]` and b `[k, n]`.
pub fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    out
}

/// Each row of `[rows, cols]` normalized to zero mean and unit (population) variance,
/// `(x − mean) / sqrt(var + eps)`, then scaled by `w` and shifted by `b` (both `[cols]`).
pub fn layernorm(x: &[f64], w: &[f64], b: &[f64], rows: usize, cols: usize, eps: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows * cols);
    for row in x.chunks(cols).take(rows) {
        let mean = row.iter().sum::<f64>() / cols as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / cols as f64;
        let inv_std = 1.0 / (var + eps).sqrt();
        out.extend(
            row.iter()
                .zip(w.iter().zip(b))
                .map(|(v, (w, b))| (v - mean) * inv_std * w + b),
        );
    }
    out
}

/// Attention over `[batch, heads, seq, head_dim]` tensors: for each query row,
/// `softmax(scale · q·kᵀ) · v`, where with `causal` query `i` only sees keys `j <= i`.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &[f64],
    k: &[f64],
    v: &[f64],
    batch: usize,
    heads: usize,
    seq: usize,
    head_dim: usize,
    scale: f64,
    causal: bool,
) -> Vec<f64> {
    let mut out = vec![0.0; batch * heads * seq * head_dim];
    let matrix = seq * head_dim;
    for bh in 0..batch * heads {
        let (q, k, v) = (
            &q[bh * matrix..][..matrix],
            &k[bh * matrix..][..matrix],
            &v[bh * matrix..][..matrix],
        );
        let out = &mut out[bh * matrix..][..matrix];
        for i in 0..seq {
            let q_row = &q[i * head_dim..][..head_dim];
            let visible = if causal { i + 1 } else { seq };
            let scores: Vec<f64> = (0..visible)
                .map(|j| scale * dot(q_row, &k[j * head_dim..][..head_dim]))
                .collect();
            let weights = softmax_row(&scores);
            let out_row = &mut out[i * head_dim..][..head_dim];
            for (j, w) in weights.iter().enumerate() {
                for (o, v) in out_row.iter_mut().zip(&v[j * head_dim..][..head_dim]) {
                    *o += w * v;
                }
            }
        }
    }
    out
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A small seeded generator (splitmix64): reproducible test inputs without an extra crate.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)`, with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        2.0 * unit - 1.0
    }

    /// `count` uniform values in `[-1, 1)`.
    pub fn uniform_vec(&mut self, count: usize) -> Vec<f64> {
        (0..count).map(|_| self.uniform()).collect()
    }

    /// An f16 tensor of `shape` with values rounded from uniform `[-1, 1)`.
    pub fn f16_tensor(&mut self, shape: &[usize]) -> HostTensor {
        let data = self.uniform_vec(shape.iter().product());
        HostTensor::new(
            shape.to_vec(),
            TensorData::F16(data.into_iter().map(half::f16::from_f64).collect()),
        )
    }

    /// A bf16 tensor of `shape` with values rounded from uniform `[-1, 1)`.
    pub fn bf16_tensor(&mut self, shape: &[usize]) -> HostTensor {
        let data = self.uniform_vec(shape.iter().product());
        HostTensor::new(
            shape.to_vec(),
            TensorData::BF16(data.into_iter().map(half::bf16::from_f64).collect()),
        )
    }

    /// An f32 tensor of `shape` with values rounded from uniform `[-1, 1)`.
    pub fn f32_tensor(&mut self, shape: &[usize]) -> HostTensor {
        let data = self.uniform_vec(shape.iter().product());
        HostTensor::new(
            shape.to_vec(),
            TensorData::F32(data.into_iter().map(|x| x as f32).collect()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_agree_on_small_cases() {
        assert_eq!(
            matmul(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 2, 2, 2),
            [19.0, 22.0, 43.0, 50.0]
        );
        let s = softmax(&[0.0, 0.0, 1.0, 1.0], 2, 2);
        assert_eq!(s, [0.5, 0.5, 0.5, 0.5]);
        // With one query row per head and causal masking, the first row attends only to v[0].
        let out = attention(&[1.0, 1.0], &[1.0, 2.0], &[3.0, 4.0], 1, 1, 2, 1, 1.0, true);
        assert_eq!(out[0], 3.0);
        let ln = layernorm(&[1.0, 3.0, 5.0, 7.0], &[1.0, 2.0], &[0.0, 1.0], 2, 2, 0.0);
        assert_eq!(ln, [-1.0, 3.0, -1.0, 3.0]);
        assert_eq!(rel_error(&[1.0, f64::NAN], &[1.0, 1.0]), f64::INFINITY);
        let uniform = Rng::new(7).uniform_vec(1000);
        assert!(uniform.iter().all(|x| (-1.0..1.0).contains(x)));
    }
}
