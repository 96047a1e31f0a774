//! User handlers: a tree-walking interpreter of the IR, written from specs/protocol.md
//! part 1 alone (1.4 expressions, 1.5 statements), over the runtime's own atomic memory.
//! It shares megaloop's IR types (the JSON form of a handler), not its simulator.
//!
//! megaloop validates every handler before it sends it, so a type mismatch here is a
//! bug in this runtime or in megaloop; it is reported as an error, never a panic.

use crate::kernel::Memory;
use megaloop::ir::{AtomicOp, BinaryOp, Block, Builtin, Expr, Literal, ScalarType, Stmt, UnaryOp};

/// A value of the IR.
#[derive(Clone, Copy, Debug)]
pub enum Value {
    /// u32.
    U32(u32),
    /// i32.
    I32(i32),
    /// f32.
    F32(f32),
    /// bool.
    Bool(bool),
}

impl Value {
    /// The word a store writes (bool never reaches memory; validation refuses it).
    fn word(self) -> u32 {
        match self {
            Value::U32(v) => v,
            Value::I32(v) => v as u32,
            Value::F32(v) => v.to_bits(),
            Value::Bool(b) => u32::from(b),
        }
    }

    fn u32(self) -> Result<u32, String> {
        match self {
            Value::U32(v) => Ok(v),
            other => Err(format!("expected a u32, found {other:?}")),
        }
    }

    fn bool(self) -> Result<bool, String> {
        match self {
            Value::Bool(b) => Ok(b),
            other => Err(format!("expected a bool, found {other:?}")),
        }
    }

    fn of_bits(ty: ScalarType, bits: u32) -> Value {
        match ty {
            ScalarType::U32 => Value::U32(bits),
            ScalarType::I32 => Value::I32(bits as i32),
            ScalarType::F32 => Value::F32(f32::from_bits(bits)),
            ScalarType::Bool => Value::Bool(bits != 0),
        }
    }
}

/// The lane's builtins (1.1).
#[derive(Clone, Copy, Debug)]
pub struct LaneIds {
    /// `global_invocation_id`.
    pub global: u32,
    /// `workgroup_size`.
    pub workgroup_size: u32,
    /// `num_workgroups`.
    pub workgroups: u32,
}

/// How a block ended.
enum Flow {
    Next,
    Break,
}

/// One handler run: its memory, the buffers by name, the lane, and the variables in scope.
pub struct Interpreter<'a> {
    memory: &'a Memory,
    buffer_names: &'a [String],
    lane: LaneIds,
    scopes: Vec<Vec<(String, Value)>>,
}

impl<'a> Interpreter<'a> {
    /// An interpreter with `variables` in scope (the handler's documented names).
    pub fn new(
        memory: &'a Memory,
        buffer_names: &'a [String],
        lane: LaneIds,
        variables: Vec<(String, Value)>,
    ) -> Interpreter<'a> {
        Interpreter { memory, buffer_names, lane, scopes: vec![variables] }
    }

    /// Run `body` in the outermost scope (so its variables stay readable afterwards).
    pub fn run(&mut self, body: &Block) -> Result<(), String> {
        match self.statements(body)? {
            Flow::Next => Ok(()),
            Flow::Break => Err("`break` outside a loop".into()),
        }
    }

    /// The value of variable `name`.
    pub fn variable(&self, name: &str) -> Result<Value, String> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("variable `{name}` is not in scope"))
    }

    /// The innermost variable `name` in scope, to overwrite.
    fn variable_mut(&mut self, name: &str) -> Result<&mut Value, String> {
        self.scopes
            .iter_mut()
            .rev()
            .flat_map(|s| s.iter_mut().rev())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("assigning `{name}`, which is not in scope"))
    }

    fn buffer(&self, name: &str) -> Result<usize, String> {
        self.buffer_names.iter().position(|n| n == name).ok_or_else(|| format!("no buffer `{name}`"))
    }

    fn block(&mut self, body: &Block, bound: Option<(String, Value)>) -> Result<Flow, String> {
        self.scopes.push(bound.into_iter().collect());
        let flow = self.statements(body);
        self.scopes.pop();
        flow
    }

    fn statements(&mut self, body: &Block) -> Result<Flow, String> {
        for s in body {
            if let Flow::Break = self.statement(s)? {
                return Ok(Flow::Break);
            }
        }
        Ok(Flow::Next)
    }

    fn statement(&mut self, s: &Stmt) -> Result<Flow, String> {
        match s {
            Stmt::Let { name, value, .. } => {
                let v = self.expr(value)?;
                self.scopes.last_mut().expect("a scope").push((name.clone(), v));
            }
            Stmt::Assign { name, value } => {
                let v = self.expr(value)?;
                *self.variable_mut(name)? = v;
            }
            Stmt::Crc32 { var, buffer, word, bytes } => {
                let (b, first, count) = (self.buffer(buffer)?, self.expr(word)?.u32()?, self.expr(bytes)?.u32()?);
                let crc = self.variable_mut(var)?.u32()?;
                // 1.5: the range stops at the buffer's end; bytes are little-endian.
                let words = self.memory.words(b);
                let count = u64::from(words.saturating_sub(first)).saturating_mul(4).min(u64::from(count)) as u32;
                let mut c = !crc;
                for k in 0..count {
                    let byte = self.memory.load(b, first + k / 4) >> (8 * (k % 4)) & 0xff;
                    c ^= byte;
                    for _ in 0..8 {
                        c = (c >> 1) ^ (0xEDB8_8320 & (c & 1).wrapping_neg());
                    }
                }
                *self.variable_mut(var)? = Value::U32(!c);
            }
            Stmt::Store { buffer, index, value } => {
                let (b, i, v) = (self.buffer(buffer)?, self.expr(index)?.u32()?, self.expr(value)?);
                self.memory.store(b, i, v.word());
            }
            Stmt::Atomic { op, buffer, index, args, result } => {
                let (b, i) = (self.buffer(buffer)?, self.expr(index)?.u32()?);
                let args: Vec<u32> = args.iter().map(|a| self.expr(a).map(Value::word)).collect::<Result<_, _>>()?;
                let arg = |k: usize| args.get(k).copied().ok_or_else(|| format!("{op:?} needs {} operands", k + 1));
                let old = match op {
                    AtomicOp::Load => self.memory.load(b, i),
                    AtomicOp::Store => {
                        self.memory.store(b, i, arg(0)?);
                        0
                    }
                    AtomicOp::CompareExchange => self.memory.cas(b, i, arg(0)?, arg(1)?),
                    AtomicOp::Add => self.memory.rmw(b, i, arg(0)?, u32::wrapping_add),
                    AtomicOp::Sub => self.memory.rmw(b, i, arg(0)?, u32::wrapping_sub),
                    AtomicOp::And => self.memory.rmw(b, i, arg(0)?, |x, y| x & y),
                    AtomicOp::Or => self.memory.rmw(b, i, arg(0)?, |x, y| x | y),
                    AtomicOp::Xor => self.memory.rmw(b, i, arg(0)?, |x, y| x ^ y),
                    AtomicOp::Min => self.memory.rmw(b, i, arg(0)?, u32::min),
                    AtomicOp::Max => self.memory.rmw(b, i, arg(0)?, u32::max),
                    AtomicOp::Exchange => self.memory.rmw(b, i, arg(0)?, |_, y| y),
                };
                if let Some(name) = result {
                    self.scopes.last_mut().expect("a scope").push((name.clone(), Value::U32(old)));
                }
            }
            Stmt::If { cond, then, otherwise } => {
                let branch = if self.expr(cond)?.bool()? { then } else { otherwise };
                return self.block(branch, None);
            }
            Stmt::For { var, from, to, body } => {
                let (from, to) = (self.expr(from)?, self.expr(to)?);
                let counters: Box<dyn Iterator<Item = Value>> = match (from, to) {
                    (Value::U32(a), Value::U32(b)) => Box::new((a..b).map(Value::U32)),
                    (Value::I32(a), Value::I32(b)) => Box::new((a..b).map(Value::I32)),
                    other => return Err(format!("a `for` over {other:?}")),
                };
                for v in counters {
                    if let Flow::Break = self.block(body, Some((var.clone(), v)))? {
                        break;
                    }
                }
            }
            Stmt::Break => return Ok(Flow::Break),
            Stmt::PersistentLoop { .. } | Stmt::Return | Stmt::Barrier => {
                return Err(format!("{s:?} is not allowed in a handler"));
            }
        }
        Ok(Flow::Next)
    }

    fn expr(&self, e: &Expr) -> Result<Value, String> {
        Ok(match e {
            Expr::Literal(l) => match *l {
                Literal::U32(v) => Value::U32(v),
                Literal::I32(v) => Value::I32(v),
                Literal::F32Bits(bits) => Value::F32(f32::from_bits(bits)),
                Literal::Bool(b) => Value::Bool(b),
            },
            Expr::Var(name) => self.variable(name)?,
            Expr::Load { buffer, index } => {
                Value::U32(self.memory.load(self.buffer(buffer)?, self.expr(index)?.u32()?))
            }
            Expr::BufferLen { buffer } => Value::U32(self.memory.words(self.buffer(buffer)?)),
            Expr::Builtin(b) => Value::U32(match b {
                Builtin::GlobalInvocationId => self.lane.global,
                Builtin::LocalInvocationId => self.lane.global % self.lane.workgroup_size,
                Builtin::WorkgroupId => self.lane.global / self.lane.workgroup_size,
                Builtin::NumWorkgroups => self.lane.workgroups,
                Builtin::WorkgroupSize => self.lane.workgroup_size,
            }),
            Expr::Unary { op, operand } => unary(*op, self.expr(operand)?)?,
            Expr::Binary { op, lhs, rhs } => binary(*op, self.expr(lhs)?, self.expr(rhs)?)?,
            Expr::Select { cond, if_true, if_false } => {
                let (c, t, f) = (self.expr(cond)?.bool()?, self.expr(if_true)?, self.expr(if_false)?);
                if c {
                    t
                } else {
                    f
                }
            }
            Expr::Cast { to, value } => cast(*to, self.expr(value)?),
            Expr::Bitcast { to, value } => Value::of_bits(*to, self.expr(value)?.word()),
        })
    }
}

fn unary(op: UnaryOp, v: Value) -> Result<Value, String> {
    Ok(match (op, v) {
        (UnaryOp::Neg, Value::I32(x)) => Value::I32(x.wrapping_neg()),
        (UnaryOp::Neg, Value::F32(x)) => Value::F32(f32::from_bits(x.to_bits() ^ 0x8000_0000)),
        (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
        (UnaryOp::BitNot, Value::U32(x)) => Value::U32(!x),
        (UnaryOp::BitNot, Value::I32(x)) => Value::I32(!x),
        (op, v) => return Err(format!("{op:?} of {v:?}")),
    })
}

fn binary(op: BinaryOp, l: Value, r: Value) -> Result<Value, String> {
    use BinaryOp as B;
    use Value::{Bool, F32, I32, U32};
    Ok(match (op, l, r) {
        (B::Shl, U32(a), U32(n)) => U32(a << (n % 32)),
        (B::Shl, I32(a), U32(n)) => I32(a << (n % 32)),
        (B::Shr, U32(a), U32(n)) => U32(a >> (n % 32)),
        (B::Shr, I32(a), U32(n)) => I32(a >> (n % 32)),
        (B::Add, U32(a), U32(b)) => U32(a.wrapping_add(b)),
        (B::Sub, U32(a), U32(b)) => U32(a.wrapping_sub(b)),
        (B::Mul, U32(a), U32(b)) => U32(a.wrapping_mul(b)),
        (B::Div, U32(a), U32(b)) => U32(a.checked_div(b).unwrap_or(a)),
        (B::Rem, U32(a), U32(b)) => U32(a.checked_rem(b).unwrap_or(0)),
        (B::Add, I32(a), I32(b)) => I32(a.wrapping_add(b)),
        (B::Sub, I32(a), I32(b)) => I32(a.wrapping_sub(b)),
        (B::Mul, I32(a), I32(b)) => I32(a.wrapping_mul(b)),
        // The checked forms fail for `x / 0` and for MIN / -1, whose results are `x` and
        // MIN (so `a` both times), and for `x % 0` and MIN % -1, both 0 (1.4).
        (B::Div, I32(a), I32(b)) => I32(a.checked_div(b).unwrap_or(a)),
        (B::Rem, I32(a), I32(b)) => I32(a.checked_rem(b).unwrap_or(0)),
        (B::Add, F32(a), F32(b)) => F32(a + b),
        (B::Sub, F32(a), F32(b)) => F32(a - b),
        (B::Mul, F32(a), F32(b)) => F32(a * b),
        (B::Div, F32(a), F32(b)) => F32(a / b),
        (B::Rem, F32(a), F32(b)) => F32(a - b * (a / b).trunc()),
        (B::BitAnd, U32(a), U32(b)) => U32(a & b),
        (B::BitOr, U32(a), U32(b)) => U32(a | b),
        (B::BitXor, U32(a), U32(b)) => U32(a ^ b),
        (B::BitAnd, I32(a), I32(b)) => I32(a & b),
        (B::BitOr, I32(a), I32(b)) => I32(a | b),
        (B::BitXor, I32(a), I32(b)) => I32(a ^ b),
        (B::Min, U32(a), U32(b)) => U32(a.min(b)),
        (B::Max, U32(a), U32(b)) => U32(a.max(b)),
        (B::Min, I32(a), I32(b)) => I32(a.min(b)),
        (B::Max, I32(a), I32(b)) => I32(a.max(b)),
        (B::Min, F32(a), F32(b)) => F32(a.min(b)),
        (B::Max, F32(a), F32(b)) => F32(a.max(b)),
        (B::LogicalAnd, Bool(a), Bool(b)) => Bool(a && b),
        (B::LogicalOr, Bool(a), Bool(b)) => Bool(a || b),
        (B::Eq | B::Ne | B::Lt | B::Le | B::Gt | B::Ge, a, b) => Bool(compare(op, a, b)?),
        (op, a, b) => return Err(format!("{op:?} of {a:?} and {b:?}")),
    })
}

/// A comparison; f32 by IEEE (every comparison with NaN is false but `ne`).
fn compare(op: BinaryOp, a: Value, b: Value) -> Result<bool, String> {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (a, b) {
        (Value::U32(a), Value::U32(b)) => Some(a.cmp(&b)),
        (Value::I32(a), Value::I32(b)) => Some(a.cmp(&b)),
        (Value::F32(a), Value::F32(b)) => a.partial_cmp(&b),
        (Value::Bool(a), Value::Bool(b)) if matches!(op, BinaryOp::Eq | BinaryOp::Ne) => Some(a.cmp(&b)),
        (a, b) => return Err(format!("{op:?} of {a:?} and {b:?}")),
    };
    Ok(match (op, ordering) {
        (BinaryOp::Ne, None) => true,
        (_, None) => false,
        (BinaryOp::Eq, Some(o)) => o == Ordering::Equal,
        (BinaryOp::Ne, Some(o)) => o != Ordering::Equal,
        (BinaryOp::Lt, Some(o)) => o == Ordering::Less,
        (BinaryOp::Le, Some(o)) => o != Ordering::Greater,
        (BinaryOp::Gt, Some(o)) => o == Ordering::Greater,
        (BinaryOp::Ge, Some(o)) => o != Ordering::Less,
        (op, _) => return Err(format!("{op:?} is not a comparison")),
    })
}

/// `cast` by value (1.4's conversion table). Rust's `as` from f32 to an integer
/// truncates, saturates and gives 0 for NaN, as the spec asks.
fn cast(to: ScalarType, v: Value) -> Value {
    match (to, v) {
        (ScalarType::U32, Value::I32(x)) => Value::U32(x as u32),
        (ScalarType::U32, Value::F32(x)) => Value::U32(x as u32),
        (ScalarType::I32, Value::U32(x)) => Value::I32(x as i32),
        (ScalarType::I32, Value::F32(x)) => Value::I32(x as i32),
        (ScalarType::F32, Value::U32(x)) => Value::F32(x as f32),
        (ScalarType::F32, Value::I32(x)) => Value::F32(x as f32),
        (ScalarType::U32, Value::Bool(b)) => Value::U32(u32::from(b)),
        (ScalarType::I32, Value::Bool(b)) => Value::I32(i32::from(b)),
        (ScalarType::F32, Value::Bool(b)) => Value::F32(if b { 1.0 } else { 0.0 }),
        // `x != 0.0` is true for NaN and false for -0.0.
        (ScalarType::Bool, Value::F32(x)) => Value::Bool(x != 0.0),
        (ScalarType::Bool, Value::U32(x)) => Value::Bool(x != 0),
        (ScalarType::Bool, Value::I32(x)) => Value::Bool(x != 0),
        (_, same) => same,
    }
}
