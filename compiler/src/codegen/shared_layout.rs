//! Where an element of a tile staged in shared memory lives: the swizzled address function of
//! [`SharedLayout`].
//!
//! For a tile whose fastest dim (`order[0]`) has `inner` elements, an element at `(row, col)`
//! (`row` along `order[1]`, `col` along `order[0]`) is stored at element offset
//!
//! ```text
//! row · inner + ((col / vec) XOR phase(row)) · vec + col % vec,   phase(row) = (row / per_phase) % max_phase
//! ```
//!
//! A `vec`-element chunk never splits, so a thread that owns `vec` contiguous elements writes
//! them with one vector store, and `ldmatrix` reads 16-byte rows. Rank-1 tiles are stored
//! unswizzled. Limits: `max_phase` must not exceed `inner / vec` (the XOR must stay inside the
//! row), which [`check`] enforces.

use super::index::IndexArith;
use crate::ir::layout::SharedLayout;

/// Whether `layout` is usable for a tile of `shape`.
pub fn check(layout: &SharedLayout, shape: &[u32]) -> Result<(), String> {
    if layout.order.len() != shape.len() || shape.is_empty() || shape.len() > 2 {
        return Err(format!(
            "shared layout order {:?} on a tile of rank {}",
            layout.order,
            shape.len()
        ));
    }
    let pow2 = [layout.vec, layout.per_phase, layout.max_phase];
    if pow2.iter().any(|x| !x.is_power_of_two()) {
        return Err("shared layout vec, per_phase and max_phase must be powers of two".into());
    }
    if shape.len() == 2 {
        let inner = shape[layout.order[0] as usize];
        if layout.max_phase > 1 && layout.vec * layout.max_phase > inner {
            return Err(format!(
                "swizzle vec {} x max_phase {} exceeds the row of {inner} elements",
                layout.vec, layout.max_phase
            ));
        }
    }
    Ok(())
}

/// The element offset of `coord` (one value per tile dim).
pub fn offset<A: IndexArith>(
    ia: &mut A,
    layout: &SharedLayout,
    shape: &[u32],
    coord: &[A::V],
) -> A::V {
    if shape.len() == 1 {
        return coord[0];
    }
    let fast = layout.order[0] as usize;
    let slow = layout.order[1] as usize;
    let inner = shape[fast];
    let (row, col) = (coord[slow], coord[fast]);
    let row_start = ia.mul(row, inner);
    if layout.max_phase <= 1 {
        return ia.add(row_start, col);
    }
    let phase = ia.div(row, layout.per_phase);
    let phase = ia.rem(phase, layout.max_phase);
    let chunk = ia.div(col, layout.vec);
    let chunk = ia.xor(chunk, phase);
    let chunk_start = ia.mul(chunk, layout.vec);
    let within = ia.rem(col, layout.vec);
    let in_row = ia.add(chunk_start, within);
    ia.add(row_start, in_row)
}

/// The swizzle that makes `ldmatrix` reads of a tile whose rows hold `inner` elements of
/// `elem_bytes` bytes conflict-free: 16-byte chunks, and as many phases as there are chunks in
/// one 128-byte line of the 32 banks (rows shorter than a line share a phase).
pub fn mma_swizzle(inner: u32, elem_bytes: u32, order: Vec<u32>) -> SharedLayout {
    let vec = (16 / elem_bytes).min(inner).max(1);
    let row_bytes = inner * elem_bytes;
    let per_phase = (128 / row_bytes).max(1);
    let max_phase = (8 / per_phase).min(inner / vec).max(1);
    SharedLayout {
        vec,
        per_phase,
        max_phase,
        order,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::index::Concrete;

    fn offsets(layout: &SharedLayout, shape: &[u32]) -> Vec<u32> {
        let mut out = Vec::new();
        for r in 0..shape[0] {
            for c in 0..shape[1] {
                out.push(offset(&mut Concrete, layout, shape, &[r, c]));
            }
        }
        out
    }

    #[test]
    fn swizzled_layouts_are_bijections() {
        for (shape, order) in [
            ([64, 64], vec![1, 0]),
            ([32, 128], vec![0, 1]),
            ([16, 16], vec![1, 0]),
        ] {
            let inner = shape[order[0] as usize];
            let l = mma_swizzle(inner, 2, order);
            check(&l, &shape).unwrap();
            let mut offs = offsets(&l, &shape);
            offs.sort();
            assert_eq!(offs, (0..shape[0] * shape[1]).collect::<Vec<_>>());
        }
    }

    #[test]
    fn ldmatrix_rows_hit_distinct_bank_groups() {
        // 8 consecutive rows of one 8-element (16-byte) column chunk: one ldmatrix 8x8
        // matrix. Conflict-free means the 8 rows land in 8 different 16-byte bank groups.
        for inner in [8u32, 16, 32, 64, 128] {
            let l = mma_swizzle(inner, 2, vec![1, 0]);
            let shape = [64, inner];
            for row0 in (0..64).step_by(8) {
                for chunk in 0..inner / 8 {
                    let groups: std::collections::HashSet<u32> = (0..8)
                        .map(|r| {
                            offset(&mut Concrete, &l, &shape, &[row0 + r, chunk * 8]) * 2 / 16 % 8
                        })
                        .collect();
                    assert_eq!(groups.len(), 8, "inner {inner} rows {row0}.. chunk {chunk}");
                }
            }
        }
    }
}
