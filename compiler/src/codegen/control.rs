//! Structured control flow to LLVM's CFG: `for` becomes a loop with one phi per carried
//! register, `if` a diamond with phis at the join. Conditions and bounds are scalars, the
//! same in every thread, so barriers, shuffles and `mma.sync` inside stay convergent.
//!
//! Limits: tiles in shared layouts cannot be loop-carried or if results (the layout pass
//! never makes them so).

use super::values::Lowered;
use super::{Cg, CodegenError};
use crate::ir::{Block, Value};
use inkwell::basic_block::BasicBlock;
use inkwell::values::{BasicValueEnum, PhiValue};
use inkwell::IntPredicate;

/// The registers of a carried value, flattened (a scalar is one register).
fn flatten<'ctx>(l: &Lowered<'ctx>) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
    match l {
        Lowered::Scalar(x) => Ok(vec![*x]),
        Lowered::Tile(r) => Ok(r.clone()),
        _ => Err(CodegenError::Internal(
            "only scalars and distributed tiles can flow through for/if".into(),
        )),
    }
}

/// Rebuilds `like`'s shape from flattened registers.
fn unflatten<'ctx>(like: &Lowered<'ctx>, regs: Vec<BasicValueEnum<'ctx>>) -> Lowered<'ctx> {
    match like {
        Lowered::Scalar(_) => Lowered::Scalar(regs[0]),
        _ => Lowered::Tile(regs),
    }
}

impl<'ctx> Cg<'_, 'ctx> {
    fn phis(&self, like: &[BasicValueEnum<'ctx>]) -> Result<Vec<PhiValue<'ctx>>, CodegenError> {
        like.iter()
            .map(|x| Ok(self.b.build_phi(x.get_type(), "")?))
            .collect()
    }

    fn current_block(&self) -> BasicBlock<'ctx> {
        self.b
            .get_insert_block()
            .expect("the builder is positioned")
    }

    pub fn lower_for(
        &mut self,
        [lower, upper, step]: [Value; 3],
        init: &[Value],
        body: Block,
        results: &[Value],
    ) -> Result<(), CodegenError> {
        let (lo, hi, st) = (
            self.int_scalar(lower)?,
            self.int_scalar(upper)?,
            self.int_scalar(step)?,
        );
        let inits: Vec<Lowered> = init
            .iter()
            .map(|&v| self.get(v).cloned())
            .collect::<Result<_, _>>()?;
        let pre = self.current_block();
        let header = self.ctx.append_basic_block(self.func, "for.header");
        let body_bb = self.ctx.append_basic_block(self.func, "for.body");
        let exit = self.ctx.append_basic_block(self.func, "for.exit");
        self.b.build_unconditional_branch(header)?;

        self.b.position_at_end(header);
        let iv = self.b.build_phi(lo.get_type(), "iv")?;
        iv.add_incoming(&[(&lo, pre)]);
        let mut carried = Vec::new();
        for l in &inits {
            let regs = flatten(l)?;
            let phis = self.phis(&regs)?;
            for (p, r) in phis.iter().zip(&regs) {
                p.add_incoming(&[(r, pre)]);
            }
            carried.push(phis);
        }
        let iv_val = iv.as_basic_value().into_int_value();
        let go_on = self
            .b
            .build_int_compare(IntPredicate::SLT, iv_val, hi, "")?;
        self.b.build_conditional_branch(go_on, body_bb, exit)?;

        self.b.position_at_end(body_bb);
        let params = self.kernel.blocks[body].params.clone();
        self.set(params[0], Lowered::Scalar(iv_val.into()));
        for ((&p, phis), l) in params[1..].iter().zip(&carried).zip(&inits) {
            let regs = phis.iter().map(|p| p.as_basic_value()).collect();
            self.set(p, unflatten(l, regs));
        }
        let yielded = self.lower_block(body)?;
        let latch = self.current_block();
        let next = self.b.build_int_add(iv_val, st, "iv.next")?;
        iv.add_incoming(&[(&next, latch)]);
        for (phis, y) in carried.iter().zip(&yielded) {
            for (p, r) in phis.iter().zip(flatten(y)?) {
                p.add_incoming(&[(&r, latch)]);
            }
        }
        self.b.build_unconditional_branch(header)?;

        self.b.position_at_end(exit);
        for ((&r, phis), l) in results.iter().zip(&carried).zip(&inits) {
            let regs = phis.iter().map(|p| p.as_basic_value()).collect();
            self.set(r, unflatten(l, regs));
        }
        Ok(())
    }

    pub fn lower_if(
        &mut self,
        cond: Value,
        then_block: Block,
        else_block: Block,
        results: &[Value],
    ) -> Result<(), CodegenError> {
        let c = self.int_scalar(cond)?;
        let then_bb = self.ctx.append_basic_block(self.func, "if.then");
        let else_bb = self.ctx.append_basic_block(self.func, "if.else");
        let join = self.ctx.append_basic_block(self.func, "if.join");
        self.b.build_conditional_branch(c, then_bb, else_bb)?;
        let mut arms = Vec::new();
        for (bb, block) in [(then_bb, then_block), (else_bb, else_block)] {
            self.b.position_at_end(bb);
            let vals = self.lower_block(block)?;
            let end = self.current_block();
            self.b.build_unconditional_branch(join)?;
            arms.push((vals, end));
        }
        self.b.position_at_end(join);
        let (then_vals, then_end) = &arms[0];
        let (else_vals, else_end) = &arms[1];
        for ((&r, t), e) in results.iter().zip(then_vals).zip(else_vals) {
            let (tr, er) = (flatten(t)?, flatten(e)?);
            let phis = self.phis(&tr)?;
            for ((p, x), y) in phis.iter().zip(&tr).zip(&er) {
                p.add_incoming(&[(x, *then_end), (y, *else_end)]);
            }
            self.set(
                r,
                unflatten(t, phis.iter().map(|p| p.as_basic_value()).collect()),
            );
        }
        Ok(())
    }
}
