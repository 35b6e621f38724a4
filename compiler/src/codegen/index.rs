//! Index arithmetic written once, evaluated two ways.
//!
//! The functions that say which element a thread holds (`thread_map`), where an element lives
//! in shared memory (`shared_layout`) and which row a lane hands to `ldmatrix` are written
//! against [`IndexArith`]. Code generation evaluates them on LLVM values (one formula per
//! thread, in the PTX); the unit tests evaluate the very same functions on plain `u32`s
//! ([`Concrete`]) for every thread and compare against brute-force enumeration and the PTX
//! ISA's documented fragment layouts. So the index math that runs on the GPU is the index
//! math the tests check.
//!
//! Only the operations the layouts need are offered; all operands are non-negative `u32`s.

/// Integer operations on thread-dependent indices.
pub trait IndexArith {
    type V: Copy;
    fn konst(&mut self, c: u32) -> Self::V;
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(&mut self, a: Self::V, c: u32) -> Self::V;
    fn and(&mut self, a: Self::V, mask: u32) -> Self::V;
    fn shr(&mut self, a: Self::V, bits: u32) -> Self::V;
    fn xor(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn div(&mut self, a: Self::V, c: u32) -> Self::V {
        debug_assert!(c.is_power_of_two(), "index divisors are powers of two");
        self.shr(a, c.trailing_zeros())
    }
    fn rem(&mut self, a: Self::V, c: u32) -> Self::V {
        debug_assert!(c.is_power_of_two(), "index moduli are powers of two");
        self.and(a, c - 1)
    }
    fn add_const(&mut self, a: Self::V, c: u32) -> Self::V {
        if c == 0 {
            return a;
        }
        let c = self.konst(c);
        self.add(a, c)
    }
}

/// Plain integers: the tests' evaluator.
pub struct Concrete;

impl IndexArith for Concrete {
    type V = u32;
    fn konst(&mut self, c: u32) -> u32 {
        c
    }
    fn add(&mut self, a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }
    fn mul(&mut self, a: u32, c: u32) -> u32 {
        a.wrapping_mul(c)
    }
    fn and(&mut self, a: u32, mask: u32) -> u32 {
        a & mask
    }
    fn shr(&mut self, a: u32, bits: u32) -> u32 {
        a >> bits
    }
    fn xor(&mut self, a: u32, b: u32) -> u32 {
        a ^ b
    }
}
