//! Float64 host references for the examples, for shapes where the interpreter is too slow.
//!
//! Each takes the kernel's arguments (in parameter order, as `verify::random_args` builds
//! them) and returns the expected contents of the one output tensor, row-major, in f64.
//! They follow the math the examples state in their header comments, not their tiling.

use tilec::interp::{ArgValue, HostTensor};
use tilec_runtime::verify::to_f64;

fn tensor(args: &[ArgValue], i: usize) -> (&HostTensor, Vec<f64>) {
    match &args[i] {
        ArgValue::Tensor(t) => (t, to_f64(t)),
        other => panic!("argument {i} should be a tensor, is {other:?}"),
    }
}

fn scalar(args: &[ArgValue], i: usize) -> f64 {
    match &args[i] {
        ArgValue::Float(x) => *x,
        ArgValue::Int(x) => *x as f64,
        other => panic!("argument {i} should be a number, is {other:?}"),
    }
}

/// Runs `f(row)` for every row in `0..rows` on all cores; returns the rows' outputs in order.
fn par_rows(rows: usize, f: impl Fn(usize) -> Vec<f64> + Sync) -> Vec<f64> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(rows.max(1));
    let chunk = rows.div_ceil(threads.max(1)).max(1);
    let parts: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..rows)
            .step_by(chunk)
            .map(|start| {
                let f = &f;
                s.spawn(move || {
                    (start..(start + chunk).min(rows))
                        .flat_map(f)
                        .collect::<Vec<f64>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("reference thread"))
            .collect()
    });
    parts.concat()
}

/// `vector_add(x, y, out)`.
pub fn vector_add(args: &[ArgValue]) -> Vec<f64> {
    let (_, x) = tensor(args, 0);
    let (_, y) = tensor(args, 1);
    x.iter().zip(&y).map(|(a, b)| a + b).collect()
}

/// `softmax(x, out)` along rows of an [M, N] matrix.
pub fn softmax(args: &[ArgValue]) -> Vec<f64> {
    let (t, x) = tensor(args, 0);
    let (m, n) = (t.shape[0], t.shape[1]);
    par_rows(m, |r| {
        let row = &x[r * n..(r + 1) * n];
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = row.iter().map(|v| (v - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        e.into_iter().map(|v| v / sum).collect()
    })
}

/// `matmul(a, b, c)`: c = a @ b.
pub fn matmul(args: &[ArgValue]) -> Vec<f64> {
    let (ta, a) = tensor(args, 0);
    let (tb, b) = tensor(args, 1);
    let (m, k, n) = (ta.shape[0], ta.shape[1], tb.shape[1]);
    par_rows(m, |i| {
        let mut row = vec![0.0; n];
        for p in 0..k {
            let av = a[i * k + p];
            for (j, out) in row.iter_mut().enumerate() {
                *out += av * b[p * n + j];
            }
        }
        row
    })
}

/// `layernorm(x, weight, bias, out, eps)` over the last dimension.
pub fn layernorm(args: &[ArgValue]) -> Vec<f64> {
    let (t, x) = tensor(args, 0);
    let (_, w) = tensor(args, 1);
    let (_, b) = tensor(args, 2);
    let eps = scalar(args, 4);
    let (m, n) = (t.shape[0], t.shape[1]);
    par_rows(m, |r| {
        let row = &x[r * n..(r + 1) * n];
        let mean = row.iter().sum::<f64>() / n as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        row.iter()
            .enumerate()
            .map(|(j, v)| (v - mean) * rstd * w[j] + b[j])
            .collect()
    })
}

/// `attention(q, k, v, out, scale)`: softmax(q k^T · scale) v per (batch, head), with keys
/// after the query masked out when `causal`.
pub fn attention(args: &[ArgValue], causal: bool) -> Vec<f64> {
    let (t, q) = tensor(args, 0);
    let (_, k) = tensor(args, 1);
    let (_, v) = tensor(args, 2);
    let scale = scalar(args, 4);
    let (b, h, s, d) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3]);
    // One "row" per (batch, head, query).
    par_rows(b * h * s, |row| {
        let (bh, i) = (row / s, row % s);
        let base = bh * s * d;
        let qi = &q[base + i * d..base + (i + 1) * d];
        let keys = if causal { i + 1 } else { s };
        let scores: Vec<f64> = (0..keys)
            .map(|j| {
                qi.iter()
                    .zip(&k[base + j * d..base + (j + 1) * d])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    * scale
            })
            .collect();
        let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let p: Vec<f64> = scores.iter().map(|x| (x - max).exp()).collect();
        let sum: f64 = p.iter().sum();
        let mut out = vec![0.0; d];
        for (j, pj) in p.iter().enumerate() {
            for (o, vv) in out.iter_mut().zip(&v[base + j * d..base + (j + 1) * d]) {
                *o += pj * vv;
            }
        }
        out.into_iter().map(|o| o / sum).collect()
    })
}
