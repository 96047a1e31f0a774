//! Compile a validated program into the simulator's [`Code`]: variables become registers,
//! ops become typed kinds, and common shapes (`load(buf, x + k)`, `x op literal`) become
//! fused ops. Registers are allocated with the scopes' stack discipline, so a program
//! needs only as many as its deepest nesting. Types and which declaration each variable
//! use refers to come from the validator's side table ([`ProgramInfo`]); nothing here
//! derives them again.
//!
//! Every IR op is matched exhaustively (no wildcard arm): a new op does not compile
//! until the simulator handles it.

use crate::code::*;
use crate::SimError;
use megaloop::ir::validate::{ProgramInfo, VariableUse};
use megaloop::ir::{BinaryOp, Block, Expr, Literal, ScalarType, Stmt, UnaryOp, ValidProgram};
use std::collections::HashMap;

/// Compile a validated program.
pub fn compile(program: &ValidProgram) -> Result<Code, SimError> {
    let mut c = Compiler {
        buffers: program.buffers.iter().enumerate().map(|(i, b)| (b.name.clone(), (i as u16, b.words))).collect(),
        info: program.info(),
        registers_of: vec![None; program.info().variables() as usize],
        next: 0,
        max: 0,
        has_persistent_loop: false,
        has_barrier: false,
    };
    let body = c.block(&program.body, "body")?;
    Ok(Code {
        body,
        registers: c.max,
        buffer_words: program.buffers.iter().map(|b| b.words).collect(),
        workgroup_size: program.workgroup_size,
        has_persistent_loop: c.has_persistent_loop,
        has_barrier: c.has_barrier,
    })
}

struct Compiler<'a> {
    buffers: HashMap<String, (u16, u32)>,
    info: &'a ProgramInfo,
    /// Each declaration's register, by its id, once compiled.
    registers_of: Vec<Option<Reg>>,
    next: Reg,
    max: Reg,
    has_persistent_loop: bool,
    has_barrier: bool,
}

fn internal(what: impl std::fmt::Display) -> SimError {
    SimError::Internal(format!("compiling a validated program: {what}"))
}

fn arith(ty: ScalarType, u: Bin, i: Bin, f: Bin) -> Result<Bin, SimError> {
    match ty {
        ScalarType::U32 => Ok(u),
        ScalarType::I32 => Ok(i),
        ScalarType::F32 => Ok(f),
        ScalarType::Bool => Err(internal("numeric op on bool")),
    }
}

fn integer(ty: ScalarType, u: Bin, i: Bin) -> Result<Bin, SimError> {
    match ty {
        ScalarType::U32 => Ok(u),
        ScalarType::I32 => Ok(i),
        ScalarType::F32 | ScalarType::Bool => Err(internal("integer op on a non-integer")),
    }
}

fn logical(ty: ScalarType, b: Bin) -> Result<Bin, SimError> {
    match ty {
        ScalarType::Bool => Ok(b),
        ScalarType::U32 | ScalarType::I32 | ScalarType::F32 => Err(internal("logical op on a non-bool")),
    }
}

/// The typed kind of a binary op whose left operand has type `ty`.
pub fn binary_kind(op: BinaryOp, ty: ScalarType) -> Result<Bin, SimError> {
    use Bin::*;
    match op {
        BinaryOp::Add => arith(ty, Add, Add, AddF),
        BinaryOp::Sub => arith(ty, Sub, Sub, SubF),
        BinaryOp::Mul => arith(ty, Mul, Mul, MulF),
        BinaryOp::Div => arith(ty, DivU, DivI, DivF),
        BinaryOp::Rem => arith(ty, RemU, RemI, RemF),
        BinaryOp::BitAnd => integer(ty, And, And),
        BinaryOp::BitOr => integer(ty, Or, Or),
        BinaryOp::BitXor => integer(ty, Xor, Xor),
        BinaryOp::Shl => integer(ty, Shl, Shl),
        BinaryOp::Shr => integer(ty, ShrU, ShrI),
        BinaryOp::Eq => match ty {
            ScalarType::F32 => Ok(EqF),
            ScalarType::U32 | ScalarType::I32 | ScalarType::Bool => Ok(Eq),
        },
        BinaryOp::Ne => match ty {
            ScalarType::F32 => Ok(NeF),
            ScalarType::U32 | ScalarType::I32 | ScalarType::Bool => Ok(Ne),
        },
        BinaryOp::Lt => arith(ty, LtU, LtI, LtF),
        BinaryOp::Le => arith(ty, LeU, LeI, LeF),
        BinaryOp::Gt => arith(ty, GtU, GtI, GtF),
        BinaryOp::Ge => arith(ty, GeU, GeI, GeF),
        BinaryOp::LogicalAnd => logical(ty, LogicalAnd),
        BinaryOp::LogicalOr => logical(ty, LogicalOr),
        BinaryOp::Min => arith(ty, MinU, MinI, MinF),
        BinaryOp::Max => arith(ty, MaxU, MaxI, MaxF),
    }
}

fn unary_kind(op: UnaryOp, ty: ScalarType) -> Result<Un, SimError> {
    match (op, ty) {
        (UnaryOp::Neg, ScalarType::I32) => Ok(Un::NegI32),
        (UnaryOp::Neg, ScalarType::F32) => Ok(Un::NegF32),
        (UnaryOp::Neg, ScalarType::U32 | ScalarType::Bool) => Err(internal("neg of u32/bool")),
        (UnaryOp::Not, _) => Ok(Un::Not),
        (UnaryOp::BitNot, _) => Ok(Un::BitNot),
    }
}

/// The conversion for a value cast `from -> to`.
pub fn cast_kind(from: ScalarType, to: ScalarType) -> Conv {
    use ScalarType::*;
    match (from, to) {
        (U32 | I32 | Bool, U32 | I32) => Conv::Bits,
        (F32, U32) => Conv::F32ToU32,
        (F32, I32) => Conv::F32ToI32,
        (U32, F32) => Conv::U32ToF32,
        (I32, F32) => Conv::I32ToF32,
        (Bool, F32) => Conv::BoolToF32,
        (F32, F32) | (Bool, Bool) => Conv::Bits,
        (U32 | I32, Bool) => Conv::IntToBool,
        (F32, Bool) => Conv::F32ToBool,
    }
}

fn op_dst(op: &mut Op) -> &mut Reg {
    match op {
        Op::Const { dst, .. }
        | Op::Builtin { dst, .. }
        | Op::Copy { dst, .. }
        | Op::Un { dst, .. }
        | Op::Bin { dst, .. }
        | Op::BinImm { dst, .. }
        | Op::Select { dst, .. }
        | Op::Conv { dst, .. }
        | Op::Load { dst, .. }
        | Op::LoadConst { dst, .. } => dst,
    }
}

impl Compiler<'_> {
    /// The register of the variable a `Var` expression or an `assign` refers to.
    fn variable(&self, node: &impl VariableUse) -> Result<Reg, SimError> {
        let id = self.info.variable_of(node).ok_or_else(|| internal("a variable use the validator did not bind"))?;
        self.registers_of
            .get(id.0 as usize)
            .copied()
            .flatten()
            .ok_or_else(|| internal(format!("variable {} used before its declaration was compiled", id.0)))
    }

    fn alloc(&mut self) -> Reg {
        let r = self.next;
        self.next += 1;
        self.max = self.max.max(self.next);
        r
    }

    /// Bind the variable statement `s` declares to `reg`.
    fn declare(&mut self, s: &Stmt, reg: Reg) -> Result<(), SimError> {
        let id = self.info.declared_by(s).ok_or_else(|| internal("a declaration the validator did not number"))?;
        let slot = self.registers_of.get_mut(id.0 as usize).ok_or_else(|| internal("a declaration out of range"))?;
        *slot = Some(reg);
        Ok(())
    }

    fn buffer(&self, name: &str) -> Result<u16, SimError> {
        self.buffers.get(name).map(|b| b.0).ok_or_else(|| internal(format!("unknown buffer {name}")))
    }

    fn ty(&self, e: &Expr) -> Result<ScalarType, SimError> {
        self.info.type_of(e).ok_or_else(|| internal("an expression the validator did not type"))
    }

    /// Emit ops computing `e`; returns the register holding it.
    fn expr(&mut self, e: &Expr, ops: &mut Vec<Op>) -> Result<Reg, SimError> {
        Ok(match e {
            Expr::Var(_) => self.variable(e)?,
            Expr::Literal(l) => {
                let dst = self.alloc();
                ops.push(Op::Const { dst, value: l.to_word() });
                dst
            }
            Expr::Builtin(which) => {
                let dst = self.alloc();
                ops.push(Op::Builtin { dst, which: *which });
                dst
            }
            Expr::BufferLen { buffer } => {
                let words = self.buffers.get(buffer).map(|b| b.1).ok_or_else(|| internal("unknown buffer"))?;
                let dst = self.alloc();
                ops.push(Op::Const { dst, value: words });
                dst
            }
            Expr::Load { buffer, index } => {
                let buf = self.buffer(buffer)?;
                match index.as_ref() {
                    Expr::Literal(Literal::U32(index)) => {
                        let dst = self.alloc();
                        ops.push(Op::LoadConst { dst, buf, index: *index });
                        dst
                    }
                    other => {
                        // `base + k` folds the literal into the load's offset.
                        let (base, offset) = match other {
                            Expr::Binary { op: BinaryOp::Add, lhs, rhs } => match rhs.as_ref() {
                                Expr::Literal(Literal::U32(k)) => (lhs.as_ref(), *k),
                                _ => (other, 0),
                            },
                            _ => (other, 0),
                        };
                        let idx = self.expr(base, ops)?;
                        let dst = self.alloc();
                        ops.push(Op::Load { dst, buf, idx, offset });
                        dst
                    }
                }
            }
            Expr::Unary { op, operand } => {
                let ty = self.ty(operand)?;
                let a = self.expr(operand, ops)?;
                let dst = self.alloc();
                ops.push(Op::Un { dst, op: unary_kind(*op, ty)?, a });
                dst
            }
            Expr::Binary { op, lhs, rhs } => {
                let kind = binary_kind(*op, self.ty(lhs)?)?;
                let a = self.expr(lhs, ops)?;
                if let Expr::Literal(l) = rhs.as_ref() {
                    let dst = self.alloc();
                    ops.push(Op::BinImm { dst, op: kind, a, imm: l.to_word() });
                    return Ok(dst);
                }
                let b = self.expr(rhs, ops)?;
                let dst = self.alloc();
                ops.push(Op::Bin { dst, op: kind, a, b });
                dst
            }
            Expr::Select { cond, if_true, if_false } => {
                let c = self.expr(cond, ops)?;
                let a = self.expr(if_true, ops)?;
                let b = self.expr(if_false, ops)?;
                let dst = self.alloc();
                ops.push(Op::Select { dst, c, a, b });
                dst
            }
            Expr::Cast { to, value } => {
                let conv = cast_kind(self.ty(value)?, *to);
                let a = self.expr(value, ops)?;
                let dst = self.alloc();
                ops.push(Op::Conv { dst, conv, a });
                dst
            }
            Expr::Bitcast { value, .. } => {
                let a = self.expr(value, ops)?;
                let dst = self.alloc();
                ops.push(Op::Conv { dst, conv: Conv::Bits, a });
                dst
            }
        })
    }

    /// Compute `e` into `var` (a register declared just before the temporaries).
    fn expr_into(&mut self, e: &Expr, var: Reg, ops: &mut Vec<Op>) -> Result<(), SimError> {
        let first_temp = self.next;
        let r = self.expr(e, ops)?;
        match ops.last_mut().map(op_dst) {
            Some(dst) if r >= first_temp && *dst == r => *dst = var,
            _ => ops.push(Op::Copy { dst: var, src: r }),
        }
        Ok(())
    }

    fn block(&mut self, stmts: &Block, path: &str) -> Result<Vec<Node>, SimError> {
        let mark = self.next;
        let mut nodes = Vec::new();
        for (i, s) in stmts.iter().enumerate() {
            self.stmt(s, &format!("{path}[{i}]"), &mut nodes)?;
        }
        self.next = mark;
        Ok(merge_evals(nodes))
    }

    fn stmt(&mut self, s: &Stmt, path: &str, nodes: &mut Vec<Node>) -> Result<(), SimError> {
        match s {
            Stmt::Let { value, .. } => {
                let var = self.alloc();
                let mark = self.next;
                let mut ops = Vec::new();
                self.expr_into(value, var, &mut ops)?;
                self.next = mark;
                nodes.push(Node::Eval(ops));
                self.declare(s, var)?;
            }
            Stmt::Assign { value, .. } => {
                let dst = self.variable(s)?;
                let mark = self.next;
                let mut ops = Vec::new();
                let src = self.expr(value, &mut ops)?;
                self.next = mark;
                if !ops.is_empty() {
                    nodes.push(Node::Eval(ops));
                }
                nodes.push(Node::Assign { dst, src });
            }
            Stmt::Store { buffer, index, value } => {
                let buf = self.buffer(buffer)?;
                let mark = self.next;
                let mut ops = Vec::new();
                let idx = self.expr(index, &mut ops)?;
                let val = self.expr(value, &mut ops)?;
                self.next = mark;
                if !ops.is_empty() {
                    nodes.push(Node::Eval(ops));
                }
                nodes.push(Node::Store { buf, idx, val });
            }
            Stmt::Crc32 { buffer, word, bytes, .. } => {
                let var = self.variable(s)?;
                let buf = self.buffer(buffer)?;
                let mark = self.next;
                let mut ops = Vec::new();
                let word = self.expr(word, &mut ops)?;
                let bytes = self.expr(bytes, &mut ops)?;
                self.next = mark;
                if !ops.is_empty() {
                    nodes.push(Node::Eval(ops));
                }
                nodes.push(Node::Crc32 { var, buf, word, bytes });
            }
            Stmt::Atomic { op, buffer, index, args, result } => {
                let buf = self.buffer(buffer)?;
                let dst = result.as_ref().map(|_| self.alloc());
                let mark = self.next;
                let mut ops = Vec::new();
                let idx = self.expr(index, &mut ops)?;
                let mut regs = [idx; 2];
                for (k, a) in args.iter().enumerate().take(2) {
                    regs[k] = self.expr(a, &mut ops)?;
                }
                self.next = mark;
                if !ops.is_empty() {
                    nodes.push(Node::Eval(ops));
                }
                nodes.push(Node::Atomic { op: *op, buf, idx, a: regs[0], b: regs[1], dst });
                if let Some(reg) = dst {
                    self.declare(s, reg)?;
                }
            }
            Stmt::If { cond, then, otherwise } => {
                let mark = self.next;
                let mut ops = Vec::new();
                let c = self.expr(cond, &mut ops)?;
                if !ops.is_empty() {
                    nodes.push(Node::Eval(ops));
                }
                let then = self.block(then, &format!("{path}.then"))?;
                let otherwise = self.block(otherwise, &format!("{path}.otherwise"))?;
                self.next = mark;
                nodes.push(Node::If { cond: c, then, otherwise });
            }
            Stmt::For { from, to, body, .. } => {
                let mark = self.next;
                let counter = self.alloc();
                let bound = self.alloc();
                let mut ops = Vec::new();
                self.expr_into(from, counter, &mut ops)?;
                self.expr_into(to, bound, &mut ops)?;
                nodes.push(Node::Eval(ops));
                self.declare(s, counter)?;
                let body = self.block(body, &format!("{path}.body"))?;
                self.next = mark;
                nodes.push(Node::For { var: counter, to: bound, body });
            }
            Stmt::PersistentLoop { fuel, exit_when, body, on_exhausted } => {
                self.has_persistent_loop = true;
                let mark = self.next;
                let fuel_reg = self.alloc();
                let count = self.alloc();
                let mut ops = Vec::new();
                self.expr_into(fuel, fuel_reg, &mut ops)?;
                ops.push(Op::Const { dst: count, value: 0 });
                nodes.push(Node::Eval(ops));
                let exit = self.alloc();
                let mut exit_ops = Vec::new();
                self.expr_into(exit_when, exit, &mut exit_ops)?;
                let inner_mark = self.next;
                let body = self.block(body, &format!("{path}.body"))?;
                self.next = inner_mark;
                let on_exhausted = self.block(on_exhausted, &format!("{path}.on_exhausted"))?;
                self.next = mark;
                nodes.push(Node::Persistent {
                    fuel: fuel_reg,
                    count,
                    exit_ops,
                    exit,
                    body,
                    on_exhausted,
                    path: path.to_string(),
                });
            }
            Stmt::Break => nodes.push(Node::Break),
            Stmt::Return => nodes.push(Node::Return),
            Stmt::Barrier => {
                self.has_barrier = true;
                nodes.push(Node::Barrier);
            }
        }
        Ok(())
    }
}

/// Join adjacent `Eval` nodes so the executor loops over lanes once per run of ops.
fn merge_evals(nodes: Vec<Node>) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    for n in nodes {
        match (out.last_mut(), n) {
            (Some(Node::Eval(prev)), Node::Eval(ops)) => prev.extend(ops),
            (_, Node::Eval(ops)) if ops.is_empty() => {}
            (_, n) => out.push(n),
        }
    }
    out
}
