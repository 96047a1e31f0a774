//! Lowering of a validated program to WGSL.
//!
//! - Every buffer is `array<atomic<u32>, N>`; every access goes through a generated helper
//!   that checks the index explicitly (out-of-bounds loads give 0, stores and atomics do
//!   nothing and give 0), so nothing relies on driver robustness.
//! - Integer division and remainder, shifts and float-to-int casts get helpers with the
//!   spec's exact results (`x / 0 == x`, `i32::MIN / -1`, shift amounts modulo 32, NaN -> 0).
//! - The compare-exchange is strong: WGSL only has `atomicCompareExchangeWeak`, so the
//!   helper retries while the old value equals the expected one but nothing was exchanged.
//! - Every loop is bounded: `for` by its range, `persistent_loop` by its fuel. A lane whose
//!   persistent loop runs out of fuel, or that leaves any loop without a reason (a driver
//!   cut it off: lavapipe stops loops after 65,535 iterations), appends
//!   `(lane, loop id | kind)` to a hidden outcome buffer at `@group(1) @binding(0)`.
//!
//! Names trace back to the IR: variable `x` is `v_x`, buffer `ring` is `b_ring`.

use megaloop::ir::validate::ProgramInfo;
use megaloop::ir::walk::visit_stmts;
use megaloop::ir::{AtomicOp, BinaryOp, Builtin, Expr, Literal, ScalarType, Stmt, UnaryOp, ValidProgram};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// Entries the hidden outcome buffer records (after its count word).
pub const OUTCOME_ENTRIES: u32 = 1024;
/// Words of the hidden outcome buffer: count, then `(lane, loop | kind)` pairs.
pub const OUTCOME_WORDS: u32 = 1 + 2 * OUTCOME_ENTRIES;
/// Kind bit of an outcome entry: the loop was cut off (not out of fuel).
pub const OUTCOME_CUTOFF_BIT: u32 = 1 << 31;
/// After this many consecutive spurious failures the strong compare-exchange gives up
/// and reports a failed exchange (old value `expected ^ 1`). Vulkan's compare-exchange is
/// strong, so the loop runs once there.
pub const CAS_RETRIES: u32 = 65_536;

/// A lowered program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lowered {
    /// The WGSL source.
    pub wgsl: String,
    /// Path of each loop (`for` and persistent), by loop id.
    pub loop_paths: Vec<String>,
}

/// Lower a validated program to WGSL. Every expression's type is the validator's
/// ([`ValidProgram::info`]); an expression it did not type is an error, never a guess.
pub fn lower(program: &ValidProgram) -> Result<Lowered, LowerError> {
    let mut l = Lowerer {
        out: String::new(),
        info: program.info(),
        untyped: std::cell::Cell::new(false),
        words: program.buffers.iter().map(|b| (b.name.clone(), b.words)).collect(),
        loops: Vec::new(),
        loop_stack: Vec::new(),
        opaque: std::cell::Cell::new(0),
    };
    l.body(program);
    if l.untyped.get() {
        return Err(LowerError::Untyped { program: program.name.clone() });
    }
    let helpers = helpers(program);
    Ok(Lowered { wgsl: format!("{}{helpers}{}", l.header_text(program), l.out), loop_paths: l.loops })
}

/// Why a validated program could not be lowered (a bug in megaloop, never the program's).
#[derive(Debug, thiserror::Error)]
pub enum LowerError {
    /// The lowering met an expression the validator's side table does not type.
    #[error("lowering `{program}`: an expression the validator did not type (a megaloop bug)")]
    Untyped {
        /// The program.
        program: String,
    },
}

enum LoopKind {
    For(usize),
    Persistent(usize),
}

struct Lowerer<'a> {
    out: String,
    /// The validator's types.
    info: &'a ProgramInfo,
    /// Set when an expression had no type in `info`.
    untyped: std::cell::Cell<bool>,
    words: HashMap<String, u32>,
    loops: Vec<String>,
    loop_stack: Vec<LoopKind>,
    /// Above 0 while lowering an operation whose operands are all constant: its literals
    /// are written through `ml_opaque_*`, so WGSL does not constant-fold it (a constant
    /// expression that overflows, like `-(i32 min)` or `0xffffffffu + 1u`, is a
    /// shader-creation error in WGSL, while the IR wraps).
    opaque: std::cell::Cell<u32>,
}

/// Whether `e` has no variable, load or builtin in it (WGSL would constant-fold it).
fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Literal(_) | Expr::BufferLen { .. } => true,
        Expr::Var(_) | Expr::Load { .. } | Expr::Builtin(_) => false,
        Expr::Unary { operand: a, .. } | Expr::Cast { value: a, .. } | Expr::Bitcast { value: a, .. } => is_constant(a),
        Expr::Binary { lhs, rhs, .. } => is_constant(lhs) && is_constant(rhs),
        Expr::Select { cond, if_true, if_false } => is_constant(cond) && is_constant(if_true) && is_constant(if_false),
    }
}

fn wgsl_type(t: ScalarType) -> &'static str {
    match t {
        ScalarType::U32 => "u32",
        ScalarType::I32 => "i32",
        ScalarType::F32 => "f32",
        ScalarType::Bool => "bool",
    }
}

/// A literal in WGSL; f32 values that do not print exactly are written as bit casts.
pub fn literal(l: Literal) -> String {
    match l {
        Literal::U32(v) => format!("{v}u"),
        Literal::I32(i32::MIN) => "bitcast<i32>(0x80000000u)".into(),
        Literal::I32(v) => format!("{v}i"),
        Literal::F32Bits(bits) => {
            let v = f32::from_bits(bits);
            if v.is_normal() || v == 0.0 {
                let text = format!("{v:?}");
                if text.parse::<f32>().map(f32::to_bits) == Ok(bits) {
                    return format!("{text}f");
                }
            }
            format!("bitcast<f32>({bits:#010x}u)")
        }
        Literal::Bool(b) => b.to_string(),
    }
}

impl Lowerer<'_> {
    fn header_text(&self, program: &ValidProgram) -> String {
        let mut h = String::new();
        let _ = writeln!(
            h,
            "// megaloop program {:?}: generated from the IR, do not edit.",
            program.name.replace('\n', " ")
        );
        let _ = writeln!(h, "const WORKGROUP_SIZE: u32 = {}u;\n", program.workgroup_size);
        for b in &program.buffers {
            let _ = writeln!(
                h,
                "@group(0) @binding({}) var<storage, read_write> b_{}: array<atomic<u32>, {}>;",
                b.binding, b.name, b.words
            );
        }
        let _ = writeln!(
            h,
            "@group(1) @binding(0) var<storage, read_write> ml_outcome: array<atomic<u32>, {OUTCOME_WORDS}>;\n"
        );
        if uses_crc(program) {
            let _ = writeln!(h, "// crc32's slicing-by-4 tables: byte n followed by k zero bytes at 256 k + n.");
            let _ = writeln!(h, "var<workgroup> ml_crc_table: array<u32, 1024>;\n");
        }
        h
    }

    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn body(&mut self, program: &ValidProgram) {
        self.line(0, &format!("@compute @workgroup_size({})", program.workgroup_size));
        self.line(
            0,
            "fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, \
             @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {",
        );
        if uses_crc(program) {
            // Built by the workgroup's lanes before anything else, where control flow is
            // still uniform (at most 1,024 iterations a lane, for a workgroup of one lane).
            self.line(
                1,
                "for (var t = lid.x; t < 1024u; t = t + WORKGROUP_SIZE) { ml_crc_table[t] = ml_crc_entry(t); }",
            );
            self.line(1, "workgroupBarrier();");
        }
        self.block(&program.body, 1, "body");
        self.line(0, "}");
    }

    fn ty(&self, e: &Expr) -> ScalarType {
        self.info.type_of(e).unwrap_or_else(|| {
            // `lower` fails: what is written with this stand-in is thrown away.
            self.untyped.set(true);
            ScalarType::U32
        })
    }

    fn expr(&self, e: &Expr) -> String {
        let folds = !matches!(e, Expr::Literal(_) | Expr::BufferLen { .. }) && is_constant(e);
        if folds {
            self.opaque.set(self.opaque.get() + 1);
        }
        let text = self.expr_inner(e);
        if folds {
            self.opaque.set(self.opaque.get() - 1);
        }
        text
    }

    fn expr_inner(&self, e: &Expr) -> String {
        match e {
            Expr::Literal(l) if self.opaque.get() > 0 => match l {
                Literal::Bool(_) => literal(*l),
                Literal::U32(_) | Literal::I32(_) | Literal::F32Bits(_) => {
                    format!("ml_opaque_{}({})", wgsl_type(l.ty()), literal(*l))
                }
            },
            Expr::Literal(l) => literal(*l),
            Expr::Var(name) => format!("v_{name}"),
            Expr::Load { buffer, index } => format!("load_{buffer}({})", self.expr(index)),
            Expr::BufferLen { buffer } => {
                let words = self.words.get(buffer).copied().unwrap_or(0);
                if self.opaque.get() > 0 {
                    format!("ml_opaque_u32({words}u)")
                } else {
                    format!("{words}u")
                }
            }
            Expr::Builtin(b) => match b {
                Builtin::GlobalInvocationId => "gid.x".into(),
                Builtin::LocalInvocationId => "lid.x".into(),
                Builtin::WorkgroupId => "wid.x".into(),
                Builtin::NumWorkgroups => "nwg.x".into(),
                Builtin::WorkgroupSize => "WORKGROUP_SIZE".into(),
            },
            Expr::Unary { op, operand } => {
                let a = self.expr(operand);
                match op {
                    // `-(-1i)`, never `--1i` (a decrement).
                    UnaryOp::Neg => format!("(-({a}))"),
                    UnaryOp::Not => format!("(!{a})"),
                    UnaryOp::BitNot => format!("(~{a})"),
                }
            }
            Expr::Binary { op, lhs, rhs } => {
                let ty = self.ty(lhs);
                let (a, b) = (self.expr(lhs), self.expr(rhs));
                let t = wgsl_type(ty);
                match op {
                    BinaryOp::Div if ty.is_integer() => format!("ml_div_{t}({a}, {b})"),
                    BinaryOp::Rem if ty.is_integer() => format!("ml_rem_{t}({a}, {b})"),
                    BinaryOp::Shl => format!("({a} << ({b} & 31u))"),
                    BinaryOp::Shr => format!("({a} >> ({b} & 31u))"),
                    BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
                        if ty == ScalarType::F32 =>
                    {
                        format!("ml_f32_{}({a}, {b})", op.sig().name)
                    }
                    BinaryOp::Min => format!("min({a}, {b})"),
                    BinaryOp::Max => format!("max({a}, {b})"),
                    BinaryOp::Add
                    | BinaryOp::Sub
                    | BinaryOp::Mul
                    | BinaryOp::Div
                    | BinaryOp::Rem
                    | BinaryOp::BitAnd
                    | BinaryOp::BitOr
                    | BinaryOp::BitXor
                    | BinaryOp::Eq
                    | BinaryOp::Ne
                    | BinaryOp::Lt
                    | BinaryOp::Le
                    | BinaryOp::Gt
                    | BinaryOp::Ge
                    | BinaryOp::LogicalAnd
                    | BinaryOp::LogicalOr => format!("({a} {} {b})", op.sig().symbol),
                }
            }
            Expr::Select { cond, if_true, if_false } => {
                format!("select({}, {}, {})", self.expr(if_false), self.expr(if_true), self.expr(cond))
            }
            Expr::Cast { to, value } => {
                let from = self.ty(value);
                let a = self.expr(value);
                use ScalarType::*;
                match (from, *to) {
                    (U32, U32) | (I32, I32) | (F32, F32) | (Bool, Bool) => a,
                    (U32, I32) | (I32, U32) => format!("bitcast<{}>({a})", wgsl_type(*to)),
                    (F32, U32) => format!("ml_f32_to_u32({a})"),
                    (F32, I32) => format!("ml_f32_to_i32({a})"),
                    (U32 | I32, F32) => format!("f32({a})"),
                    (Bool, U32) => format!("select(0u, 1u, {a})"),
                    (Bool, I32) => format!("select(0i, 1i, {a})"),
                    (Bool, F32) => format!("select(0.0f, 1.0f, {a})"),
                    (U32, Bool) => format!("({a} != 0u)"),
                    (I32, Bool) => format!("({a} != 0i)"),
                    (F32, Bool) => format!("ml_f32_ne({a}, 0.0f)"),
                }
            }
            Expr::Bitcast { to, value } => {
                let from = self.ty(value);
                let a = self.expr(value);
                if from == *to {
                    a
                } else {
                    format!("bitcast<{}>({a})", wgsl_type(*to))
                }
            }
        }
    }

    fn block(&mut self, stmts: &[Stmt], depth: usize, path: &str) {
        for (i, s) in stmts.iter().enumerate() {
            self.stmt(s, depth, &format!("{path}[{i}]"));
        }
    }

    fn stmt(&mut self, s: &Stmt, d: usize, path: &str) {
        match s {
            Stmt::Let { name, ty, value } => {
                let v = self.expr(value);
                self.line(d, &format!("var v_{name}: {} = {v};", wgsl_type(*ty)));
            }
            Stmt::Assign { name, value } => {
                let v = self.expr(value);
                self.line(d, &format!("v_{name} = {v};"));
            }
            Stmt::Store { buffer, index, value } => {
                let (i, v) = (self.expr(index), self.expr(value));
                self.line(d, &format!("store_{buffer}({i}, {v});"));
            }
            Stmt::Crc32 { var, buffer, word, bytes } => {
                // One counted loop over whole words (reported like a `for` when a driver
                // cuts it off), then up to three tail bytes; zlib's inversions around it.
                let id = self.loops.len();
                self.loops.push(path.to_string());
                let words = self.words.get(buffer).copied().unwrap_or(0);
                let (first, count) = (self.expr(word), self.expr(bytes));
                self.line(d, &format!("// crc32 loop {id} ({path})"));
                self.line(d, "{");
                for line in [
                    format!("let first_{id}: u32 = {first};"),
                    format!("let bytes_{id}: u32 = {count};"),
                    format!("let left_{id}: u32 = select(0u, {words}u - first_{id}, first_{id} < {words}u);"),
                    format!("let full_{id}: u32 = min(bytes_{id} / 4u, left_{id});"),
                    format!("let tail_{id}: u32 = select(0u, bytes_{id} & 3u, bytes_{id} / 4u < left_{id});"),
                    format!("var c_{id}: u32 = ~v_{var};"),
                    format!("var i_{id}: u32 = 0u;"),
                    format!("for (; i_{id} < full_{id}; i_{id} = i_{id} + 1u) {{"),
                    format!("    c_{id} = ml_crc32_word(c_{id}, load_{buffer}(first_{id} + i_{id}));"),
                    "}".to_string(),
                    "// Short of its bound: a driver cut the loop off.".to_string(),
                    format!("if (i_{id} < full_{id}) {{ ml_report(gid.x, {id}u | {OUTCOME_CUTOFF_BIT:#x}u); }}"),
                    format!("let last_{id}: u32 = load_{buffer}(first_{id} + full_{id});"),
                    format!("if (tail_{id} > 0u) {{ c_{id} = ml_crc32_byte(c_{id}, last_{id}); }}"),
                    format!("if (tail_{id} > 1u) {{ c_{id} = ml_crc32_byte(c_{id}, last_{id} >> 8u); }}"),
                    format!("if (tail_{id} > 2u) {{ c_{id} = ml_crc32_byte(c_{id}, last_{id} >> 16u); }}"),
                    format!("v_{var} = ~c_{id};"),
                ] {
                    self.line(d + 1, &line);
                }
                self.line(d, "}");
            }
            Stmt::Atomic { op, buffer, index, args, result } => {
                let mut call_args = vec![self.expr(index)];
                call_args.extend(args.iter().map(|a| self.expr(a)));
                let call = format!("{}_{buffer}({})", atomic_helper(*op), call_args.join(", "));
                match result {
                    Some(r) => self.line(d, &format!("let v_{r}: u32 = {call};")),
                    None => self.line(d, &format!("{call};")),
                }
            }
            Stmt::If { cond, then, otherwise } => {
                let c = self.expr(cond);
                self.line(d, &format!("if ({c}) {{"));
                self.block(then, d + 1, &format!("{path}.then"));
                if otherwise.is_empty() {
                    self.line(d, "}");
                } else {
                    self.line(d, "} else {");
                    self.block(otherwise, d + 1, &format!("{path}.otherwise"));
                    self.line(d, "}");
                }
            }
            Stmt::For { var, from, to, body } => {
                let id = self.loops.len();
                self.loops.push(path.to_string());
                let (f, t) = (self.expr(from), self.expr(to));
                self.line(d, &format!("// for loop {id} ({path})"));
                self.line(d, "{");
                self.line(d + 1, &format!("let to_{id}: u32 = {t};"));
                self.line(d + 1, &format!("var i_{id}: u32 = {f};"));
                self.line(d + 1, &format!("var left_{id}: bool = false;"));
                self.line(d + 1, &format!("for (; i_{id} < to_{id}; i_{id} = i_{id} + 1u) {{"));
                self.line(d + 2, &format!("let v_{var}: u32 = i_{id};"));
                self.loop_stack.push(LoopKind::For(id));
                self.block(body, d + 2, &format!("{path}.body"));
                self.loop_stack.pop();
                self.line(d + 1, "}");
                self.line(d + 1, "// Short of its bound without a break: a driver cut the loop off.");
                self.line(
                    d + 1,
                    &format!(
                        "if (!left_{id} && i_{id} < to_{id}) {{ ml_report(gid.x, {id}u | {OUTCOME_CUTOFF_BIT:#x}u); }}"
                    ),
                );
                self.line(d, "}");
            }
            Stmt::PersistentLoop { fuel, exit_when, body, on_exhausted } => {
                let id = self.loops.len();
                self.loops.push(path.to_string());
                let f = self.expr(fuel);
                self.line(d, &format!("// persistent loop {id} ({path})"));
                self.line(d, "{");
                self.line(d + 1, &format!("let fuel_{id}: u32 = {f};"));
                self.line(d + 1, &format!("var iter_{id}: u32 = 0u;"));
                self.line(d + 1, &format!("var left_{id}: bool = false;"));
                self.line(d + 1, &format!("var out_of_fuel_{id}: bool = false;"));
                self.line(d + 1, "loop {");
                self.line(d + 2, &format!("if (iter_{id} >= fuel_{id}) {{ out_of_fuel_{id} = true; break; }}"));
                let x = self.expr(exit_when);
                self.line(d + 2, &format!("if ({x}) {{ left_{id} = true; break; }}"));
                self.line(d + 2, &format!("iter_{id} = iter_{id} + 1u;"));
                self.loop_stack.push(LoopKind::Persistent(id));
                self.block(body, d + 2, &format!("{path}.body"));
                self.loop_stack.pop();
                self.line(d + 1, "}");
                self.line(d + 1, &format!("if (out_of_fuel_{id}) {{"));
                self.line(d + 2, &format!("ml_report(gid.x, {id}u);"));
                self.block(on_exhausted, d + 2, &format!("{path}.on_exhausted"));
                self.line(d + 1, &format!("}} else if (!left_{id}) {{"));
                self.line(d + 2, "// Left with fuel, no exit and no break: a driver cut the loop off.");
                self.line(d + 2, &format!("ml_report(gid.x, {id}u | {OUTCOME_CUTOFF_BIT:#x}u);"));
                self.line(d + 1, "}");
                self.line(d, "}");
            }
            Stmt::Break => match self.loop_stack.last() {
                Some(LoopKind::Persistent(id) | LoopKind::For(id)) => {
                    let id = *id;
                    self.line(d, &format!("left_{id} = true;"));
                    self.line(d, "break;");
                }
                None => self.line(d, "break;"),
            },
            Stmt::Return => self.line(d, "return;"),
            Stmt::Barrier => {
                self.line(d, "storageBarrier();");
                self.line(d, "workgroupBarrier();");
            }
        }
    }
}

fn atomic_helper(op: AtomicOp) -> &'static str {
    op.sig().name
}

/// The bounds-checked helpers each buffer needs, and the semantic helpers.
fn helpers(program: &ValidProgram) -> String {
    let mut atomics: HashSet<(String, AtomicOp)> = HashSet::new();
    let mut used = |b: &String, op: AtomicOp| {
        atomics.insert((b.clone(), op));
    };
    visit_stmts(&program.body, &mut |s| {
        if let Stmt::Atomic { op, buffer, .. } = s {
            used(buffer, *op);
        }
    });
    let mut h = String::new();
    h.push_str(SEMANTIC_HELPERS);
    if uses_crc(program) {
        h.push_str(&crc_helpers());
    }
    // A lane that leaves a loop out of fuel or cut off: one outcome entry, while there is room.
    let _ = writeln!(
        h,
        "fn ml_report(lane: u32, what: u32) {{\n    let k = atomicAdd(&ml_outcome[0], 1u);\n    \
         if (k < {OUTCOME_ENTRIES}u) {{\n        atomicStore(&ml_outcome[1u + 2u * k], lane);\n        \
         atomicStore(&ml_outcome[2u + 2u * k], what);\n    }}\n}}\n"
    );
    for b in &program.buffers {
        let (n, w) = (&b.name, b.words);
        let _ = writeln!(
            h,
            "fn load_{n}(i: u32) -> u32 {{ if (i < {w}u) {{ return atomicLoad(&b_{n}[i]); }} return 0u; }}"
        );
        let _ = writeln!(h, "fn store_{n}(i: u32, v: u32) {{ if (i < {w}u) {{ atomicStore(&b_{n}[i], v); }} }}");
        for op in AtomicOp::ALL {
            if !atomics.contains(&(n.clone(), op)) {
                continue;
            }
            let name = atomic_helper(op);
            // A bounds-checked read-modify-write through the WGSL builtin.
            let rmw = |h: &mut String, name: &str, builtin: &str| {
                let _ = writeln!(
                    h,
                    "fn {name}_{n}(i: u32, v: u32) -> u32 {{ if (i < {w}u) {{ return {builtin}(&b_{n}[i], v); }} return 0u; }}"
                );
            };
            match op {
                AtomicOp::Load => {
                    let _ = writeln!(h, "fn {name}_{n}(i: u32) -> u32 {{ return load_{n}(i); }}");
                }
                AtomicOp::Store => {
                    let _ = writeln!(h, "fn {name}_{n}(i: u32, v: u32) {{ store_{n}(i, v); }}");
                }
                AtomicOp::CompareExchange => {
                    let _ = writeln!(
                        h,
                        "fn {name}_{n}(i: u32, e: u32, d: u32) -> u32 {{\n    if (i >= {w}u) {{ return 0u; }}\n    \
                         // Strong: retry while the old value matched but nothing was exchanged.\n    \
                         for (var t = 0u; t < {CAS_RETRIES}u; t = t + 1u) {{\n        \
                         let r = atomicCompareExchangeWeak(&b_{n}[i], e, d);\n        \
                         if (r.exchanged || r.old_value != e) {{ return r.old_value; }}\n    }}\n    return e ^ 1u;\n}}"
                    );
                }
                AtomicOp::Add => rmw(&mut h, name, "atomicAdd"),
                AtomicOp::Sub => rmw(&mut h, name, "atomicSub"),
                AtomicOp::And => rmw(&mut h, name, "atomicAnd"),
                AtomicOp::Or => rmw(&mut h, name, "atomicOr"),
                AtomicOp::Xor => rmw(&mut h, name, "atomicXor"),
                AtomicOp::Min => rmw(&mut h, name, "atomicMin"),
                AtomicOp::Max => rmw(&mut h, name, "atomicMax"),
                AtomicOp::Exchange => rmw(&mut h, name, "atomicExchange"),
            }
        }
    }
    h.push('\n');
    h
}

/// Whether the program has a `crc32` statement.
fn uses_crc(program: &ValidProgram) -> bool {
    let mut found = false;
    visit_stmts(&program.body, &mut |s| found |= matches!(s, Stmt::Crc32 { .. }));
    found
}

/// The `crc32` statement's steps: zlib's reflected CRC-32, a byte at a time bit by bit
/// (no loop: a driver's loop limit counts only the statement's word loop), and a word at
/// a time by slicing-by-4 over the workgroup's tables (one dependent lookup round a word
/// instead of 32 dependent bit steps).
fn crc_helpers() -> String {
    let step = "    c = (c >> 1u) ^ (0xedb88320u & (0u - (c & 1u)));\n";
    format!(
        "fn ml_crc32_byte(crc: u32, b: u32) -> u32 {{\n    var c: u32 = crc ^ (b & 0xffu);\n{}    return c;\n}}\n\
         fn ml_crc_entry(t: u32) -> u32 {{\n    var c: u32 = ml_crc32_byte(0u, t & 0xffu);\n    \
         for (var k = 0u; k < t / 256u; k = k + 1u) {{ c = ml_crc32_byte(c, 0u); }}\n    return c;\n}}\n\
         fn ml_crc32_word(crc: u32, w: u32) -> u32 {{\n    let c = crc ^ w;\n    \
         return ml_crc_table[768u + (c & 0xffu)] ^ ml_crc_table[512u + ((c >> 8u) & 0xffu)] ^ \
         ml_crc_table[256u + ((c >> 16u) & 0xffu)] ^ ml_crc_table[c >> 24u];\n}}\n",
        step.repeat(8)
    )
}

const SEMANTIC_HELPERS: &str = "\
fn ml_opaque_u32(x: u32) -> u32 { return x; }
fn ml_opaque_i32(x: i32) -> i32 { return x; }
fn ml_opaque_f32(x: f32) -> f32 { return x; }
fn ml_div_u32(a: u32, b: u32) -> u32 { if (b == 0u) { return a; } return a / b; }
fn ml_rem_u32(a: u32, b: u32) -> u32 { if (b == 0u) { return 0u; } return a % b; }
fn ml_div_i32(a: i32, b: i32) -> i32 {
    if (b == 0i || (a == bitcast<i32>(0x80000000u) && b == -1i)) { return a; }
    return a / b;
}
fn ml_rem_i32(a: i32, b: i32) -> i32 {
    if (b == 0i || (a == bitcast<i32>(0x80000000u) && b == -1i)) { return 0i; }
    return a % b;
}
// NaN and the bounds are tested on the bits: WGSL lets an implementation assume no NaN or
// infinity, so `x != x` may fold to false (lavapipe did; the ir/edge_values vector) and
// `NaN != NaN` may be false (lavapipe's was; the ir/semantics_compare vector). Spec 1.4:
// every comparison with a NaN is false, except `!=`, which is true.
fn ml_f32_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn ml_f32_ordered(a: f32, b: f32) -> bool { return !(ml_f32_nan(a) || ml_f32_nan(b)); }
fn ml_f32_eq(a: f32, b: f32) -> bool { return ml_f32_ordered(a, b) && a == b; }
fn ml_f32_ne(a: f32, b: f32) -> bool { return !ml_f32_eq(a, b); }
fn ml_f32_lt(a: f32, b: f32) -> bool { return ml_f32_ordered(a, b) && a < b; }
fn ml_f32_le(a: f32, b: f32) -> bool { return ml_f32_ordered(a, b) && a <= b; }
fn ml_f32_gt(a: f32, b: f32) -> bool { return ml_f32_ordered(a, b) && a > b; }
fn ml_f32_ge(a: f32, b: f32) -> bool { return ml_f32_ordered(a, b) && a >= b; }
fn ml_f32_to_u32(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    if (b >= 0x80000000u || b > 0x7f800000u) { return 0u; }
    if (b >= 0x4f800000u) { return 0xffffffffu; }
    return u32(x);
}
fn ml_f32_to_i32(x: f32) -> i32 {
    let b = bitcast<u32>(x);
    let magnitude = b & 0x7fffffffu;
    if (magnitude > 0x7f800000u) { return 0i; }
    if (magnitude >= 0x4f000000u) {
        if (b >= 0x80000000u) { return bitcast<i32>(0x80000000u); }
        return 2147483647i;
    }
    return i32(x);
}
";
