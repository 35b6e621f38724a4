//! Memory: global loads and stores of tensor slices, and tiles in shared memory.
//!
//! Global accesses. Each thread accesses the elements its registers hold. Registers that
//! hold runs of consecutive elements along the tensor's contiguous dim become one vector
//! access of up to 16 bytes (`ld.global.v4.b32`), but only when, at run time, the base
//! pointer, the strides, the slice's start and the innermost size are all multiples of the
//! vector (checked once per access; the kernel falls back to per-element accesses
//! otherwise). Then a vector lies wholly inside or wholly outside the tensor, so one
//! predicate guards it. Accesses are predicated inline PTX (`@p ld.global...`), masked
//! elements of a load take the `fill` value. Booleans are bytes in memory.
//!
//! Several threads may hold the same element (layouts that wrap around a small tile); they
//! all store the same value, which is harmless.
//!
//! Shared memory is one dynamic array (`smem`), carved up by `shared_plan`. Tiles are stored
//! with vector stores where their registers allow.

use super::index::IndexArith;
use super::thread_map::ThreadMap;
use super::values::{llvm_type, LlvmIndex, Lowered, TensorArgs};
use super::{Cg, CodegenError};
use crate::ir::{ConstValue, DType, SliceDim, Value};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValueEnum, IntValue, PointerValue};
use inkwell::IntPredicate;

/// The element's memory type (booleans are stored as bytes).
fn memory_type<'ctx>(cg: &Cg<'_, 'ctx>, dtype: DType) -> BasicTypeEnum<'ctx> {
    match dtype {
        DType::I1 => cg.ctx.i8_type().into(),
        d => llvm_type(cg.ctx, d),
    }
}

/// The bits of `value` as an element of `dtype` in memory.
fn fill_bits(dtype: DType, value: ConstValue) -> u64 {
    match dtype {
        DType::I1 => (value.as_i64() != 0) as u64,
        DType::I32 => value.as_i64() as i32 as u32 as u64,
        DType::I64 => value.as_i64() as u64,
        DType::F16 => half::f16::from_f64(value.as_f64()).to_bits() as u64,
        DType::BF16 => half::bf16::from_f64(value.as_f64()).to_bits() as u64,
        DType::F32 => (value.as_f64() as f32).to_bits() as u64,
    }
}

/// One vector group of a tile's global access: the address of its first element and the
/// in-bounds predicate of each element.
struct GroupAccess<'ctx> {
    addr: IntValue<'ctx>,
    masks: Vec<IntValue<'ctx>>,
}

/// How one predicated access moves `bytes` bytes: as `words` registers of `word_bits`.
struct AccessShape {
    words: u32,
    word_bits: u32,
}

impl AccessShape {
    fn new(bytes: u32) -> AccessShape {
        match bytes {
            1 | 2 => AccessShape {
                words: 1,
                word_bits: 16,
            },
            b => AccessShape {
                words: b / 4,
                word_bits: 32,
            },
        }
    }
    fn constraint(&self) -> &'static str {
        if self.word_bits == 16 {
            "h"
        } else {
            "r"
        }
    }
    /// The PTX type suffix and vector prefix for `bytes` bytes.
    fn ptx_op(&self, bytes: u32) -> String {
        let ty = match bytes {
            1 => "u8",
            2 => "b16",
            _ => "b32",
        };
        if self.words > 1 {
            format!("v{}.{ty}", self.words)
        } else {
            ty.to_string()
        }
    }
}

impl<'ctx> Cg<'_, 'ctx> {
    /// Values as memory holds them: booleans are `i1` in registers and a byte in memory;
    /// every other dtype is stored as it is.
    fn memory_form(
        &self,
        elems: &[BasicValueEnum<'ctx>],
        dtype: DType,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
        if dtype != DType::I1 {
            return Ok(elems.to_vec());
        }
        elems
            .iter()
            .map(|&e| {
                let byte = self
                    .b
                    .build_int_z_extend(e.into_int_value(), self.ctx.i8_type(), "")?;
                Ok(byte.into())
            })
            .collect()
    }

    fn i32_const(&self, c: u64) -> IntValue<'ctx> {
        self.ctx.i32_type().const_int(c, false)
    }

    /// The tensor element indices and in-bounds predicate of an element of a slice.
    fn slice_index(
        &self,
        t: &TensorArgs<'ctx>,
        dims: &[SliceDim],
        coord: &[IntValue<'ctx>],
    ) -> Result<(Vec<IntValue<'ctx>>, IntValue<'ctx>), CodegenError> {
        // Indices are i32 or i64 scalars; compute in i64 so neither overflows nor mixes.
        let i64t = self.ctx.i64_type();
        let widen = |v: IntValue<'ctx>| -> Result<IntValue<'ctx>, CodegenError> {
            Ok(if v.get_type().get_bit_width() == 64 {
                v
            } else {
                self.b.build_int_s_extend(v, i64t, "")?
            })
        };
        let mut idx = Vec::with_capacity(dims.len());
        let mut in_bounds = self.ctx.bool_type().const_int(1, false);
        let mut tile_dim = 0;
        for (k, d) in dims.iter().enumerate() {
            let i = match d {
                SliceDim::Index(v) => widen(self.int_scalar(*v)?)?,
                SliceDim::Range { start, .. } => {
                    let s = widen(self.int_scalar(*start)?)?;
                    // Tile coordinates are small and non-negative.
                    let c = self.b.build_int_z_extend(coord[tile_dim], i64t, "")?;
                    tile_dim += 1;
                    self.b.build_int_add(s, c, "")?
                }
            };
            // Unsigned compare: a negative index is out of bounds too.
            let size = self.b.build_int_z_extend(t.sizes[k], i64t, "")?;
            let ok = self.b.build_int_compare(IntPredicate::ULT, i, size, "")?;
            in_bounds = self.b.build_and(in_bounds, ok, "")?;
            idx.push(i);
        }
        Ok((idx, in_bounds))
    }

    /// The 64-bit global address of the element at `idx`.
    fn element_address(
        &self,
        t: &TensorArgs<'ctx>,
        idx: &[IntValue<'ctx>],
        elem: BasicTypeEnum<'ctx>,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        let i64t = self.ctx.i64_type();
        let last = idx.len() - 1;
        let mut offset = idx[last];
        for (&i, &stride) in idx[..last].iter().zip(&t.strides) {
            let term = self.b.build_int_mul(i, stride, "")?;
            offset = self.b.build_int_add(offset, term, "")?;
        }
        // SAFETY: the address is only dereferenced under the in-bounds predicate.
        let p = unsafe { self.b.build_gep(elem, t.ptr, &[offset], "")? };
        Ok(self.b.build_ptr_to_int(p, i64t, "")?)
    }

    /// Whether vectors of `v` elements are aligned for this access, at run time.
    fn vector_aligned(
        &self,
        t: &TensorArgs<'ctx>,
        dims: &[SliceDim],
        v: u32,
        elem_bytes: u32,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        let i64t = self.ctx.i64_type();
        let zero64 = i64t.const_zero();
        let ptr = self.b.build_ptr_to_int(t.ptr, i64t, "")?;
        let misaligned =
            self.b
                .build_and(ptr, i64t.const_int((v * elem_bytes - 1) as u64, false), "")?;
        let mut bits = misaligned;
        for s in &t.strides {
            let m = self
                .b
                .build_and(*s, i64t.const_int((v - 1) as u64, false), "")?;
            bits = self.b.build_or(bits, m, "")?;
        }
        let last = dims.len() - 1;
        let mut last32 = self
            .b
            .build_and(t.sizes[last], self.i32_const((v - 1) as u64), "")?;
        if let SliceDim::Range { start, .. } = dims[last] {
            // Only the low bits matter: an i64 start is truncated.
            let start = self.int_scalar(start)?;
            let start = self
                .b
                .build_int_truncate_or_bit_cast(start, self.ctx.i32_type(), "")?;
            let s = self
                .b
                .build_and(start, self.i32_const((v - 1) as u64), "")?;
            last32 = self.b.build_or(last32, s, "")?;
        }
        let last64 = self.b.build_int_z_extend(last32, i64t, "")?;
        bits = self.b.build_or(bits, last64, "")?;
        Ok(self
            .b
            .build_int_compare(IntPredicate::EQ, bits, zero64, "aligned")?)
    }

    /// The vector width for accesses of a tile with `map` to a slice with `dims`.
    fn global_vector_width(&self, map: &ThreadMap, dims: &[SliceDim], elem_bytes: u32) -> u32 {
        let last_is_range = matches!(dims.last(), Some(SliceDim::Range { .. }));
        if !last_is_range || map.rank() == 0 {
            return 1;
        }
        map.vector_width(map.rank() - 1, (16 / elem_bytes).max(1))
    }

    /// `if cond { then() } else { otherwise() }`, merging the registers both produce.
    fn branch_merge(
        &mut self,
        cond: IntValue<'ctx>,
        then: &mut dyn FnMut(&mut Self) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError>,
        otherwise: &mut dyn FnMut(&mut Self) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError>,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
        let then_bb = self.ctx.append_basic_block(self.func, "vector");
        let else_bb = self.ctx.append_basic_block(self.func, "scalar");
        let merge_bb = self.ctx.append_basic_block(self.func, "merge");
        self.b.build_conditional_branch(cond, then_bb, else_bb)?;
        self.b.position_at_end(then_bb);
        let a = then(self)?;
        let a_end = self.b.get_insert_block().expect("positioned");
        self.b.build_unconditional_branch(merge_bb)?;
        self.b.position_at_end(else_bb);
        let b = otherwise(self)?;
        let b_end = self.b.get_insert_block().expect("positioned");
        self.b.build_unconditional_branch(merge_bb)?;
        self.b.position_at_end(merge_bb);
        let mut out = Vec::with_capacity(a.len());
        for (x, y) in a.into_iter().zip(b) {
            let phi = self.b.build_phi(x.get_type(), "")?;
            phi.add_incoming(&[(&x, a_end), (&y, b_end)]);
            out.push(phi.as_basic_value());
        }
        Ok(out)
    }

    pub fn lower_load(
        &mut self,
        tensor: Value,
        dims: &[SliceDim],
        fill: ConstValue,
        result: Value,
    ) -> Result<(), CodegenError> {
        let Lowered::Tensor(t) = self.get(tensor)?.clone() else {
            return Err(CodegenError::Internal("load from a non-tensor".into()));
        };
        let dtype = self.kernel.value_type(result).dtype();
        let Some(tile) = self.kernel.value_type(result).as_tile() else {
            let (idx, ok) = self.slice_index(&t, dims, &[])?;
            let addr = self.element_address(&t, &idx, memory_type(self, dtype))?;
            let v = self.load_group(addr, ok, dtype, 1, fill)?;
            self.set(result, Lowered::Scalar(v[0]));
            return Ok(());
        };
        let map = super::values::map_of_type(tile, self.num_warps)?;
        let coords = self.coords(&map);
        let v = self.global_vector_width(&map, dims, dtype.size_bytes());
        let groups = self.group_accesses(&t, dims, &coords, dtype, v)?;
        let regs = if v > 1 {
            let aligned = self.vector_aligned(&t, dims, v, dtype.size_bytes())?;
            self.branch_merge(
                aligned,
                &mut |cg| cg.load_tile(&groups, dtype, true, fill),
                &mut |cg| cg.load_tile(&groups, dtype, false, fill),
            )?
        } else {
            self.load_tile(&groups, dtype, true, fill)?
        };
        self.set(result, Lowered::Tile(regs));
        Ok(())
    }

    /// The address of each group of `v` registers and the in-bounds predicate of each of
    /// its elements, computed once for both the vector and the per-element path (so a loop
    /// keeps one address per group live, not one per element).
    fn group_accesses(
        &self,
        t: &TensorArgs<'ctx>,
        dims: &[SliceDim],
        coords: &[Vec<IntValue<'ctx>>],
        dtype: DType,
        v: u32,
    ) -> Result<Vec<GroupAccess<'ctx>>, CodegenError> {
        let mem = memory_type(self, dtype);
        let mut groups = Vec::with_capacity(coords.len() / v as usize);
        for first in (0..coords.len()).step_by(v as usize) {
            let (idx, ok) = self.slice_index(t, dims, &coords[first])?;
            let addr = self.element_address(t, &idx, mem)?;
            let mut masks = vec![ok];
            for c in &coords[first + 1..first + v as usize] {
                masks.push(self.slice_index(t, dims, c)?.1);
            }
            groups.push(GroupAccess { addr, masks });
        }
        Ok(groups)
    }

    /// Loads every group: as one vector each, or element by element.
    fn load_tile(
        &mut self,
        groups: &[GroupAccess<'ctx>],
        dtype: DType,
        vector: bool,
        fill: ConstValue,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
        let mut regs = Vec::new();
        for g in groups {
            if vector {
                regs.extend(self.load_group(
                    g.addr,
                    g.masks[0],
                    dtype,
                    g.masks.len() as u32,
                    fill,
                )?);
            } else {
                for (i, &m) in g.masks.iter().enumerate() {
                    let addr = self.offset_address(g.addr, i as u32 * dtype.size_bytes())?;
                    regs.extend(self.load_group(addr, m, dtype, 1, fill)?);
                }
            }
        }
        Ok(regs)
    }

    fn offset_address(
        &self,
        addr: IntValue<'ctx>,
        bytes: u32,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        if bytes == 0 {
            return Ok(addr);
        }
        let c = self.ctx.i64_type().const_int(bytes as u64, false);
        Ok(self.b.build_int_add(addr, c, "")?)
    }

    /// One predicated load of `v` consecutive elements at global address `addr`.
    fn load_group(
        &self,
        addr: IntValue<'ctx>,
        pred: IntValue<'ctx>,
        dtype: DType,
        v: u32,
        fill: ConstValue,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
        let elem_bytes = dtype.size_bytes();
        let bytes = v * elem_bytes;
        let shape = AccessShape::new(bytes);
        // The fill value, replicated over the vector, as little-endian words.
        let elem_fill = fill_bits(dtype, fill).to_le_bytes();
        let fill_bytes: Vec<u8> = (0..v)
            .flat_map(|_| elem_fill[..elem_bytes as usize].to_vec())
            .collect();
        let word_bytes = (shape.word_bits / 8) as usize;
        let word_fill = |i: usize| {
            (0..word_bytes).fold(0u64, |acc, b| {
                acc | (*fill_bytes.get(i * word_bytes + b).unwrap_or(&0) as u64) << (8 * b)
            })
        };
        let outs: Vec<String> = (0..shape.words).map(|i| format!("${i}")).collect();
        let mut asm = String::new();
        for (i, o) in outs.iter().enumerate() {
            asm.push_str(&format!(
                "mov.b{} {o}, {:#x};\n",
                shape.word_bits,
                word_fill(i)
            ));
        }
        let dst = if shape.words > 1 {
            format!("{{{}}}", outs.join(", "))
        } else {
            outs[0].clone()
        };
        asm.push_str(&format!(
            "@${} ld.global.{} {dst}, [${}];",
            shape.words,
            shape.ptx_op(bytes),
            shape.words + 1
        ));
        let mut constraints: Vec<String> = (0..shape.words)
            .map(|_| format!("={}", shape.constraint()))
            .collect();
        constraints.push("b".into());
        constraints.push("l".into());
        let word_ty = int_type(self.ctx, shape.word_bits);
        let ret: BasicTypeEnum = if shape.words > 1 {
            let fields: Vec<BasicTypeEnum> = (0..shape.words).map(|_| word_ty.into()).collect();
            self.ctx.struct_type(&fields, false).into()
        } else {
            word_ty.into()
        };
        let fn_ty = super::intrinsics::fn_type(
            ret,
            &[self.ctx.bool_type().into(), self.ctx.i64_type().into()],
        );
        let asm_fn =
            self.ctx
                .create_inline_asm(fn_ty, asm, constraints.join(","), true, false, None, false);
        let call = self
            .b
            .build_indirect_call(fn_ty, asm_fn, &[pred.into(), addr.into()], "")?
            .try_as_basic_value();
        let inkwell::values::ValueKind::Basic(result) = call else {
            return Err(CodegenError::Internal(
                "inline load returned nothing".into(),
            ));
        };
        let words: Vec<IntValue> = if shape.words > 1 {
            (0..shape.words)
                .map(|i| {
                    Ok(self
                        .b
                        .build_extract_value(result.into_struct_value(), i, "")?
                        .into_int_value())
                })
                .collect::<Result<_, CodegenError>>()?
        } else {
            vec![result.into_int_value()]
        };
        self.unpack(&words, dtype, v)
    }

    /// Splits loaded words into `v` elements of `dtype`.
    fn unpack(
        &self,
        words: &[IntValue<'ctx>],
        dtype: DType,
        v: u32,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
        let mem = memory_type(self, dtype);
        let elem_bits = dtype.size_bytes() * 8;
        let elems: Vec<BasicValueEnum> =
            if words.len() == 1 && words[0].get_type().get_bit_width() >= elem_bits && v == 1 {
                let w = words[0];
                let bits = int_type(self.ctx, elem_bits);
                let narrow = if w.get_type().get_bit_width() > elem_bits {
                    self.b.build_int_truncate(w, bits, "")?
                } else {
                    w
                };
                vec![self.b.build_bit_cast(narrow, mem, "")?]
            } else {
                let word_ty = words[0].get_type();
                let mut packed = word_ty.vec_type(words.len() as u32).get_undef();
                for (i, w) in words.iter().enumerate() {
                    packed =
                        self.b
                            .build_insert_element(packed, *w, self.i32_const(i as u64), "")?;
                }
                let vec_ty = mem_vec_type(mem, v);
                let as_elems = self
                    .b
                    .build_bit_cast(packed, vec_ty, "")?
                    .into_vector_value();
                (0..v)
                    .map(|i| {
                        Ok(self
                            .b
                            .build_extract_element(as_elems, self.i32_const(i as u64), "")?)
                    })
                    .collect::<Result<_, CodegenError>>()?
            };
        elems
            .into_iter()
            .map(|e| {
                if dtype == DType::I1 {
                    let i = e.into_int_value();
                    Ok(self
                        .b
                        .build_int_compare(IntPredicate::NE, i, i.get_type().const_zero(), "")?
                        .into())
                } else {
                    Ok(e)
                }
            })
            .collect()
    }

    /// Packs `elems` (registers of `dtype`) into words of `word_bits` for a store.
    fn pack(
        &self,
        elems: &[BasicValueEnum<'ctx>],
        dtype: DType,
        word_bits: u32,
    ) -> Result<Vec<IntValue<'ctx>>, CodegenError> {
        let mem = memory_type(self, dtype);
        let elems = self.memory_form(elems, dtype)?;
        let total_bits = elems.len() as u32 * dtype.size_bytes() * 8;
        let word_ty = int_type(self.ctx, word_bits);
        if total_bits < word_bits {
            // A single byte stored from a 16-bit register.
            let bits = int_type(self.ctx, total_bits);
            let x = self.b.build_bit_cast(elems[0], bits, "")?.into_int_value();
            return Ok(vec![self.b.build_int_z_extend(x, word_ty, "")?]);
        }
        let mut vecv = mem_vec_type(mem, elems.len() as u32)
            .into_vector_type()
            .get_undef();
        for (i, e) in elems.iter().enumerate() {
            vecv = self
                .b
                .build_insert_element(vecv, *e, self.i32_const(i as u64), "")?;
        }
        let n = total_bits / word_bits;
        let words = self
            .b
            .build_bit_cast(vecv, word_ty.vec_type(n), "")?
            .into_vector_value();
        (0..n)
            .map(|i| {
                Ok(self
                    .b
                    .build_extract_element(words, self.i32_const(i as u64), "")?
                    .into_int_value())
            })
            .collect()
    }

    pub fn lower_store(
        &mut self,
        tensor: Value,
        dims: &[SliceDim],
        value: Value,
    ) -> Result<(), CodegenError> {
        let Lowered::Tensor(t) = self.get(tensor)?.clone() else {
            return Err(CodegenError::Internal("store to a non-tensor".into()));
        };
        let dtype = self.kernel.value_type(value).dtype();
        let Some(tile) = self.kernel.value_type(value).as_tile() else {
            let (idx, ok) = self.slice_index(&t, dims, &[])?;
            let x = self.scalar(value)?;
            let addr = self.element_address(&t, &idx, memory_type(self, dtype))?;
            return self.store_group(addr, ok, dtype, &[x]);
        };
        let map = super::values::map_of_type(tile, self.num_warps)?;
        let coords = self.coords(&map);
        let regs = self.regs(value)?;
        let v = self.global_vector_width(&map, dims, dtype.size_bytes());
        let groups = self.group_accesses(&t, dims, &coords, dtype, v)?;
        if v > 1 {
            let aligned = self.vector_aligned(&t, dims, v, dtype.size_bytes())?;
            self.branch_merge(
                aligned,
                &mut |cg| {
                    cg.store_tile(&groups, dtype, true, &regs)
                        .map(|_| Vec::new())
                },
                &mut |cg| {
                    cg.store_tile(&groups, dtype, false, &regs)
                        .map(|_| Vec::new())
                },
            )?;
            Ok(())
        } else {
            self.store_tile(&groups, dtype, true, &regs)
        }
    }

    /// Stores every group: as one vector each, or element by element.
    fn store_tile(
        &mut self,
        groups: &[GroupAccess<'ctx>],
        dtype: DType,
        vector: bool,
        regs: &[BasicValueEnum<'ctx>],
    ) -> Result<(), CodegenError> {
        let mut next = 0;
        for g in groups {
            let n = g.masks.len();
            let elems = &regs[next..next + n];
            next += n;
            if vector {
                self.store_group(g.addr, g.masks[0], dtype, elems)?;
            } else {
                for (i, (&m, &e)) in g.masks.iter().zip(elems).enumerate() {
                    let addr = self.offset_address(g.addr, i as u32 * dtype.size_bytes())?;
                    self.store_group(addr, m, dtype, &[e])?;
                }
            }
        }
        Ok(())
    }

    /// One predicated store of consecutive elements at global address `addr`.
    fn store_group(
        &self,
        addr: IntValue<'ctx>,
        pred: IntValue<'ctx>,
        dtype: DType,
        elems: &[BasicValueEnum<'ctx>],
    ) -> Result<(), CodegenError> {
        let bytes = elems.len() as u32 * dtype.size_bytes();
        let shape = AccessShape::new(bytes);
        let words = self.pack(elems, dtype, shape.word_bits)?;
        let srcs: Vec<String> = (0..shape.words).map(|i| format!("${}", i + 2)).collect();
        let src = if shape.words > 1 {
            format!("{{{}}}", srcs.join(", "))
        } else {
            srcs[0].clone()
        };
        let asm = format!("@$0 st.global.{} [$1], {src};", shape.ptx_op(bytes));
        let mut constraints = vec!["b".to_string(), "l".to_string()];
        constraints.extend((0..shape.words).map(|_| shape.constraint().to_string()));
        let mut params: Vec<inkwell::types::BasicMetadataTypeEnum> =
            vec![self.ctx.bool_type().into(), self.ctx.i64_type().into()];
        params.extend(
            words
                .iter()
                .map(|w| inkwell::types::BasicMetadataTypeEnum::from(w.get_type())),
        );
        let fn_ty = self.ctx.void_type().fn_type(&params, false);
        let asm_fn =
            self.ctx
                .create_inline_asm(fn_ty, asm, constraints.join(","), true, false, None, false);
        let mut args: Vec<inkwell::values::BasicMetadataValueEnum> = vec![pred.into(), addr.into()];
        args.extend(
            words
                .iter()
                .map(|&w| inkwell::values::BasicMetadataValueEnum::from(w)),
        );
        self.b.build_indirect_call(fn_ty, asm_fn, &args, "")?;
        Ok(())
    }

    /// A pointer into shared memory, `byte_offset` bytes from the start of `smem`.
    pub fn shared_ptr(
        &self,
        byte_offset: IntValue<'ctx>,
    ) -> Result<PointerValue<'ctx>, CodegenError> {
        // SAFETY: offsets stay inside the shared memory the plan reserved.
        Ok(unsafe {
            self.b
                .build_gep(self.ctx.i8_type(), self.smem, &[byte_offset], "")?
        })
    }

    /// The pointer to element `elem` of a shared buffer starting at `base` bytes.
    pub fn shared_elem_ptr(
        &self,
        base: u32,
        elem: IntValue<'ctx>,
        dtype: DType,
    ) -> Result<PointerValue<'ctx>, CodegenError> {
        let mut ia = self.index();
        let bytes = ia.mul(elem, dtype.size_bytes());
        let off = ia.add_const(bytes, base);
        self.shared_ptr(off)
    }

    /// Stores a distributed tile into shared memory: register `r` goes to element
    /// `offset(coords(r))` of the buffer at `base` bytes. Groups of registers contiguous
    /// along dim `vectorize.0` (at most `vectorize.1` elements) become vector stores.
    pub fn store_shared(
        &self,
        regs: &[BasicValueEnum<'ctx>],
        map: &ThreadMap,
        dtype: DType,
        base: u32,
        vectorize: (usize, u32),
        offset: &dyn Fn(&mut LlvmIndex<'_, 'ctx>, &[IntValue<'ctx>]) -> IntValue<'ctx>,
    ) -> Result<(), CodegenError> {
        let coords = self.coords(map);
        let (fast_dim, max_vec) = vectorize;
        let v = map.vector_width(fast_dim, max_vec.min(16 / dtype.size_bytes()).max(1));
        let mem = memory_type(self, dtype);
        for first in (0..regs.len()).step_by(v as usize) {
            let elem = offset(&mut self.index(), &coords[first]);
            let ptr = self.shared_elem_ptr(base, elem, dtype)?;
            let group = &regs[first..first + v as usize];
            let group = self.memory_form(group, dtype)?;
            let store = if v == 1 {
                self.b.build_store(ptr, group[0])?
            } else {
                let mut vecv = mem_vec_type(mem, v).into_vector_type().get_undef();
                for (i, e) in group.iter().enumerate() {
                    vecv = self
                        .b
                        .build_insert_element(vecv, *e, self.i32_const(i as u64), "")?;
                }
                self.b.build_store(ptr, vecv)?
            };
            store
                .set_alignment(v * dtype.size_bytes())
                .map_err(|e| CodegenError::Internal(e.to_string()))?;
        }
        Ok(())
    }

    /// Loads one element of `dtype` from element `elem` of the shared buffer at `base`.
    pub fn load_shared(
        &self,
        base: u32,
        elem: IntValue<'ctx>,
        dtype: DType,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        let ptr = self.shared_elem_ptr(base, elem, dtype)?;
        let mem = memory_type(self, dtype);
        let x = self.b.build_load(mem, ptr, "")?;
        if dtype == DType::I1 {
            let i = x.into_int_value();
            return Ok(self
                .b
                .build_int_compare(IntPredicate::NE, i, i.get_type().const_zero(), "")?
                .into());
        }
        Ok(x)
    }
}

fn mem_vec_type(mem: BasicTypeEnum<'_>, v: u32) -> BasicTypeEnum<'_> {
    match mem {
        BasicTypeEnum::IntType(t) => t.vec_type(v).into(),
        BasicTypeEnum::FloatType(t) => t.vec_type(v).into(),
        other => other,
    }
}

/// The integer type of `bits` bits (8, 16, 32 or 64).
fn int_type(ctx: &inkwell::context::Context, bits: u32) -> inkwell::types::IntType<'_> {
    match bits {
        8 => ctx.i8_type(),
        16 => ctx.i16_type(),
        32 => ctx.i32_type(),
        _ => ctx.i64_type(),
    }
}
