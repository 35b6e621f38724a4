//! PTX harness: kernels through the passes and code generation, for sm_80 and sm_90a.
//!
//! [`check`] runs one kernel through `tilec::passes::run` and `tilec::codegen::compile` for
//! both targets, snapshots the layouts the layout pass chose and the PTX, and has ptxas
//! assemble the PTX (`tilec_tests::ptxas`). The kernels mirror `dsl-examples/*.tile`; they
//! are built in code until the front end (sema) lands, then they come from the examples.

use tilec::codegen::{self, CodegenError, CodegenOptions, GpuTarget};
use tilec::ir::{
    BinaryOp, Block, CmpOp, ConstValue, DType, Dim, InstData, Kernel, ReduceOp, SliceDim,
    TensorType, Type, UnaryOp, Value, ValueList,
};
use tilec::passes::{self, PassOptions};

const NUM_WARPS: u32 = 4;

/// Builds kernels in tile IR, the way lowering would (explicit splats and broadcasts).
struct Builder {
    k: Kernel,
    cur: Block,
}

impl Builder {
    fn new(name: &str) -> Self {
        let k = Kernel::new(name);
        let cur = k.entry;
        Builder { k, cur }
    }
    fn sym(&mut self, name: &str) -> Dim {
        let i = match self.k.symbols.iter().position(|s| s == name) {
            Some(i) => i,
            None => {
                self.k.symbols.push(name.to_string());
                self.k.symbols.len() - 1
            }
        };
        Dim::Sym(i as u32)
    }
    fn tensor(&mut self, name: &str, dtype: DType, dims: Vec<Dim>, mutable: bool) -> Value {
        self.k.add_param(
            name,
            Type::Tensor(TensorType {
                dtype,
                dims,
                mutable,
            }),
        )
    }
    fn scalar_param(&mut self, name: &str, dtype: DType) -> Value {
        self.k.add_param(name, Type::Scalar(dtype))
    }
    fn constant(&mut self, name: &str, value: i64) -> u32 {
        self.k
            .consts
            .push((name.to_string(), ConstValue::Int(value)));
        value as u32
    }
    fn push(&mut self, data: InstData, ty: Type) -> Value {
        let i = self.k.append_inst(self.cur, data, &[ty]);
        self.k.result(i)
    }
    fn ty(&self, v: Value) -> Type {
        self.k.value_type(v).clone()
    }
    fn shape(&self, v: Value) -> Vec<u32> {
        self.k
            .value_type(v)
            .shape()
            .map(|s| s.to_vec())
            .unwrap_or_default()
    }
    fn i32(&mut self, c: i64) -> Value {
        self.push(
            InstData::Const {
                value: ConstValue::Int(c),
            },
            Type::Scalar(DType::I32),
        )
    }
    fn f32(&mut self, x: f64) -> Value {
        self.push(
            InstData::Const {
                value: ConstValue::Float(x),
            },
            Type::Scalar(DType::F32),
        )
    }
    fn program_id(&mut self, axis: u8) -> Value {
        self.push(InstData::ProgramId { axis }, Type::Scalar(DType::I32))
    }
    fn dim(&mut self, tensor: Value, dim: u8) -> Value {
        self.push(InstData::Dim { tensor, dim }, Type::Scalar(DType::I32))
    }
    /// `v` as a tile of `shape`: splat of a scalar, broadcast of size-1 dims.
    fn fit(&mut self, v: Value, shape: &[u32]) -> Value {
        match self.ty(v) {
            Type::Scalar(d) => self.push(InstData::Splat { arg: v }, Type::tile(d, shape.to_vec())),
            Type::Tile(t) if t.shape != shape => self.push(
                InstData::Broadcast { arg: v },
                Type::tile(t.dtype, shape.to_vec()),
            ),
            _ => v,
        }
    }
    /// The common shape of element-wise operands (the first tile's, stretched).
    fn common(&self, vals: &[Value]) -> Vec<u32> {
        let mut shape: Vec<u32> = Vec::new();
        for &v in vals {
            let s = self.shape(v);
            if shape.is_empty() {
                shape = s;
            } else if !s.is_empty() {
                shape = shape.iter().zip(&s).map(|(&a, &b)| a.max(b)).collect();
            }
        }
        shape
    }
    fn bin(&mut self, op: BinaryOp, a: Value, b: Value) -> Value {
        let shape = self.common(&[a, b]);
        let (a, b) = if shape.is_empty() {
            (a, b)
        } else {
            (self.fit(a, &shape), self.fit(b, &shape))
        };
        let ty = self.ty(a);
        self.push(InstData::Binary { op, args: [a, b] }, ty)
    }
    fn cmp(&mut self, op: CmpOp, a: Value, b: Value) -> Value {
        let shape = self.common(&[a, b]);
        let (a, b) = if shape.is_empty() {
            (a, b)
        } else {
            (self.fit(a, &shape), self.fit(b, &shape))
        };
        let ty = self.ty(a).with_dtype(DType::I1);
        self.push(InstData::Cmp { op, args: [a, b] }, ty)
    }
    fn select(&mut self, c: Value, a: Value, b: Value) -> Value {
        let shape = self.common(&[c, a, b]);
        let (c, a, b) = (
            self.fit(c, &shape),
            self.fit(a, &shape),
            self.fit(b, &shape),
        );
        let ty = self.ty(a);
        self.push(InstData::Select { args: [c, a, b] }, ty)
    }
    fn unary(&mut self, op: UnaryOp, a: Value) -> Value {
        let ty = self.ty(a);
        self.push(InstData::Unary { op, arg: a }, ty)
    }
    fn cast(&mut self, a: Value, dtype: DType) -> Value {
        let ty = self.ty(a).with_dtype(dtype);
        self.push(InstData::Cast { arg: a }, ty)
    }
    fn full(&mut self, shape: &[u32], x: f64) -> Value {
        let c = self.f32(x);
        self.fit(c, shape)
    }
    fn expand(&mut self, a: Value, axis: u8) -> Value {
        let mut shape = self.shape(a);
        shape.insert(axis as usize, 1);
        let d = self.ty(a).dtype();
        self.push(InstData::ExpandDims { arg: a, axis }, Type::tile(d, shape))
    }
    fn iota(&mut self, shape: &[u32], axis: u8) -> Value {
        self.push(
            InstData::Iota { axis },
            Type::tile(DType::I32, shape.to_vec()),
        )
    }
    fn reduce(&mut self, op: ReduceOp, a: Value, axis: u8) -> Value {
        let mut shape = self.shape(a);
        shape.remove(axis as usize);
        let d = self.ty(a).dtype();
        let ty = if shape.is_empty() {
            Type::Scalar(d)
        } else {
            Type::tile(d, shape)
        };
        self.push(InstData::Reduce { op, arg: a, axis }, ty)
    }
    fn transpose(&mut self, a: Value) -> Value {
        let shape: Vec<u32> = self.shape(a).into_iter().rev().collect();
        let d = self.ty(a).dtype();
        self.push(InstData::Transpose { arg: a }, Type::tile(d, shape))
    }
    fn dot(&mut self, a: Value, b: Value, acc: Option<Value>) -> Value {
        let shape = vec![self.shape(a)[0], self.shape(b)[1]];
        let acc = match acc {
            Some(acc) => acc,
            None => self.full(&shape, 0.0),
        };
        self.push(
            InstData::Dot { args: [a, b, acc] },
            Type::tile(DType::F32, shape),
        )
    }
    fn load(&mut self, tensor: Value, dims: Vec<SliceDim>, fill: f64) -> Value {
        let d = self.ty(tensor).dtype();
        let shape: Vec<u32> = dims
            .iter()
            .filter_map(|s| match s {
                SliceDim::Range { len, .. } => Some(*len),
                SliceDim::Index(_) => None,
            })
            .collect();
        let ty = if shape.is_empty() {
            Type::Scalar(d)
        } else {
            Type::tile(d, shape)
        };
        let fill = if d.is_float() {
            ConstValue::Float(fill)
        } else {
            ConstValue::Int(fill as i64)
        };
        self.push(InstData::Load { tensor, dims, fill }, ty)
    }
    fn store(&mut self, tensor: Value, dims: Vec<SliceDim>, value: Value) {
        self.k.append_inst(
            self.cur,
            InstData::Store {
                tensor,
                dims,
                value,
            },
            &[],
        );
    }
    /// `for iv in range(lo, hi, step)` carrying `init`; `body` returns the next values.
    fn for_loop(
        &mut self,
        [lo, hi, step]: [Value; 3],
        init: &[Value],
        body: impl FnOnce(&mut Self, Value, &[Value]) -> Vec<Value>,
    ) -> Vec<Value> {
        let block = self.k.create_block();
        let iv = self
            .k
            .append_block_param(block, Type::Scalar(DType::I32), Some("iv".into()));
        let params: Vec<Value> = init
            .iter()
            .map(|&v| {
                let ty = self.ty(v);
                self.k.append_block_param(block, ty, None)
            })
            .collect();
        let outer = std::mem::replace(&mut self.cur, block);
        let next = body(self, iv, &params);
        self.k.append_inst(
            block,
            InstData::Yield {
                args: next.into_iter().collect(),
            },
            &[],
        );
        self.cur = outer;
        let types: Vec<Type> = init.iter().map(|&v| self.ty(v)).collect();
        let inst = self.k.append_inst(
            self.cur,
            InstData::For {
                lower: lo,
                upper: hi,
                step,
                init: init.iter().copied().collect::<ValueList>(),
                body: block,
            },
            &types,
        );
        self.k.inst_results(inst).to_vec()
    }
    fn finish(mut self) -> Kernel {
        self.k.append_inst(self.cur, InstData::Return, &[]);
        self.k
    }
}

fn range(start: Value, len: u32) -> SliceDim {
    SliceDim::Range { start, len }
}

fn vector_add() -> Kernel {
    let mut b = Builder::new("vector_add");
    let n = b.sym("N");
    let x = b.tensor("x", DType::F32, vec![n.clone()], false);
    let y = b.tensor("y", DType::F32, vec![n.clone()], false);
    let out = b.tensor("out", DType::F32, vec![n], true);
    let block = b.constant("BLOCK", 1024);
    let pid = b.program_id(0);
    let bs = b.i32(block as i64);
    let start = b.bin(BinaryOp::Mul, pid, bs);
    let xs = b.load(x, vec![range(start, block)], 0.0);
    let ys = b.load(y, vec![range(start, block)], 0.0);
    let sum = b.bin(BinaryOp::Add, xs, ys);
    b.store(out, vec![range(start, block)], sum);
    b.finish()
}

fn softmax() -> Kernel {
    let mut b = Builder::new("softmax");
    let (m, n) = (b.sym("M"), b.sym("N"));
    let x = b.tensor("x", DType::F16, vec![m.clone(), n.clone()], false);
    let out = b.tensor("out", DType::F16, vec![m, n], true);
    let bm = b.constant("BLOCK_M", 4);
    let bn = b.constant("BLOCK_N", 256);
    let pid = b.program_id(0);
    let bmv = b.i32(bm as i64);
    let rows = b.bin(BinaryOp::Mul, pid, bmv);
    let m0 = b.full(&[bm], f64::NEG_INFINITY);
    let l0 = b.full(&[bm], 0.0);
    let (zero, ncols, step) = (b.i32(0), b.dim(x, 1), b.i32(bn as i64));
    let ml = b.for_loop([zero, ncols, step], &[m0, l0], |b, c, carried| {
        let (m, l) = (carried[0], carried[1]);
        let xs = b.load(x, vec![range(rows, bm), range(c, bn)], f64::NEG_INFINITY);
        let xs = b.cast(xs, DType::F32);
        let rowmax = b.reduce(ReduceOp::Max, xs, 1);
        let m_new = b.bin(BinaryOp::Max, m, rowmax);
        let dm = b.bin(BinaryOp::Sub, m, m_new);
        let alpha = b.unary(UnaryOp::Exp, dm);
        let scaled = b.bin(BinaryOp::Mul, l, alpha);
        let me = b.expand(m_new, 1);
        let centered = b.bin(BinaryOp::Sub, xs, me);
        let e = b.unary(UnaryOp::Exp, centered);
        let s = b.reduce(ReduceOp::Sum, e, 1);
        let l_new = b.bin(BinaryOp::Add, scaled, s);
        vec![m_new, l_new]
    });
    let (m, l) = (ml[0], ml[1]);
    b.for_loop([zero, ncols, step], &[], |b, c, _| {
        let xs = b.load(x, vec![range(rows, bm), range(c, bn)], f64::NEG_INFINITY);
        let xs = b.cast(xs, DType::F32);
        let me = b.expand(m, 1);
        let centered = b.bin(BinaryOp::Sub, xs, me);
        let e = b.unary(UnaryOp::Exp, centered);
        let le = b.expand(l, 1);
        let y = b.bin(BinaryOp::Div, e, le);
        let y = b.cast(y, DType::F16);
        b.store(out, vec![range(rows, bm), range(c, bn)], y);
        vec![]
    });
    b.finish()
}

fn layernorm() -> Kernel {
    let mut b = Builder::new("layernorm");
    let (m, n) = (b.sym("M"), b.sym("N"));
    let x = b.tensor("x", DType::F16, vec![m.clone(), n.clone()], false);
    let w = b.tensor("weight", DType::F32, vec![n.clone()], false);
    let bias = b.tensor("bias", DType::F32, vec![n.clone()], false);
    let out = b.tensor("out", DType::F16, vec![m, n], true);
    let eps = b.scalar_param("eps", DType::F32);
    let bm = b.constant("BLOCK_M", 4);
    let bn = b.constant("BLOCK_N", 256);
    let pid = b.program_id(0);
    let bmv = b.i32(bm as i64);
    let rows = b.bin(BinaryOp::Mul, pid, bmv);
    let ncols = b.dim(x, 1);
    let nf = b.cast(ncols, DType::F32);
    let (zero, step) = (b.i32(0), b.i32(bn as i64));
    let t0 = b.full(&[bm], 0.0);
    let total = b.for_loop([zero, ncols, step], &[t0], |b, c, carried| {
        let xs = b.load(x, vec![range(rows, bm), range(c, bn)], 0.0);
        let xs = b.cast(xs, DType::F32);
        let s = b.reduce(ReduceOp::Sum, xs, 1);
        vec![b.bin(BinaryOp::Add, carried[0], s)]
    })[0];
    let mean = b.bin(BinaryOp::Div, total, nf);
    let sq = b.for_loop([zero, ncols, step], &[t0], |b, c, carried| {
        let xs = b.load(x, vec![range(rows, bm), range(c, bn)], 0.0);
        let xs = b.cast(xs, DType::F32);
        let io = b.iota(&[bm, bn], 1);
        let cols = b.bin(BinaryOp::Add, c, io);
        let inside = b.cmp(CmpOp::Lt, cols, ncols);
        let me = b.expand(mean, 1);
        let diff = b.bin(BinaryOp::Sub, xs, me);
        let zero_f = b.f32(0.0);
        let d = b.select(inside, diff, zero_f);
        let d2 = b.bin(BinaryOp::Mul, d, d);
        let s = b.reduce(ReduceOp::Sum, d2, 1);
        vec![b.bin(BinaryOp::Add, carried[0], s)]
    })[0];
    let var = b.bin(BinaryOp::Div, sq, nf);
    let ve = b.bin(BinaryOp::Add, var, eps);
    let rstd = b.unary(UnaryOp::Rsqrt, ve);
    b.for_loop([zero, ncols, step], &[], |b, c, _| {
        let xs = b.load(x, vec![range(rows, bm), range(c, bn)], 0.0);
        let xs = b.cast(xs, DType::F32);
        let wl = b.load(w, vec![range(c, bn)], 0.0);
        let wv = b.expand(wl, 0);
        let bl = b.load(bias, vec![range(c, bn)], 0.0);
        let bv = b.expand(bl, 0);
        let me = b.expand(mean, 1);
        let centered = b.bin(BinaryOp::Sub, xs, me);
        let re = b.expand(rstd, 1);
        let normed = b.bin(BinaryOp::Mul, centered, re);
        let scaled = b.bin(BinaryOp::Mul, normed, wv);
        let y = b.bin(BinaryOp::Add, scaled, bv);
        let y = b.cast(y, DType::F16);
        b.store(out, vec![range(rows, bm), range(c, bn)], y);
        vec![]
    });
    b.finish()
}

fn matmul(block_m: i64, block_n: i64, block_k: i64) -> Kernel {
    let mut b = Builder::new("matmul");
    let (m, n, k) = (b.sym("M"), b.sym("N"), b.sym("K"));
    let a = b.tensor("a", DType::F16, vec![m.clone(), k.clone()], false);
    let bt = b.tensor("b", DType::F16, vec![k, n.clone()], false);
    let c = b.tensor("c", DType::F16, vec![m, n], true);
    let bm = b.constant("BLOCK_M", block_m);
    let bn = b.constant("BLOCK_N", block_n);
    let bk = b.constant("BLOCK_K", block_k);
    let (p0, p1) = (b.program_id(0), b.program_id(1));
    let (bmv, bnv) = (b.i32(bm as i64), b.i32(bn as i64));
    let m0 = b.bin(BinaryOp::Mul, p0, bmv);
    let n0 = b.bin(BinaryOp::Mul, p1, bnv);
    let acc0 = b.full(&[bm, bn], 0.0);
    let (zero, kdim, step) = (b.i32(0), b.dim(a, 1), b.i32(bk as i64));
    let acc = b.for_loop([zero, kdim, step], &[acc0], |b, k0, carried| {
        let at = b.load(a, vec![range(m0, bm), range(k0, bk)], 0.0);
        let btile = b.load(bt, vec![range(k0, bk), range(n0, bn)], 0.0);
        vec![b.dot(at, btile, Some(carried[0]))]
    })[0];
    let c16 = b.cast(acc, DType::F16);
    b.store(c, vec![range(m0, bm), range(n0, bn)], c16);
    b.finish()
}

fn attention() -> Kernel {
    let mut b = Builder::new("attention");
    let (bsym, hsym, ssym) = (b.sym("B"), b.sym("H"), b.sym("S"));
    let hd = 64u32;
    let dims = vec![bsym, hsym, ssym, Dim::Const(hd)];
    let q = b.tensor("q", DType::F16, dims.clone(), false);
    let k = b.tensor("k", DType::F16, dims.clone(), false);
    let v = b.tensor("v", DType::F16, dims.clone(), false);
    let out = b.tensor("out", DType::F16, dims, true);
    let scale = b.scalar_param("scale", DType::F32);
    b.constant("HEAD_DIM", hd as i64);
    let bm = b.constant("BLOCK_M", 128);
    let bn = b.constant("BLOCK_N", 64);
    let (p0, p1) = (b.program_id(0), b.program_id(1));
    let bmv = b.i32(bm as i64);
    let start_m = b.bin(BinaryOp::Mul, p0, bmv);
    let h_ext = b.dim(q, 1);
    let bi = b.bin(BinaryOp::Div, p1, h_ext);
    let hi = b.bin(BinaryOp::Rem, p1, h_ext);
    let zero = b.i32(0);
    let slice = |start: Value, len: u32| {
        vec![
            SliceDim::Index(bi),
            SliceDim::Index(hi),
            range(start, len),
            range(zero, hd),
        ]
    };
    let qs = b.load(q, slice(start_m, bm), 0.0);
    let log2e = b.f32(std::f64::consts::LOG2_E);
    let qk_scale = b.bin(BinaryOp::Mul, scale, log2e);
    let m0 = b.full(&[bm], f64::NEG_INFINITY);
    let l0 = b.full(&[bm], 0.0);
    let acc0 = b.full(&[bm, hd], 0.0);
    let (s_ext, step) = (b.dim(q, 2), b.i32(bn as i64));
    let res = b.for_loop(
        [zero, s_ext, step],
        &[m0, l0, acc0],
        |b, start_n, carried| {
            let (m_i, l_i, acc) = (carried[0], carried[1], carried[2]);
            let ks = b.load(k, slice(start_n, bn), 0.0);
            let kt = b.transpose(ks);
            let qk = b.dot(qs, kt, None);
            let s = b.bin(BinaryOp::Mul, qk, qk_scale);
            let io = b.iota(&[bm, bn], 1);
            let cols = b.bin(BinaryOp::Add, start_n, io);
            let inside = b.cmp(CmpOp::Lt, cols, s_ext);
            let ninf = b.f32(f64::NEG_INFINITY);
            let s = b.select(inside, s, ninf);
            let rowmax = b.reduce(ReduceOp::Max, s, 1);
            let m_new = b.bin(BinaryOp::Max, m_i, rowmax);
            let me = b.expand(m_new, 1);
            let centered = b.bin(BinaryOp::Sub, s, me);
            let p = b.unary(UnaryOp::Exp2, centered);
            let dm = b.bin(BinaryOp::Sub, m_i, m_new);
            let alpha = b.unary(UnaryOp::Exp2, dm);
            let la = b.bin(BinaryOp::Mul, l_i, alpha);
            let ps = b.reduce(ReduceOp::Sum, p, 1);
            let l_new = b.bin(BinaryOp::Add, la, ps);
            let vs = b.load(v, slice(start_n, bn), 0.0);
            let ae = b.expand(alpha, 1);
            let scaled = b.bin(BinaryOp::Mul, acc, ae);
            let p16 = b.cast(p, DType::F16);
            let pv = b.dot(p16, vs, None);
            let acc_new = b.bin(BinaryOp::Add, scaled, pv);
            vec![m_new, l_new, acc_new]
        },
    );
    let le = b.expand(res[1], 1);
    let o = b.bin(BinaryOp::Div, res[2], le);
    let o16 = b.cast(o, DType::F16);
    b.store(out, slice(start_m, bm), o16);
    b.finish()
}

/// One line per instruction that produces a tile: what it is and the layout it got.
fn layouts(kernel: &Kernel) -> String {
    let mut out = String::new();
    kernel.walk_insts(kernel.entry, &mut |inst| {
        for &r in kernel.inst_results(inst) {
            if let Some(t) = kernel.value_type(r).as_tile() {
                let layout = t
                    .layout
                    .as_ref()
                    .map(|l| l.to_string())
                    .unwrap_or_else(|| "NONE".into());
                let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
                out.push_str(&format!(
                    "{:<15} tile<{}, [{}]> {layout}\n",
                    kernel.insts[inst].opcode(),
                    t.dtype,
                    dims.join(", ")
                ));
            }
        }
    });
    out
}

/// Passes and codegen for `target`; the kernel after the passes and the compiled result.
fn compile(
    kernel: &Kernel,
    target: GpuTarget,
    num_warps: u32,
) -> (Kernel, Result<codegen::CompiledKernel, CodegenError>) {
    let mut k = kernel.clone();
    passes::run(&mut k, &PassOptions { num_warps, target }, &mut |_, _| {})
        .expect("passes succeed");
    let compiled = codegen::compile(&k, &CodegenOptions { target, num_warps });
    (k, compiled)
}

/// Compiles `kernel` for every target, snapshots its layouts and PTX, assembles the PTX.
/// Returns the PTX per target.
fn check(name: &str, kernel: Kernel) -> Vec<(GpuTarget, String)> {
    let mut ptxs = Vec::new();
    for target in GpuTarget::ALL {
        let (after, compiled) = compile(&kernel, target, NUM_WARPS);
        let compiled = compiled.unwrap_or_else(|e| panic!("{name} for {target}: {e}"));
        if target == GpuTarget::Sm80 {
            insta::assert_snapshot!(format!("{name}_layouts"), layouts(&after));
        }
        insta::assert_snapshot!(format!("{name}_{target}"), compiled.ptx);
        assert_eq!(compiled.abi.target, target.name());
        assert_eq!(compiled.abi.num_warps, NUM_WARPS);
        if let Err(e) = tilec_tests::ptxas::assemble(&compiled.ptx, target.name()) {
            panic!("{name} for {target}:\n{e}");
        }
        ptxs.push((target, compiled.ptx));
    }
    ptxs
}

#[test]
fn vector_add_compiles() {
    let ptx = check("vector_add", vector_add());
    // 1024 f32 over 128 threads: 16-byte vector accesses on the aligned path.
    assert!(ptx[0].1.contains("ld.global.v4.b32"));
    assert!(ptx[0].1.contains("st.global.v4.b32"));
}

#[test]
fn softmax_compiles() {
    let ptx = check("softmax", softmax());
    assert!(ptx[0].1.contains("shfl.sync.bfly.b32"));
    assert!(ptx[0].1.contains("ex2.approx"));
}

#[test]
fn layernorm_compiles() {
    let ptx = check("layernorm", layernorm());
    assert!(ptx[0].1.contains("rsqrt.approx"));
}

#[test]
fn matmul_compiles() {
    let ptx = check("matmul", matmul(64, 64, 32));
    for (_, p) in &ptx {
        assert!(p.contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"));
        assert!(p.contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16"));
    }
}

#[test]
fn attention_uses_tensor_cores_for_both_products() {
    let ptx = check("attention", attention());
    for (target, p) in &ptx {
        // Q K^T and P V, both on mma.sync; Q, K^T and P by plain ldmatrix (k-contiguous),
        // V by ldmatrix.trans (n-contiguous).
        assert!(
            p.contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"),
            "{target}"
        );
        assert!(
            p.contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16"),
            "{target}"
        );
        assert!(
            p.contains("ldmatrix.sync.aligned.m8n8.x2.shared.b16"),
            "{target}"
        );
        assert!(
            p.contains("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16"),
            "{target}"
        );
        let mmas = p.matches("mma.sync.aligned").count();
        // 128x64x64 per product over 4 warps: 2 x 8 x 4 x 2 = 64 per warp per product... at
        // least one per block of each product.
        assert!(mmas >= 2 * 8 * 4, "{target}: {mmas} mma.sync");
    }
}

#[test]
fn configurations_that_cannot_work_get_diagnostics() {
    let mut out = String::new();
    for (what, kernel, warps) in [
        ("a 256x256 accumulator on 1 warp", matmul(256, 256, 32), 1),
        ("operands staged past 163 KB", matmul(256, 256, 256), 8),
    ] {
        let (_, compiled) = compile(&kernel, GpuTarget::Sm80, warps);
        match compiled {
            Err(CodegenError::Config(diags)) => {
                out.push_str(&format!("== {what}\n"));
                out.push_str(&tilec::diagnostics::render("matmul.tile", "", &diags));
            }
            Err(e) => panic!("{what}: expected a configuration diagnostic, got {e}"),
            Ok(_) => panic!("{what}: compiled, expected a configuration diagnostic"),
        }
    }
    insta::assert_snapshot!("config_diagnostics", out);
}
