//! The interpreter on hand-built kernels.
//!
//! Each kernel is built by one small function in [`kernels`] (through the [`build::Builder`]
//! helper), so they can later be replaced by IR text files under tests/ir/ without touching
//! the checks. Numerics are compared with the f64 host references of
//! `tilec_tests::reference` under `rel_error` bounds; exact semantics (rounding, integers,
//! masking, control flow) are compared exactly.

use half::{bf16, f16};
use tilec::interp::{run, ArgValue, HostTensor, InterpError, TensorData};
use tilec::ir::Kernel;
use tilec_tests::reference::{self, rel_error, Rng};

/// Helpers to build kernels instruction by instruction.
mod build {
    use tilec::ir::{
        BinaryOp, Block, CmpOp, ConstValue, DType, Dim, GridExpr, InstData, Kernel, SliceDim,
        TensorType, Type, UnaryOp, Value, ValueList,
    };

    pub struct Builder {
        pub kernel: Kernel,
        /// Where instructions are appended.
        block: Block,
    }

    impl Builder {
        pub fn new(name: &str) -> Self {
            let kernel = Kernel::new(name);
            let block = kernel.entry;
            Builder { kernel, block }
        }

        /// Declares a runtime shape symbol.
        pub fn symbol(&mut self, name: &str) -> Dim {
            self.kernel.symbols.push(name.to_string());
            Dim::Sym(self.kernel.symbols.len() as u32 - 1)
        }

        pub fn grid(&mut self, axes: Vec<GridExpr>) {
            self.kernel.grid = axes;
        }

        pub fn tensor(&mut self, name: &str, dtype: DType, dims: Vec<Dim>, mutable: bool) -> Value {
            let ty = Type::Tensor(TensorType {
                dtype,
                dims,
                mutable,
            });
            self.kernel.add_param(name, ty)
        }

        pub fn scalar_param(&mut self, name: &str, dtype: DType) -> Value {
            self.kernel.add_param(name, Type::Scalar(dtype))
        }

        pub fn ty(&self, v: Value) -> Type {
            self.kernel.value_type(v).clone()
        }

        /// Appends a single-result instruction.
        pub fn op(&mut self, data: InstData, ty: Type) -> Value {
            let inst = self.kernel.append_inst(self.block, data, &[ty]);
            self.kernel.result(inst)
        }

        /// Appends an instruction without results.
        pub fn effect(&mut self, data: InstData) {
            self.kernel.append_inst(self.block, data, &[]);
        }

        pub fn constant(&mut self, value: ConstValue, dtype: DType) -> Value {
            self.op(InstData::Const { value }, Type::Scalar(dtype))
        }

        pub fn i32(&mut self, value: i64) -> Value {
            self.constant(ConstValue::Int(value), DType::I32)
        }

        pub fn program_id(&mut self, axis: u8) -> Value {
            self.op(InstData::ProgramId { axis }, Type::Scalar(DType::I32))
        }

        /// An element-wise binary op; the result has the operands' type.
        pub fn binary(&mut self, op: BinaryOp, a: Value, b: Value) -> Value {
            let ty = self.ty(a);
            self.op(InstData::Binary { op, args: [a, b] }, ty)
        }

        pub fn cmp(&mut self, op: CmpOp, a: Value, b: Value) -> Value {
            let ty = self.ty(a).with_dtype(DType::I1);
            self.op(InstData::Cmp { op, args: [a, b] }, ty)
        }

        pub fn cast(&mut self, arg: Value, dtype: DType) -> Value {
            let ty = self.ty(arg).with_dtype(dtype);
            self.op(InstData::Cast { arg }, ty)
        }

        pub fn splat(&mut self, arg: Value, shape: &[u32]) -> Value {
            let ty = Type::tile(self.ty(arg).dtype(), shape.to_vec());
            self.op(InstData::Splat { arg }, ty)
        }

        pub fn unary(&mut self, op: UnaryOp, arg: Value) -> Value {
            let ty = self.ty(arg);
            self.op(InstData::Unary { op, arg }, ty)
        }

        /// A rank-1 tile `[m]` stretched to `[m, n]` (expand_dims then broadcast).
        pub fn widen(&mut self, arg: Value, n: u32) -> Value {
            let ty = self.ty(arg);
            let (dtype, m) = (ty.dtype(), ty.shape().expect("a tile")[0]);
            let column = self.op(
                InstData::ExpandDims { arg, axis: 1 },
                Type::tile(dtype, vec![m, 1]),
            );
            self.op(
                InstData::Broadcast { arg: column },
                Type::tile(dtype, vec![m, n]),
            )
        }

        /// A scalar constant splatted to a tile.
        pub fn full(&mut self, value: ConstValue, dtype: DType, shape: &[u32]) -> Value {
            let c = self.constant(value, dtype);
            self.splat(c, shape)
        }

        /// `load(tensor[dims], fill)`; the tile shape is the `Range` lengths.
        pub fn load(&mut self, tensor: Value, dims: Vec<SliceDim>, fill: ConstValue) -> Value {
            let dtype = self.ty(tensor).dtype();
            let shape: Vec<u32> = dims
                .iter()
                .filter_map(|d| match d {
                    SliceDim::Range { len, .. } => Some(*len),
                    SliceDim::Index(_) => None,
                })
                .collect();
            let ty = if shape.is_empty() {
                Type::Scalar(dtype)
            } else {
                Type::tile(dtype, shape)
            };
            self.op(InstData::Load { tensor, dims, fill }, ty)
        }

        pub fn store(&mut self, tensor: Value, dims: Vec<SliceDim>, value: Value) {
            self.effect(InstData::Store {
                tensor,
                dims,
                value,
            });
        }

        /// `for iv in lower..upper step step` carrying `init`; `body` gets the induction
        /// variable and the carried values and returns the next carried values.
        pub fn for_loop(
            &mut self,
            [lower, upper, step]: [Value; 3],
            init: &[Value],
            body: impl FnOnce(&mut Self, Value, &[Value]) -> Vec<Value>,
        ) -> Vec<Value> {
            let types: Vec<Type> = init.iter().map(|&v| self.ty(v)).collect();
            let block = self.kernel.create_block();
            let iv = self
                .kernel
                .append_block_param(block, Type::Scalar(DType::I32), None);
            let carried: Vec<Value> = types
                .iter()
                .map(|t| self.kernel.append_block_param(block, t.clone(), None))
                .collect();
            let yielded = self.in_block(block, |b| body(b, iv, &carried));
            self.end_block(block, yielded);
            let inst = self.kernel.append_inst(
                self.block,
                InstData::For {
                    lower,
                    upper,
                    step,
                    init: init.iter().copied().collect(),
                    body: block,
                },
                &types,
            );
            self.kernel.inst_results(inst).to_vec()
        }

        /// `if cond { then } else { else }` with results of `types`.
        pub fn if_else(
            &mut self,
            cond: Value,
            types: &[Type],
            then_branch: impl FnOnce(&mut Self) -> Vec<Value>,
            else_branch: impl FnOnce(&mut Self) -> Vec<Value>,
        ) -> Vec<Value> {
            let then_block = self.kernel.create_block();
            let else_block = self.kernel.create_block();
            let yielded = self.in_block(then_block, then_branch);
            self.end_block(then_block, yielded);
            let yielded = self.in_block(else_block, else_branch);
            self.end_block(else_block, yielded);
            let inst = self.kernel.append_inst(
                self.block,
                InstData::If {
                    cond,
                    then_block,
                    else_block,
                },
                types,
            );
            self.kernel.inst_results(inst).to_vec()
        }

        fn in_block<R>(&mut self, block: Block, f: impl FnOnce(&mut Self) -> R) -> R {
            let outer = std::mem::replace(&mut self.block, block);
            let r = f(self);
            self.block = outer;
            r
        }

        fn end_block(&mut self, block: Block, values: Vec<Value>) {
            let args: ValueList = values.into_iter().collect();
            self.kernel
                .append_inst(block, InstData::Yield { args }, &[]);
        }

        /// Ends the kernel body with `return`.
        pub fn finish(mut self) -> Kernel {
            let entry = self.kernel.entry;
            self.kernel.append_inst(entry, InstData::Return, &[]);
            self.kernel
        }
    }

    /// `start ..+ len` of a slice.
    pub fn range(start: Value, len: u32) -> SliceDim {
        SliceDim::Range { start, len }
    }

    /// `cdiv(symbol, block)` grid axis.
    pub fn cdiv(symbol: u32, block: i64) -> GridExpr {
        GridExpr::Binary(
            tilec::ir::GridOp::CeilDiv,
            Box::new(GridExpr::Sym(symbol)),
            Box::new(GridExpr::Const(block)),
        )
    }
}

/// The kernels under test, one function each.
mod kernels {
    use super::build::{cdiv, range, Builder};
    use tilec::ir::{
        BinaryOp, CmpOp, ConstValue, DType, Dim, GridExpr, InstData, Kernel, ReduceOp, SliceDim,
        Type, UnaryOp,
    };

    /// `out = x + y` over `[N]` in blocks of `block` elements (the last one ragged).
    pub fn vector_add(dtype: DType, block: u32) -> Kernel {
        let mut b = Builder::new("vector_add");
        let n = b.symbol("N");
        let x = b.tensor("x", dtype, vec![n.clone()], false);
        let y = b.tensor("y", dtype, vec![n.clone()], false);
        let out = b.tensor("out", dtype, vec![n], true);
        b.grid(vec![cdiv(0, block as i64)]);
        let pid = b.program_id(0);
        let len = b.i32(block as i64);
        let start = b.binary(BinaryOp::Mul, pid, len);
        let xs = b.load(x, vec![range(start, block)], ConstValue::Int(0));
        let ys = b.load(y, vec![range(start, block)], ConstValue::Int(0));
        let sum = b.binary(BinaryOp::Add, xs, ys);
        b.store(out, vec![range(start, block)], sum);
        b.finish()
    }

    /// Row-wise softmax of f32 `[R, COLS]`, `ROWS` rows per program, using reduce,
    /// expand_dims and broadcast.
    pub fn softmax(rows: u32, cols: u32) -> Kernel {
        let mut b = Builder::new("softmax");
        let r = b.symbol("R");
        let x = b.tensor("x", DType::F32, vec![r.clone(), Dim::Const(cols)], false);
        let out = b.tensor("out", DType::F32, vec![r, Dim::Const(cols)], true);
        b.grid(vec![cdiv(0, rows as i64)]);
        let pid = b.program_id(0);
        let rows_c = b.i32(rows as i64);
        let start = b.binary(BinaryOp::Mul, pid, rows_c);
        let zero = b.i32(0);
        let slice = vec![range(start, rows), range(zero, cols)];
        let xs = b.load(x, slice.clone(), ConstValue::Float(f64::NEG_INFINITY));
        let row_shape = Type::tile(DType::F32, vec![rows]);
        let column = Type::tile(DType::F32, vec![rows, 1]);
        let full = Type::tile(DType::F32, vec![rows, cols]);
        let max = b.op(
            InstData::Reduce {
                op: ReduceOp::Max,
                arg: xs,
                axis: 1,
            },
            row_shape.clone(),
        );
        let max = b.op(InstData::ExpandDims { arg: max, axis: 1 }, column.clone());
        let max = b.op(InstData::Broadcast { arg: max }, full.clone());
        let shifted = b.binary(BinaryOp::Sub, xs, max);
        let exps = b.op(
            InstData::Unary {
                op: UnaryOp::Exp,
                arg: shifted,
            },
            full.clone(),
        );
        let total = b.op(
            InstData::Reduce {
                op: ReduceOp::Sum,
                arg: exps,
                axis: 1,
            },
            row_shape,
        );
        let total = b.op(
            InstData::ExpandDims {
                arg: total,
                axis: 1,
            },
            column,
        );
        let total = b.op(InstData::Broadcast { arg: total }, full);
        let soft = b.binary(BinaryOp::Div, exps, total);
        b.store(out, slice, soft);
        b.finish()
    }

    /// `out = a @ b` for `[M, K] @ [K, N]` of one float dtype, in one program.
    pub fn matmul(dtype: DType, m: u32, k: u32, n: u32) -> Kernel {
        let mut b = Builder::new("matmul");
        let a_t = b.tensor("a", dtype, vec![Dim::Const(m), Dim::Const(k)], false);
        let b_t = b.tensor("b", dtype, vec![Dim::Const(k), Dim::Const(n)], false);
        let out = b.tensor("out", DType::F32, vec![Dim::Const(m), Dim::Const(n)], true);
        b.grid(vec![GridExpr::Const(1)]);
        let zero = b.i32(0);
        let a = b.load(
            a_t,
            vec![range(zero, m), range(zero, k)],
            ConstValue::Int(0),
        );
        let bs = b.load(
            b_t,
            vec![range(zero, k), range(zero, n)],
            ConstValue::Int(0),
        );
        let acc = b.full(ConstValue::Float(0.0), DType::F32, &[m, n]);
        let ty = Type::tile(DType::F32, vec![m, n]);
        let c = b.op(InstData::Dot { args: [a, bs, acc] }, ty);
        b.store(out, vec![range(zero, m), range(zero, n)], c);
        b.finish()
    }

    /// `for iv in range(lower, upper, step)`: `s += iv` (i32) and `t = t * 2 + 1` (f32 [4]);
    /// stores `s` to `out_s[0]` and `t` to `out_t`.
    pub fn loop_carried() -> Kernel {
        let mut b = Builder::new("loop_carried");
        let lower = b.scalar_param("lower", DType::I32);
        let upper = b.scalar_param("upper", DType::I32);
        let step = b.scalar_param("step", DType::I32);
        let out_s = b.tensor("out_s", DType::I32, vec![Dim::Const(1)], true);
        let out_t = b.tensor("out_t", DType::F32, vec![Dim::Const(4)], true);
        b.grid(vec![GridExpr::Const(1)]);
        let s0 = b.i32(0);
        let t0 = b.full(ConstValue::Float(0.0), DType::F32, &[4]);
        let results = b.for_loop([lower, upper, step], &[s0, t0], |b, iv, carried| {
            let s = b.binary(BinaryOp::Add, carried[0], iv);
            let two = b.full(ConstValue::Float(2.0), DType::F32, &[4]);
            let one = b.full(ConstValue::Float(1.0), DType::F32, &[4]);
            let t = b.binary(BinaryOp::Mul, carried[1], two);
            let t = b.binary(BinaryOp::Add, t, one);
            vec![s, t]
        });
        let zero = b.i32(0);
        b.store(out_s, vec![SliceDim::Index(zero)], results[0]);
        b.store(out_t, vec![range(zero, 4)], results[1]);
        b.finish()
    }

    /// `out[0] = if flag { x * 2 } else { x + 100 }` on an i32 scalar `x`.
    pub fn branch() -> Kernel {
        let mut b = Builder::new("branch");
        let flag = b.scalar_param("flag", DType::I1);
        let x = b.scalar_param("x", DType::I32);
        let out = b.tensor("out", DType::I32, vec![Dim::Const(1)], true);
        b.grid(vec![GridExpr::Const(1)]);
        let result = b.if_else(
            flag,
            &[Type::Scalar(DType::I32)],
            |b| {
                let two = b.i32(2);
                vec![b.binary(BinaryOp::Mul, x, two)]
            },
            |b| {
                let hundred = b.i32(100);
                vec![b.binary(BinaryOp::Add, x, hundred)]
            },
        );
        let zero = b.i32(0);
        b.store(out, vec![SliceDim::Index(zero)], result[0]);
        b.finish()
    }

    /// Loads f32 `x[N]`, casts it to `to`, stores into `out[N]` of dtype `to`.
    pub fn cast(to: DType, n: u32) -> Kernel {
        let mut b = Builder::new("cast");
        let x = b.tensor("x", DType::F32, vec![Dim::Const(n)], false);
        let out = b.tensor("out", to, vec![Dim::Const(n)], true);
        b.grid(vec![GridExpr::Const(1)]);
        let zero = b.i32(0);
        let xs = b.load(x, vec![range(zero, n)], ConstValue::Int(0));
        let c = b.cast(xs, to);
        b.store(out, vec![range(zero, n)], c);
        b.finish()
    }

    /// `out = x op y` element-wise over `[N]` of one dtype, in one program.
    pub fn binary(op: BinaryOp, dtype: DType, n: u32) -> Kernel {
        let mut b = Builder::new(op.name());
        let x = b.tensor("x", dtype, vec![Dim::Const(n)], false);
        let y = b.tensor("y", dtype, vec![Dim::Const(n)], false);
        let out = b.tensor("out", dtype, vec![Dim::Const(n)], true);
        b.grid(vec![GridExpr::Const(1)]);
        let zero = b.i32(0);
        let xs = b.load(x, vec![range(zero, n)], ConstValue::Int(0));
        let ys = b.load(y, vec![range(zero, n)], ConstValue::Int(0));
        let r = b.binary(op, xs, ys);
        b.store(out, vec![range(zero, n)], r);
        b.finish()
    }

    /// `out = op(x)` element-wise over `[N]`.
    pub fn unary(op: UnaryOp, dtype: DType, n: u32) -> Kernel {
        let mut b = Builder::new(op.name());
        let x = b.tensor("x", dtype, vec![Dim::Const(n)], false);
        let out = b.tensor("out", dtype, vec![Dim::Const(n)], true);
        b.grid(vec![GridExpr::Const(1)]);
        let zero = b.i32(0);
        let xs = b.load(x, vec![range(zero, n)], ConstValue::Int(0));
        let r = b.unary(op, xs);
        b.store(out, vec![range(zero, n)], r);
        b.finish()
    }

    /// On a `[gx, gy]` grid, each program stores
    /// `program_id(0) + 10 * program_id(1) + 100 * num_programs(0) + 1000 * num_programs(1)`
    /// at `out[program_id(1), program_id(0)]`.
    pub fn grid_ids() -> Kernel {
        let mut b = Builder::new("grid_ids");
        let (y, x) = (b.symbol("Y"), b.symbol("X"));
        let out = b.tensor("out", DType::I32, vec![y, x], true);
        b.grid(vec![GridExpr::Sym(1), GridExpr::Sym(0)]);
        let (px, py) = (b.program_id(0), b.program_id(1));
        let i32_ty = Type::Scalar(DType::I32);
        let nx = b.op(InstData::NumPrograms { axis: 0 }, i32_ty.clone());
        let ny = b.op(InstData::NumPrograms { axis: 1 }, i32_ty);
        let mut total = px;
        for (value, weight) in [(py, 10), (nx, 100), (ny, 1000)] {
            let w = b.i32(weight);
            let term = b.binary(BinaryOp::Mul, value, w);
            total = b.binary(BinaryOp::Add, total, term);
        }
        b.store(out, vec![SliceDim::Index(py), SliceDim::Index(px)], total);
        b.finish()
    }

    /// Program `p` of `N` stores `1 / (p % 4 - 1)` into `out[p]`: programs 1, 5, 9, ...
    /// divide by zero.
    pub fn failing_programs() -> Kernel {
        let mut b = Builder::new("failing_programs");
        let n = b.symbol("N");
        let out = b.tensor("out", DType::I32, vec![n], true);
        b.grid(vec![GridExpr::Sym(0)]);
        let pid = b.program_id(0);
        let (one, four) = (b.i32(1), b.i32(4));
        let phase = b.binary(BinaryOp::Rem, pid, four);
        let divisor = b.binary(BinaryOp::Sub, phase, one);
        let q = b.binary(BinaryOp::Div, one, divisor);
        b.store(out, vec![SliceDim::Index(pid)], q);
        b.finish()
    }

    /// Stores into a tensor declared read-only (`&`, not `&mut`).
    pub fn store_to_read_only() -> Kernel {
        let mut b = Builder::new("store_to_read_only");
        let x = b.tensor("x", DType::I32, vec![Dim::Const(1)], false);
        b.grid(vec![GridExpr::Const(1)]);
        let zero = b.i32(0);
        b.store(x, vec![SliceDim::Index(zero)], zero);
        b.finish()
    }

    /// `out[0] = reduce(x)` over `x[N]`.
    pub fn reduce(op: ReduceOp, dtype: DType, n: u32) -> Kernel {
        let mut b = Builder::new(op.name());
        let x = b.tensor("x", dtype, vec![Dim::Const(n)], false);
        let out = b.tensor("out", dtype, vec![Dim::Const(1)], true);
        b.grid(vec![GridExpr::Const(1)]);
        let zero = b.i32(0);
        let xs = b.load(x, vec![range(zero, n)], ConstValue::Int(0));
        let r = b.op(
            InstData::Reduce {
                op,
                arg: xs,
                axis: 0,
            },
            Type::Scalar(dtype),
        );
        b.store(out, vec![SliceDim::Index(zero)], r);
        b.finish()
    }

    /// `out = load(x[start ..+ LEN], fill)` for a runtime `start`, and
    /// `out_row = load(m[row, 0 ..+ 4], fill)` for a runtime scalar index `row`.
    pub fn masked_load(dtype: DType, len: u32, fill: f64) -> Kernel {
        let mut b = Builder::new("masked_load");
        let n = b.symbol("N");
        let x = b.tensor("x", dtype, vec![n], false);
        let m = b.tensor("m", dtype, vec![Dim::Const(2), Dim::Const(4)], false);
        let start = b.scalar_param("start", DType::I32);
        let row = b.scalar_param("row", DType::I32);
        let out = b.tensor("out", dtype, vec![Dim::Const(len)], true);
        let out_row = b.tensor("out_row", dtype, vec![Dim::Const(4)], true);
        b.grid(vec![GridExpr::Const(1)]);
        let fill = ConstValue::Float(fill);
        let xs = b.load(x, vec![range(start, len)], fill);
        let zero = b.i32(0);
        b.store(out, vec![range(zero, len)], xs);
        let ms = b.load(m, vec![SliceDim::Index(row), range(zero, 4)], fill);
        b.store(out_row, vec![range(zero, 4)], ms);
        b.finish()
    }

    /// Stores `x` (f32 `[len]`) into `out[start ..+ len]` of an `[N]` tensor.
    pub fn masked_store(len: u32) -> Kernel {
        let mut b = Builder::new("masked_store");
        let n = b.symbol("N");
        let x = b.tensor("x", DType::F32, vec![Dim::Const(len)], false);
        let out = b.tensor("out", DType::F32, vec![n], true);
        let start = b.scalar_param("start", DType::I32);
        b.grid(vec![GridExpr::Const(1)]);
        let zero = b.i32(0);
        let xs = b.load(x, vec![range(zero, len)], ConstValue::Int(0));
        b.store(out, vec![range(start, len)], xs);
        b.finish()
    }

    /// `out = iota(axis 0) * 100 + iota(axis 1)` on i32 `[R, C]`, with a comparison and
    /// select: elements on the diagonal become -1.
    pub fn iota(r: u32, c: u32) -> Kernel {
        let mut b = Builder::new("iota");
        let out = b.tensor("out", DType::I32, vec![Dim::Const(r), Dim::Const(c)], true);
        b.grid(vec![GridExpr::Const(1)]);
        let ty = Type::tile(DType::I32, vec![r, c]);
        let rows = b.op(InstData::Iota { axis: 0 }, ty.clone());
        let cols = b.op(InstData::Iota { axis: 1 }, ty.clone());
        let hundred = b.full(ConstValue::Int(100), DType::I32, &[r, c]);
        let v = b.binary(BinaryOp::Mul, rows, hundred);
        let v = b.binary(BinaryOp::Add, v, cols);
        let diagonal = b.cmp(CmpOp::Eq, rows, cols);
        let minus_one = b.full(ConstValue::Int(-1), DType::I32, &[r, c]);
        let v = b.op(
            InstData::Select {
                args: [diagonal, minus_one, v],
            },
            ty,
        );
        let zero = b.i32(0);
        b.store(out, vec![range(zero, r), range(zero, c)], v);
        b.finish()
    }

    /// Every one of `N` programs stores its program id into `out[0]` (overlapping stores).
    pub fn overlapping_stores() -> Kernel {
        let mut b = Builder::new("overlapping_stores");
        let n = b.symbol("N");
        let out = b.tensor("out", DType::I32, vec![n], true);
        b.grid(vec![GridExpr::Sym(0)]);
        let pid = b.program_id(0);
        let zero = b.i32(0);
        b.store(out, vec![SliceDim::Index(zero)], pid);
        b.finish()
    }

    /// In place: `x[0] = x[0] + 1` in each of `N` programs (sequential program order).
    pub fn in_place_increment() -> Kernel {
        let mut b = Builder::new("in_place_increment");
        let n = b.symbol("N");
        let x = b.tensor("x", DType::I64, vec![n], true);
        b.grid(vec![GridExpr::Sym(0)]);
        let zero = b.i32(0);
        let v = b.load(x, vec![SliceDim::Index(zero)], ConstValue::Int(0));
        let one = b.constant(ConstValue::Int(1), DType::I64);
        let v = b.binary(BinaryOp::Add, v, one);
        b.store(x, vec![SliceDim::Index(zero)], v);
        b.finish()
    }

    /// FlashAttention-2 forward over f16 `[B, H, S, D]` (the language's target example):
    /// `block_m` query rows per program, keys and values in blocks of `block_n`, online
    /// softmax in base 2 with loop-carried `m_i`, `l_i` and `acc`.
    pub fn attention(head_dim: u32, block_m: u32, block_n: u32, causal: bool) -> Kernel {
        let (d, bm, bn) = (head_dim, block_m, block_n);
        let mut b = Builder::new("attention");
        let (sym_b, sym_h, sym_s) = (b.symbol("B"), b.symbol("H"), b.symbol("S"));
        let dims = vec![sym_b, sym_h, sym_s, Dim::Const(d)];
        let q = b.tensor("q", DType::F16, dims.clone(), false);
        let k = b.tensor("k", DType::F16, dims.clone(), false);
        let v = b.tensor("v", DType::F16, dims.clone(), false);
        let out = b.tensor("out", DType::F16, dims, true);
        let scale = b.scalar_param("scale", DType::F32);
        let batch_heads = GridExpr::Binary(
            tilec::ir::GridOp::Mul,
            Box::new(GridExpr::Sym(0)),
            Box::new(GridExpr::Sym(1)),
        );
        b.grid(vec![cdiv(2, bm as i64), batch_heads]);

        let scalar_i32 = Type::Scalar(DType::I32);
        let heads = b.op(InstData::Dim { tensor: q, dim: 1 }, scalar_i32.clone());
        let seq = b.op(InstData::Dim { tensor: q, dim: 2 }, scalar_i32);
        let pid_m = b.program_id(0);
        let pid_bh = b.program_id(1);
        let bm_c = b.i32(bm as i64);
        let start_m = b.binary(BinaryOp::Mul, pid_m, bm_c);
        let batch = b.binary(BinaryOp::Div, pid_bh, heads);
        let head = b.binary(BinaryOp::Rem, pid_bh, heads);
        let zero = b.i32(0);
        // `x[batch, head, start ..+ len, ..]`
        let rows_of = |start, len| {
            vec![
                SliceDim::Index(batch),
                SliceDim::Index(head),
                range(start, len),
                range(zero, d),
            ]
        };
        let qs = b.load(q, rows_of(start_m, bm), ConstValue::Int(0));
        let log2e = b.constant(ConstValue::Float(std::f64::consts::LOG2_E), DType::F32);
        let qk_scale = b.binary(BinaryOp::Mul, scale, log2e);
        let m_i = b.full(ConstValue::Float(f64::NEG_INFINITY), DType::F32, &[bm]);
        let l_i = b.full(ConstValue::Float(0.0), DType::F32, &[bm]);
        let acc = b.full(ConstValue::Float(0.0), DType::F32, &[bm, d]);
        let end_n = if causal {
            let end_m = b.binary(BinaryOp::Add, start_m, bm_c);
            b.binary(BinaryOp::Min, seq, end_m)
        } else {
            seq
        };
        let bn_c = b.i32(bn as i64);
        let carried = b.for_loop([zero, end_n, bn_c], &[m_i, l_i, acc], |b, start_n, c| {
            let (m_i, l_i, acc) = (c[0], c[1], c[2]);
            let ks = b.load(k, rows_of(start_n, bn), ConstValue::Int(0));
            let kt = b.op(
                InstData::Transpose { arg: ks },
                Type::tile(DType::F16, vec![d, bn]),
            );
            let zeros = b.full(ConstValue::Float(0.0), DType::F32, &[bm, bn]);
            let scores_ty = Type::tile(DType::F32, vec![bm, bn]);
            let s = b.op(
                InstData::Dot {
                    args: [qs, kt, zeros],
                },
                scores_ty,
            );
            let scale_tile = b.splat(qk_scale, &[bm, bn]);
            let mut s = b.binary(BinaryOp::Mul, s, scale_tile);
            let iota_ty = Type::tile(DType::I32, vec![bm, bn]);
            let col_index = b.op(InstData::Iota { axis: 1 }, iota_ty.clone());
            let start_tile = b.splat(start_n, &[bm, bn]);
            let cols = b.binary(BinaryOp::Add, start_tile, col_index);
            let minus_inf = b.full(ConstValue::Float(f64::NEG_INFINITY), DType::F32, &[bm, bn]);
            let seq_tile = b.splat(seq, &[bm, bn]);
            let in_range = b.cmp(CmpOp::Lt, cols, seq_tile);
            let select_ty = Type::tile(DType::F32, vec![bm, bn]);
            s = b.op(
                InstData::Select {
                    args: [in_range, s, minus_inf],
                },
                select_ty.clone(),
            );
            if causal {
                let row_index = b.op(InstData::Iota { axis: 0 }, iota_ty);
                let start_rows = b.splat(start_m, &[bm, bn]);
                let rows = b.binary(BinaryOp::Add, start_rows, row_index);
                let visible = b.cmp(CmpOp::Le, cols, rows);
                s = b.op(
                    InstData::Select {
                        args: [visible, s, minus_inf],
                    },
                    select_ty,
                );
            }
            let row_ty = Type::tile(DType::F32, vec![bm]);
            let m_s = b.op(
                InstData::Reduce {
                    op: ReduceOp::Max,
                    arg: s,
                    axis: 1,
                },
                row_ty.clone(),
            );
            let m_new = b.binary(BinaryOp::Max, m_i, m_s);
            let m_wide = b.widen(m_new, bn);
            let shifted = b.binary(BinaryOp::Sub, s, m_wide);
            let p = b.unary(UnaryOp::Exp2, shifted);
            let m_diff = b.binary(BinaryOp::Sub, m_i, m_new);
            let alpha = b.unary(UnaryOp::Exp2, m_diff);
            let p_sum = b.op(
                InstData::Reduce {
                    op: ReduceOp::Sum,
                    arg: p,
                    axis: 1,
                },
                row_ty,
            );
            let l_scaled = b.binary(BinaryOp::Mul, l_i, alpha);
            let l_new = b.binary(BinaryOp::Add, l_scaled, p_sum);
            let vs = b.load(v, rows_of(start_n, bn), ConstValue::Int(0));
            let alpha_wide = b.widen(alpha, d);
            let acc_scaled = b.binary(BinaryOp::Mul, acc, alpha_wide);
            let p16 = b.cast(p, DType::F16);
            let acc_ty = Type::tile(DType::F32, vec![bm, d]);
            let acc_new = b.op(
                InstData::Dot {
                    args: [p16, vs, acc_scaled],
                },
                acc_ty,
            );
            vec![m_new, l_new, acc_new]
        });
        let l_wide = b.widen(carried[1], d);
        let normalized = b.binary(BinaryOp::Div, carried[2], l_wide);
        let result = b.cast(normalized, DType::F16);
        b.store(out, rows_of(start_m, bm), result);
        b.finish()
    }

    /// A kernel taking `x: &f16[S, 4]`, `y: &f16[S, 4]`, `n: i32`, `scale: f32`,
    /// `flag: bool`: for argument checking (the body does nothing).
    pub fn signature() -> Kernel {
        let mut b = Builder::new("signature");
        let s = b.symbol("S");
        b.tensor("x", DType::F16, vec![s.clone(), Dim::Const(4)], false);
        b.tensor("y", DType::F16, vec![s, Dim::Const(4)], true);
        b.scalar_param("n", DType::I32);
        b.scalar_param("scale", DType::F32);
        b.scalar_param("flag", DType::I1);
        b.grid(vec![GridExpr::Sym(0)]);
        b.finish()
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

fn f16s(xs: &[f32]) -> HostTensor {
    HostTensor::new(
        vec![xs.len()],
        TensorData::F16(xs.iter().map(|&x| f16::from_f32(x)).collect()),
    )
}

fn f32s(xs: &[f32]) -> HostTensor {
    HostTensor::new(vec![xs.len()], TensorData::F32(xs.to_vec()))
}

fn zeros(data: TensorData, shape: &[usize]) -> ArgValue {
    ArgValue::Tensor(HostTensor::new(shape.to_vec(), data))
}

fn tensor(arg: &ArgValue) -> &HostTensor {
    match arg {
        ArgValue::Tensor(t) => t,
        other => panic!("expected a tensor argument, got {other:?}"),
    }
}

fn f32_data(arg: &ArgValue) -> Vec<f32> {
    match &tensor(arg).data {
        TensorData::F32(v) => v.clone(),
        other => panic!("expected f32 data, got {other:?}"),
    }
}

fn run_ok(kernel: &Kernel, args: &mut [ArgValue]) {
    if let Err(e) = run(kernel, args) {
        panic!("interpreter failed on `{}`: {e}", kernel.name);
    }
}

/// The runtime error of a kernel that must fail at run time.
fn runtime_error(kernel: &Kernel, args: &mut [ArgValue]) -> String {
    match run(kernel, args) {
        Err(InterpError::Runtime(m)) => m,
        other => panic!(
            "expected a runtime error from `{}`, got {other:?}",
            kernel.name
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Numerics against the host references

#[test]
fn vector_add_f16_with_ragged_tail_rounds_each_sum() {
    let n = 1000;
    let kernel = kernels::vector_add(tilec::ir::DType::F16, 64);
    let mut rng = Rng::new(1);
    let (x, y) = (rng.f16_tensor(&[n]), rng.f16_tensor(&[n]));
    let expected: Vec<f16> = reference::vector_add(&x.data.to_f64(), &y.data.to_f64())
        .into_iter()
        .map(f16::from_f64)
        .collect();
    let mut args = [
        ArgValue::Tensor(x),
        ArgValue::Tensor(y),
        zeros(TensorData::F16(vec![f16::NAN; n]), &[n]),
    ];
    run_ok(&kernel, &mut args);
    // The exact sum of two f16 values rounded once to f16: exactly what f16 addition gives.
    assert_eq!(tensor(&args[2]).data, TensorData::F16(expected));
}

#[test]
fn softmax_rows_match_reference() {
    let (rows, cols) = (10, 64);
    let kernel = kernels::softmax(4, cols as u32);
    let x = Rng::new(2).f32_tensor(&[rows, cols]);
    let expected = reference::softmax(&x.data.to_f64(), rows, cols);
    let mut args = [
        ArgValue::Tensor(x),
        zeros(TensorData::F32(vec![0.0; rows * cols]), &[rows, cols]),
    ];
    run_ok(&kernel, &mut args);
    let out = tensor(&args[1]).data.to_f64();
    let err = rel_error(&out, &expected);
    assert!(err < 1e-6, "softmax relative error {err}");
}

#[test]
fn dot_of_f16_and_bf16_tiles_matches_reference() {
    use tilec::ir::DType;
    let (m, k, n) = (32, 64, 16);
    for dtype in [DType::F16, DType::BF16] {
        let kernel = kernels::matmul(dtype, m as u32, k as u32, n as u32);
        let mut rng = Rng::new(3);
        let (a, b) = match dtype {
            DType::F16 => (rng.f16_tensor(&[m, k]), rng.f16_tensor(&[k, n])),
            _ => (rng.bf16_tensor(&[m, k]), rng.bf16_tensor(&[k, n])),
        };
        let expected = reference::matmul(&a.data.to_f64(), &b.data.to_f64(), m, k, n);
        let mut args = [
            ArgValue::Tensor(a),
            ArgValue::Tensor(b),
            zeros(TensorData::F32(vec![0.0; m * n]), &[m, n]),
        ];
        run_ok(&kernel, &mut args);
        let out = tensor(&args[2]).data.to_f64();
        // Exact products summed in f64 then rounded once to f32: within f32 rounding.
        let err = rel_error(&out, &expected);
        assert!(err < 1e-7, "{dtype} dot relative error {err}");
    }
}

#[test]
fn attention_matches_reference() {
    let (batch, heads, seq, d) = (1, 2, 200, 64);
    let scale = 1.0 / (d as f64).sqrt();
    for causal in [false, true] {
        let kernel = kernels::attention(d as u32, 64, 32, causal);
        let mut rng = Rng::new(4);
        let shape = [batch, heads, seq, d];
        let (q, k, v) = (
            rng.f16_tensor(&shape),
            rng.f16_tensor(&shape),
            rng.f16_tensor(&shape),
        );
        let expected = reference::attention(
            &q.data.to_f64(),
            &k.data.to_f64(),
            &v.data.to_f64(),
            batch,
            heads,
            seq,
            d,
            scale,
            causal,
        );
        let count = shape.iter().product();
        let mut args = [
            ArgValue::Tensor(q),
            ArgValue::Tensor(k),
            ArgValue::Tensor(v),
            zeros(TensorData::F16(vec![f16::NAN; count]), &shape),
            ArgValue::Float(scale),
        ];
        run_ok(&kernel, &mut args);
        let out = tensor(&args[3]).data.to_f64();
        // f16 rounding of p and of the output bound the error.
        let err = rel_error(&out, &expected);
        assert!(
            err < 2e-3,
            "attention (causal: {causal}) relative error {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Exact semantics

#[test]
fn for_loop_carries_values() {
    let kernel = kernels::loop_carried();
    let run_loop = |lower: i64, upper: i64, step: i64| {
        let mut args = [
            ArgValue::Int(lower),
            ArgValue::Int(upper),
            ArgValue::Int(step),
            zeros(TensorData::I32(vec![-7]), &[1]),
            zeros(TensorData::F32(vec![-7.0; 4]), &[4]),
        ];
        run_ok(&kernel, &mut args);
        (tensor(&args[3]).data.clone(), f32_data(&args[4]))
    };
    // iv = 1, 4, 7: s = 12; three iterations of t = 2t + 1 from 0: 7.
    assert_eq!(
        run_loop(1, 10, 3),
        (TensorData::I32(vec![12]), vec![7.0; 4])
    );
    // Zero iterations: the results are the initial values.
    assert_eq!(run_loop(5, 5, 1), (TensorData::I32(vec![0]), vec![0.0; 4]));
    assert_eq!(run_loop(5, -3, 2), (TensorData::I32(vec![0]), vec![0.0; 4]));
}

#[test]
fn for_loop_rejects_non_positive_step() {
    let kernel = kernels::loop_carried();
    let mut args = [
        ArgValue::Int(0),
        ArgValue::Int(10),
        ArgValue::Int(0),
        zeros(TensorData::I32(vec![0]), &[1]),
        zeros(TensorData::F32(vec![0.0; 4]), &[4]),
    ];
    let message = runtime_error(&kernel, &mut args);
    assert!(message.contains("step 0 is not positive"), "{message}");
}

#[test]
fn if_runs_the_taken_branch() {
    let kernel = kernels::branch();
    for (flag, expected) in [(true, 42), (false, 121)] {
        let mut args = [
            ArgValue::Bool(flag),
            ArgValue::Int(21),
            zeros(TensorData::I32(vec![0]), &[1]),
        ];
        run_ok(&kernel, &mut args);
        assert_eq!(tensor(&args[2]).data, TensorData::I32(vec![expected]));
    }
}

/// Inputs whose casts hit rounding ties, overflow, saturation, truncation and NaN.
const CAST_INPUTS: [f32; 8] = [
    1.0 + 1.0 / 2048.0, // f16 tie: rounds to even (1.0)
    1.0 + 3.0 / 2048.0, // f16 tie: rounds to even (1 + 2^-9)
    65520.0,            // f16: rounds up to infinity
    1.0 + 1.0 / 256.0,  // bf16 tie: 1.0
    -2.7,               // int: truncates to -2
    3.0e9,              // i32: saturates
    f32::NAN,           // int: 0
    -1.0e10,            // i32: saturates low
];

fn cast_to(to: tilec::ir::DType, out: TensorData) -> TensorData {
    let kernel = kernels::cast(to, CAST_INPUTS.len() as u32);
    let mut args = [
        ArgValue::Tensor(f32s(&CAST_INPUTS)),
        zeros(out, &[CAST_INPUTS.len()]),
    ];
    run_ok(&kernel, &mut args);
    tensor(&args[1]).data.clone()
}

#[test]
fn casts_round_truncate_and_saturate() {
    use tilec::ir::DType;
    let TensorData::F16(h) = cast_to(DType::F16, TensorData::F16(vec![f16::ZERO; 8])) else {
        panic!("f16 output");
    };
    assert_eq!(h[0].to_f32(), 1.0);
    assert_eq!(h[1].to_f32(), 1.0 + 1.0 / 512.0);
    assert_eq!(h[2], f16::INFINITY);
    assert_eq!(h[4].to_f32(), f16::from_f32(-2.7).to_f32());
    assert!(h[6].is_nan());
    let TensorData::BF16(b) = cast_to(DType::BF16, TensorData::BF16(vec![bf16::ZERO; 8])) else {
        panic!("bf16 output");
    };
    assert_eq!(b[3].to_f32(), 1.0);
    assert_eq!(
        cast_to(DType::I32, TensorData::I32(vec![0; 8])),
        TensorData::I32(vec![1, 1, 65520, 1, -2, i32::MAX, 0, i32::MIN])
    );
    assert_eq!(
        cast_to(DType::I1, TensorData::I1(vec![false; 8])),
        TensorData::I1(vec![true; 8])
    );
}

#[test]
fn f16_arithmetic_rounds_after_each_op() {
    use tilec::ir::{BinaryOp, DType};
    let kernel = kernels::binary(BinaryOp::Add, DType::F16, 4);
    let x = f16s(&[1.0, 1.0, 2048.0, 65504.0]);
    let y = f16s(&[1.0 / 2048.0, 3.0 / 2048.0, 1.0, 65504.0]);
    let mut args = [
        ArgValue::Tensor(x),
        ArgValue::Tensor(y),
        zeros(TensorData::F16(vec![f16::ZERO; 4]), &[4]),
    ];
    run_ok(&kernel, &mut args);
    // Ties to even at 1 and at 2048 (f16 spacing 2 there); overflow to infinity.
    assert_eq!(
        tensor(&args[2]).data.to_f64(),
        [1.0, 1.0 + 1.0 / 512.0, 2048.0, f64::INFINITY]
    );
}

#[test]
fn bf16_arithmetic_rounds_after_each_op() {
    use tilec::ir::{BinaryOp, DType};
    let bf16s = |xs: &[f32]| {
        ArgValue::Tensor(HostTensor::new(
            vec![xs.len()],
            TensorData::BF16(xs.iter().map(|&x| bf16::from_f32(x)).collect()),
        ))
    };
    let kernel = kernels::binary(BinaryOp::Add, DType::BF16, 2);
    let mut args = [
        bf16s(&[1.0, 1.0]),
        bf16s(&[1.0 / 256.0, 3.0 / 256.0]),
        bf16s(&[0.0, 0.0]),
    ];
    run_ok(&kernel, &mut args);
    // bf16 spacing at 1 is 2^-7: both sums are ties, rounded to the even neighbour.
    assert_eq!(tensor(&args[2]).data.to_f64(), [1.0, 1.0 + 1.0 / 64.0]);
}

#[test]
fn unary_ops_compute_in_f32_and_round() {
    use tilec::ir::{DType, UnaryOp};
    let inputs = [1.0f32, 0.5, 2.0, 3.0];
    for (op, f) in [
        (UnaryOp::Exp, f32::exp as fn(f32) -> f32),
        (UnaryOp::Log2, f32::log2),
        (UnaryOp::Sqrt, f32::sqrt),
        (UnaryOp::Rsqrt, |x: f32| 1.0 / x.sqrt()),
        (UnaryOp::Neg, |x: f32| -x),
    ] {
        let kernel = kernels::unary(op, DType::F16, 4);
        let mut args = [
            ArgValue::Tensor(f16s(&inputs)),
            zeros(TensorData::F16(vec![f16::ZERO; 4]), &[4]),
        ];
        run_ok(&kernel, &mut args);
        let expected: Vec<f16> = inputs.iter().map(|&x| f16::from_f32(f(x))).collect();
        assert_eq!(tensor(&args[1]).data, TensorData::F16(expected), "{op}");
    }
}

#[test]
fn program_ids_and_grid_extents() {
    let kernel = kernels::grid_ids();
    let mut args = [zeros(TensorData::I32(vec![0; 6]), &[2, 3])];
    run_ok(&kernel, &mut args);
    let expected: Vec<i32> = (0..2)
        .flat_map(|y| (0..3).map(move |x| x + 10 * y + 100 * 3 + 1000 * 2))
        .collect();
    assert_eq!(tensor(&args[0]).data, TensorData::I32(expected));
}

#[test]
fn the_lowest_failing_program_is_reported_and_nothing_is_stored() {
    let kernel = kernels::failing_programs();
    let mut args = [zeros(TensorData::I32(vec![7; 64]), &[64])];
    let message = runtime_error(&kernel, &mut args);
    assert!(message.starts_with("program (1, 0, 0):"), "{message}");
    assert!(message.contains("division by zero"), "{message}");
    assert_eq!(tensor(&args[0]).data, TensorData::I32(vec![7; 64]));
}

#[test]
fn store_to_read_only_tensor_fails() {
    let kernel = kernels::store_to_read_only();
    let mut args = [zeros(TensorData::I32(vec![0]), &[1])];
    let message = runtime_error(&kernel, &mut args);
    assert!(message.contains("read-only"), "{message}");
}

#[test]
fn integer_arithmetic_wraps_and_division_by_zero_fails() {
    use tilec::ir::{BinaryOp, DType};
    let ints =
        |xs: &[i32]| ArgValue::Tensor(HostTensor::new(vec![4], TensorData::I32(xs.to_vec())));
    let case = |op: BinaryOp, x: &[i32], y: &[i32]| {
        let kernel = kernels::binary(op, DType::I32, 4);
        let mut args = [ints(x), ints(y), ints(&[0; 4])];
        run(&kernel, &mut args).map(|()| tensor(&args[2]).data.clone())
    };
    assert_eq!(
        case(BinaryOp::Add, &[i32::MAX, -1, 5, i32::MIN], &[1, 1, -9, -1]),
        Ok(TensorData::I32(vec![i32::MIN, 0, -4, i32::MAX]))
    );
    assert_eq!(
        case(BinaryOp::Div, &[7, -7, i32::MIN, 9], &[2, 2, -1, -3]),
        Ok(TensorData::I32(vec![3, -3, i32::MIN, -3]))
    );
    assert_eq!(
        case(BinaryOp::Rem, &[7, -7, i32::MIN, 9], &[2, 2, -1, -4]),
        Ok(TensorData::I32(vec![1, -1, 0, 1]))
    );
    match case(BinaryOp::Div, &[1, 2, 3, 4], &[1, 0, 1, 1]) {
        Err(InterpError::Runtime(m)) => assert!(m.contains("division by zero"), "{m}"),
        other => panic!("expected division by zero, got {other:?}"),
    }
}

#[test]
fn reductions_sum_in_f32_and_propagate_nan() {
    use tilec::ir::{DType, ReduceOp};
    let reduce = |op: ReduceOp, dtype: DType, x: HostTensor, out: TensorData| {
        let kernel = kernels::reduce(op, dtype, x.shape[0] as u32);
        let mut args = [ArgValue::Tensor(x), zeros(out, &[1])];
        run_ok(&kernel, &mut args);
        tensor(&args[1]).data.to_f64()[0]
    };
    // 2048 + 1 + 1 + 1: each f16 addition would stay at 2048 (ties to even); the f32 sum is
    // 2051, rounded once to f16: 2052.
    let x = f16s(&[2048.0, 1.0, 1.0, 1.0]);
    assert_eq!(
        reduce(
            ReduceOp::Sum,
            DType::F16,
            x,
            TensorData::F16(vec![f16::ZERO])
        ),
        2052.0
    );
    let x = f32s(&[1.0, f32::NAN, 3.0, -1.0]);
    assert!(reduce(
        ReduceOp::Max,
        DType::F32,
        x.clone(),
        TensorData::F32(vec![0.0])
    )
    .is_nan());
    assert!(reduce(ReduceOp::Min, DType::F32, x, TensorData::F32(vec![0.0])).is_nan());
    let x = f32s(&[1.0, -5.0, 3.0, -1.0]);
    assert_eq!(
        reduce(
            ReduceOp::Max,
            DType::F32,
            x.clone(),
            TensorData::F32(vec![0.0])
        ),
        3.0
    );
    assert_eq!(
        reduce(ReduceOp::Min, DType::F32, x, TensorData::F32(vec![0.0])),
        -5.0
    );
}

#[test]
fn masked_loads_take_the_rounded_fill() {
    use tilec::ir::DType;
    let kernel = kernels::masked_load(DType::F16, 8, 0.1);
    let x = f16s(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    let m = HostTensor::new(
        vec![2, 4],
        TensorData::F16((0..8).map(|i| f16::from_f32(i as f32)).collect()),
    );
    let fill = f16::from_f64(0.1).to_f64();
    let load = |start: i64, row: i64| {
        let mut args = [
            ArgValue::Tensor(x.clone()),
            ArgValue::Tensor(m.clone()),
            ArgValue::Int(start),
            ArgValue::Int(row),
            zeros(TensorData::F16(vec![f16::NAN; 8]), &[8]),
            zeros(TensorData::F16(vec![f16::NAN; 4]), &[4]),
        ];
        run_ok(&kernel, &mut args);
        (
            tensor(&args[4]).data.to_f64(),
            tensor(&args[5]).data.to_f64(),
        )
    };
    let (out, row) = load(6, 1);
    assert_eq!(out, [6.0, 7.0, 8.0, 9.0, fill, fill, fill, fill]);
    assert_eq!(row, [4.0, 5.0, 6.0, 7.0]);
    // Negative starts and out-of-range scalar indices are masked too.
    let (out, row) = load(-3, 2);
    assert_eq!(out, [fill, fill, fill, 0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(row, [fill; 4]);
    let (_, row) = load(0, -1);
    assert_eq!(row, [fill; 4]);
}

#[test]
fn masked_stores_skip_out_of_bounds_elements() {
    let kernel = kernels::masked_store(4);
    let store = |start: i64| {
        let mut args = [
            ArgValue::Tensor(f32s(&[1.0, 2.0, 3.0, 4.0])),
            ArgValue::Tensor(f32s(&[0.0; 6])),
            ArgValue::Int(start),
        ];
        run_ok(&kernel, &mut args);
        f32_data(&args[1])
    };
    assert_eq!(store(4), [0.0, 0.0, 0.0, 0.0, 1.0, 2.0]);
    assert_eq!(store(-2), [3.0, 4.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(store(100), [0.0; 6]);
}

#[test]
fn iota_compare_and_select() {
    let kernel = kernels::iota(4, 8);
    let mut args = [zeros(TensorData::I32(vec![0; 32]), &[4, 8])];
    run_ok(&kernel, &mut args);
    let expected: Vec<i32> = (0..4)
        .flat_map(|r| (0..8).map(move |c| if r == c { -1 } else { r * 100 + c }))
        .collect();
    assert_eq!(tensor(&args[0]).data, TensorData::I32(expected));
}

#[test]
fn overlapping_stores_apply_in_program_order() {
    let kernel = kernels::overlapping_stores();
    let mut args = [zeros(TensorData::I32(vec![-1; 100]), &[100])];
    run_ok(&kernel, &mut args);
    let TensorData::I32(out) = &tensor(&args[0]).data else {
        panic!("i32 output");
    };
    assert_eq!(out[0], 99);
}

#[test]
fn in_place_kernels_see_earlier_stores() {
    let kernel = kernels::in_place_increment();
    let mut args = [zeros(TensorData::I64(vec![10; 50]), &[50])];
    run_ok(&kernel, &mut args);
    let TensorData::I64(out) = &tensor(&args[0]).data else {
        panic!("i64 output");
    };
    assert_eq!(out[0], 60);
}

// ---------------------------------------------------------------------------------------
// Argument checking

#[test]
fn argument_mismatches_are_reported() {
    let kernel = kernels::signature();
    let f16_tensor = |shape: &[usize]| {
        ArgValue::Tensor(HostTensor::new(
            shape.to_vec(),
            TensorData::F16(vec![f16::ZERO; shape.iter().product()]),
        ))
    };
    let good = || {
        vec![
            f16_tensor(&[3, 4]),
            f16_tensor(&[3, 4]),
            ArgValue::Int(1),
            ArgValue::Float(0.5),
            ArgValue::Bool(true),
        ]
    };
    let mut args = good();
    run_ok(&kernel, &mut args);

    let with = |index: usize, arg: ArgValue| {
        let mut args = good();
        args[index] = arg;
        args
    };
    let cases: Vec<(&str, Vec<ArgValue>)> = vec![
        ("too few arguments", good()[..4].to_vec()),
        ("wrong dtype", with(0, ArgValue::Tensor(f32s(&[0.0; 12])))),
        ("wrong rank", with(0, f16_tensor(&[12]))),
        ("const dim mismatch", with(0, f16_tensor(&[3, 5]))),
        ("shape symbol disagrees", with(1, f16_tensor(&[2, 4]))),
        (
            "data length mismatch",
            with(
                0,
                ArgValue::Tensor(HostTensor::new(
                    vec![3, 4],
                    TensorData::F16(vec![f16::ZERO; 5]),
                )),
            ),
        ),
        ("float for an int", with(2, ArgValue::Float(1.0))),
        ("int out of i32 range", with(2, ArgValue::Int(1 << 40))),
        ("int for a float", with(3, ArgValue::Int(1))),
        ("tensor for a scalar", with(4, f16_tensor(&[3, 4]))),
        ("scalar for a tensor", with(1, ArgValue::Bool(false))),
    ];
    let mut report = String::new();
    for (what, mut args) in cases {
        match run(&kernel, &mut args) {
            Err(InterpError::BadArguments(m)) => report.push_str(&format!("{what}: {m}\n")),
            other => panic!("{what}: expected BadArguments, got {other:?}"),
        }
    }
    insta::assert_snapshot!(report);
}
