//! The validator: checks every name, buffer, type, scope and operand of a program and
//! returns [`ValidProgram`], the proof that later stages rely on.
//!
//! Errors name the offending node by its path in the program tree
//! (`body[2].then[0].value.lhs`), quote the printed statement and say how to fix it.
//! The validator never panics: recursion depth is bounded by [`MAX_NESTING`].

use crate::ir::ops::{bitcast_allowed, RhsRule};
use crate::ir::print;
use crate::ir::program::{Access, Block, BufferDecl, Expr, Program, Stmt};
use crate::ir::types::ScalarType;
use std::collections::HashMap;
use std::fmt;

/// Largest workgroup size (WebGPU's default `maxComputeInvocationsPerWorkgroup`).
pub const MAX_WORKGROUP_SIZE: u32 = 256;
/// Bindings must be below this (WebGPU's default `maxStorageBuffersPerShaderStage`).
pub const MAX_BINDINGS: u32 = 8;
/// Largest buffer in words: 128 MiB, WebGPU's default `maxStorageBufferBindingSize`.
pub const MAX_BUFFER_WORDS: u32 = 1 << 25;
/// Deepest nesting of blocks and expressions accepted.
pub const MAX_NESTING: usize = 64;

/// What is wrong with one node.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// A variable is used but not declared.
    #[error("unknown variable `{name}`: declare it with `let` in this block or an enclosing one before using it")]
    UnknownVariable {
        /// The name.
        name: String,
    },
    /// A buffer is used but not declared.
    #[error("unknown buffer `{name}`: declare it in the program's buffers or fix the name")]
    UnknownBuffer {
        /// The name.
        name: String,
    },
    /// A name is declared while another of the same name is in scope.
    #[error("`{name}` is already declared in scope: pick a fresh name (names are never shadowed)")]
    DuplicateVariable {
        /// The name.
        name: String,
    },
    /// A name is not an identifier.
    #[error("`{name}` is not an identifier: use ASCII letters, digits and `_`, not starting with a digit, at most 64 characters")]
    InvalidIdentifier {
        /// The name.
        name: String,
    },
    /// An operand has the wrong type.
    #[error("{what} has type {found}, expected {expected}")]
    TypeMismatch {
        /// Which operand.
        what: String,
        /// The accepted types.
        expected: String,
        /// The type found.
        found: ScalarType,
    },
    /// Assignment to something that is not a `let` variable.
    #[error("`{name}` cannot be assigned: only variables declared by `let` are mutable (loop counters and atomic results are not)")]
    NotAssignable {
        /// The name.
        name: String,
    },
    /// A write to a read-only buffer.
    #[error("buffer `{name}` is declared read-only: declare it read_write to store or use atomics on it")]
    ReadOnlyBuffer {
        /// The buffer.
        name: String,
    },
    /// Wrong number of atomic operands.
    #[error("{op} takes {expected} value operand(s), found {found}")]
    WrongArity {
        /// The op's name.
        op: &'static str,
        /// Expected count.
        expected: usize,
        /// Found count.
        found: usize,
    },
    /// An atomic store binds a result.
    #[error("{op} produces no value: remove `result`")]
    UnexpectedResult {
        /// The op's name.
        op: &'static str,
    },
    /// `break` outside a loop.
    #[error("`break` outside a loop: it may only appear inside `for` or `persistent_loop`")]
    BreakOutsideLoop,
    /// A barrier inside nested control flow.
    #[error(
        "`barrier` must be a statement of the program's top-level block, where every lane of a workgroup reaches it"
    )]
    BarrierNotTopLevel,
    /// Bad workgroup size.
    #[error("workgroup size {size} is outside 1..={MAX_WORKGROUP_SIZE}")]
    InvalidWorkgroupSize {
        /// The size.
        size: u32,
    },
    /// Two buffers share a name.
    #[error("buffer name `{name}` is declared twice: buffer names must be unique")]
    DuplicateBuffer {
        /// The name.
        name: String,
    },
    /// Two buffers share a binding.
    #[error("binding {binding} is used by `{first}` and `{second}`: bindings must be unique")]
    DuplicateBinding {
        /// The binding.
        binding: u32,
        /// First buffer.
        first: String,
        /// Second buffer.
        second: String,
    },
    /// A binding index is too high.
    #[error("binding {binding} is not below {MAX_BINDINGS}: use bindings 0..{MAX_BINDINGS}")]
    BindingTooHigh {
        /// The binding.
        binding: u32,
    },
    /// A buffer size is zero or too large.
    #[error("buffer size {words} words is outside 1..={MAX_BUFFER_WORDS}")]
    InvalidBufferSize {
        /// The size.
        words: u32,
    },
    /// A device-only range does not lie inside its buffer, past its readback range.
    #[error(
        "device-only words from {from} are not inside the buffer's {words} words past its readback range (ending at \
         {read_back})"
    )]
    DeviceOnlyOutOfRange {
        /// First device-only word.
        from: u32,
        /// End of the readback range (0 without one).
        read_back: u32,
        /// Declared words.
        words: u32,
    },
    /// A readback range is not inside its buffer.
    #[error("readback range {start}..{end} is not inside the buffer's {words} words (need start <= end <= words)")]
    ReadbackOutOfRange {
        /// Range start.
        start: u32,
        /// Range end.
        end: u32,
        /// Buffer size.
        words: u32,
    },
    /// Nesting too deep.
    #[error("nesting deeper than {MAX_NESTING} levels: split the program or flatten the expression")]
    TooDeep,
}

/// One validation error: where, what, and the printed statement it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// Path of the node in the program tree, e.g. `body[2].then[0].value.lhs`.
    pub path: String,
    /// What is wrong.
    pub kind: ErrorKind,
    /// The printed statement head or buffer declaration it occurred in.
    pub context: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind)?;
        if !self.context.is_empty() {
            write!(f, "\n    in: {}", self.context)?;
        }
        Ok(())
    }
}

/// Every error found in a program (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "program is invalid ({} error(s)):", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// A program that passed [`validate`]. Only the validator constructs it, and it is
/// immutable, so its [`key`](ValidProgram::key) stands for its contents and its
/// [`info`](ValidProgram::info) for every expression's type. Clones share the program
/// (the side table names expressions by where they live).
#[derive(Clone, Debug)]
pub struct ValidProgram {
    program: std::sync::Arc<Program>,
    info: std::sync::Arc<ProgramInfo>,
    key: u64,
}

/// What the validator found out about a valid program, for the backends to read instead
/// of deriving it again (naga's `ModuleInfo`): the type of every expression node, and
/// which declaration every variable use and assignment refers to. Nodes are named by
/// their address in the [`ValidProgram`]'s shared program, so a lookup takes constant
/// time and a node of any other program is not found.
#[derive(Debug, Default)]
pub struct ProgramInfo {
    types: HashMap<usize, ScalarType>,
    /// `Var` expressions and `assign` statements: the declaration they refer to.
    uses: HashMap<usize, VarId>,
    /// `let`, `for` and atomic-result statements: the declaration they make.
    declarations: HashMap<usize, VarId>,
    variables: u32,
}

/// A declaration of a variable, numbered in program order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub u32);

fn address<T>(node: &T) -> usize {
    node as *const T as usize
}

impl ProgramInfo {
    /// The type of expression `e`, a node of the program this table was made for;
    /// `None` for any other expression.
    pub fn type_of(&self, e: &Expr) -> Option<ScalarType> {
        self.types.get(&address(e)).copied()
    }

    /// The declaration a `Var` expression or an `assign` statement refers to.
    pub fn variable_of(&self, node: &impl VariableUse) -> Option<VarId> {
        self.uses.get(&address(node)).copied()
    }

    /// The declaration a `let`, a `for` or an atomic with a result makes.
    pub fn declared_by(&self, s: &Stmt) -> Option<VarId> {
        self.declarations.get(&address(s)).copied()
    }

    /// How many expression nodes it types.
    pub fn expressions(&self) -> usize {
        self.types.len()
    }

    /// How many variables the program declares (ids are `0..variables`).
    pub fn variables(&self) -> u32 {
        self.variables
    }
}

/// A node that may refer to a variable: a `Var` expression or an `assign` statement.
pub trait VariableUse {}
impl VariableUse for Expr {}
impl VariableUse for Stmt {}

/// Two validated programs are equal when their programs are.
impl PartialEq for ValidProgram {
    fn eq(&self, other: &ValidProgram) -> bool {
        self.key == other.key && self.program == other.program
    }
}

impl ValidProgram {
    /// The program's content key, computed once when it was validated: a 64-bit hash of
    /// the whole program, so equal programs have equal keys wherever they were built.
    /// Every backend keys its caches (compiled code, pipelines, resident buffers) on it.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// The validated program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The type of every expression of [`ValidProgram::program`], found by the validator.
    pub fn info(&self) -> &ProgramInfo {
        &self.info
    }

    /// Give the program back.
    pub fn into_program(self) -> Program {
        std::sync::Arc::try_unwrap(self.program).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The declaration of a buffer by name.
    pub fn buffer(&self, name: &str) -> Option<&BufferDecl> {
        self.program.buffers.iter().find(|b| b.name == name)
    }
}

impl std::ops::Deref for ValidProgram {
    type Target = Program;
    fn deref(&self) -> &Program {
        &self.program
    }
}

/// What an expression's types are resolved against: variables and buffers in scope.
pub trait TypeEnv {
    /// The type of a variable in scope.
    fn var_type(&self, name: &str) -> Option<ScalarType>;
    /// Whether a buffer of this name exists.
    fn has_buffer(&self, name: &str) -> bool;
}

/// The type of an expression, or the relative path (`.lhs.rhs`) and error of the first
/// bad node. Compilers of validated programs call this too, so typing lives in one place.
pub fn type_of(e: &Expr, env: &dyn TypeEnv) -> Result<ScalarType, (String, ErrorKind)> {
    type_of_at(e, env, 0, &mut |_, _| {})
}

fn prefix(seg: &str) -> impl Fn((String, ErrorKind)) -> (String, ErrorKind) + '_ {
    move |(path, kind)| (format!(".{seg}{path}"), kind)
}

fn expect(ty: ScalarType, want: ScalarType, what: &str) -> Result<(), (String, ErrorKind)> {
    if ty == want {
        Ok(())
    } else {
        Err((String::new(), ErrorKind::TypeMismatch { what: what.to_string(), expected: want.to_string(), found: ty }))
    }
}

/// [`type_of`], telling `record` the type of every node it types (children first).
fn type_of_at(
    e: &Expr,
    env: &dyn TypeEnv,
    depth: usize,
    record: &mut dyn FnMut(&Expr, ScalarType),
) -> Result<ScalarType, (String, ErrorKind)> {
    let ty = type_of_node(e, env, depth, record)?;
    record(e, ty);
    Ok(ty)
}

fn type_of_node(
    e: &Expr,
    env: &dyn TypeEnv,
    depth: usize,
    record: &mut dyn FnMut(&Expr, ScalarType),
) -> Result<ScalarType, (String, ErrorKind)> {
    if depth > MAX_NESTING {
        return Err((String::new(), ErrorKind::TooDeep));
    }
    let d = depth + 1;
    match e {
        Expr::Literal(l) => Ok(l.ty()),
        Expr::Var(name) => {
            env.var_type(name).ok_or_else(|| (String::new(), ErrorKind::UnknownVariable { name: name.clone() }))
        }
        Expr::Load { buffer, index } => {
            if !env.has_buffer(buffer) {
                return Err((String::new(), ErrorKind::UnknownBuffer { name: buffer.clone() }));
            }
            let ty = type_of_at(index, env, d, record).map_err(prefix("index"))?;
            expect(ty, ScalarType::U32, "load index").map_err(prefix("index"))?;
            Ok(ScalarType::U32)
        }
        Expr::BufferLen { buffer } => {
            if env.has_buffer(buffer) {
                Ok(ScalarType::U32)
            } else {
                Err((String::new(), ErrorKind::UnknownBuffer { name: buffer.clone() }))
            }
        }
        Expr::Builtin(_) => Ok(ScalarType::U32),
        Expr::Unary { op, operand } => {
            let ty = type_of_at(operand, env, d, record).map_err(prefix("operand"))?;
            if op.accepts(ty) {
                Ok(ty)
            } else {
                let expected = match op {
                    crate::ir::UnaryOp::Neg => "i32 or f32".to_string(),
                    crate::ir::UnaryOp::Not | crate::ir::UnaryOp::BitNot => op.sig().operand.describe().to_string(),
                };
                Err((
                    ".operand".into(),
                    ErrorKind::TypeMismatch { what: format!("operand of {}", op.sig().name), expected, found: ty },
                ))
            }
        }
        Expr::Binary { op, lhs, rhs } => {
            let lt = type_of_at(lhs, env, d, record).map_err(prefix("lhs"))?;
            let rt = type_of_at(rhs, env, d, record).map_err(prefix("rhs"))?;
            let sig = op.sig();
            if !sig.lhs.contains(lt) {
                return Err((
                    ".lhs".into(),
                    ErrorKind::TypeMismatch {
                        what: format!("left operand of {}", sig.name),
                        expected: sig.lhs.describe().into(),
                        found: lt,
                    },
                ));
            }
            op.result_type(lt, rt).ok_or_else(|| {
                let expected = match sig.rhs {
                    RhsRule::SameAsLhs => lt.to_string(),
                    RhsRule::U32 => "u32".to_string(),
                };
                (
                    ".rhs".into(),
                    ErrorKind::TypeMismatch { what: format!("right operand of {}", sig.name), expected, found: rt },
                )
            })
        }
        Expr::Select { cond, if_true, if_false } => {
            let ct = type_of_at(cond, env, d, record).map_err(prefix("cond"))?;
            expect(ct, ScalarType::Bool, "select condition").map_err(prefix("cond"))?;
            let tt = type_of_at(if_true, env, d, record).map_err(prefix("if_true"))?;
            let ft = type_of_at(if_false, env, d, record).map_err(prefix("if_false"))?;
            expect(ft, tt, "select's false value (must match the true value)").map_err(prefix("if_false"))?;
            Ok(tt)
        }
        Expr::Cast { to, value } => {
            type_of_at(value, env, d, record).map_err(prefix("value"))?;
            Ok(*to)
        }
        Expr::Bitcast { to, value } => {
            let from = type_of_at(value, env, d, record).map_err(prefix("value"))?;
            if bitcast_allowed(from, *to) {
                Ok(*to)
            } else {
                Err((
                    ".value".into(),
                    ErrorKind::TypeMismatch {
                        what: format!("bitcast to {to} operand"),
                        expected: "u32, i32 or f32 (bitcast never involves bool; use cast)".into(),
                        found: from,
                    },
                ))
            }
        }
    }
}

/// Whether `name` is an identifier the lowering can use.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    name.len() <= 64 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Clone, Copy)]
struct VarInfo {
    ty: ScalarType,
    mutable: bool,
    id: VarId,
}

struct Validator<'a> {
    buffers: HashMap<&'a str, &'a BufferDecl>,
    /// The names each open scope declared, innermost last.
    scopes: Vec<Vec<&'a str>>,
    /// Every visible name's declarations, innermost last (more than one only after a
    /// duplicate, which is an error): lookups take constant time however many names.
    visible: HashMap<&'a str, Vec<VarInfo>>,
    errors: Vec<ValidationError>,
    loop_depth: usize,
    /// Whether to make the side table.
    record: bool,
    /// The [`ProgramInfo`] being made.
    info: ProgramInfo,
}

impl TypeEnv for Validator<'_> {
    fn var_type(&self, name: &str) -> Option<ScalarType> {
        self.lookup(name).map(|v| v.ty)
    }
    fn has_buffer(&self, name: &str) -> bool {
        self.buffers.contains_key(name)
    }
}

/// Validate a program; on success the program is wrapped in [`ValidProgram`], with the
/// type of every expression in its [`ProgramInfo`].
pub fn validate(program: &Program) -> Result<ValidProgram, ValidationErrors> {
    // First the caller's program (which may nest arbitrarily deep: nothing here recurses
    // past the nesting limit), then, once it is known valid and so of bounded depth, the
    // copy the ValidProgram will share, recording the side table that names its nodes.
    let (errors, _) = check(program, false);
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    let shared = std::sync::Arc::new(program.clone());
    let (errors, info) = check(&shared, true);
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    shared.hash(&mut hasher);
    Ok(ValidProgram { program: shared, info: std::sync::Arc::new(info), key: hasher.finish() })
}

/// One validation pass over `program`: its errors and, if `record`, its side table.
fn check(program: &Program, record: bool) -> (Vec<ValidationError>, ProgramInfo) {
    let mut v = Validator {
        buffers: HashMap::new(),
        scopes: Vec::new(),
        visible: HashMap::new(),
        errors: Vec::new(),
        loop_depth: 0,
        record,
        info: ProgramInfo::default(),
    };
    v.check_header(program);
    v.block(&program.body, "body", 0);
    (v.errors, v.info)
}

impl<'a> Validator<'a> {
    fn lookup(&self, name: &str) -> Option<VarInfo> {
        self.visible.get(name).and_then(|d| d.last()).copied()
    }

    fn open_scope(&mut self) {
        self.scopes.push(Vec::new());
    }

    fn close_scope(&mut self) {
        for name in self.scopes.pop().unwrap_or_default() {
            if let Some(declarations) = self.visible.get_mut(name) {
                declarations.pop();
                if declarations.is_empty() {
                    self.visible.remove(name);
                }
            }
        }
    }

    fn error(&mut self, path: String, kind: ErrorKind, context: String) {
        self.errors.push(ValidationError { path, kind, context });
    }

    fn check_header(&mut self, p: &'a Program) {
        if p.workgroup_size == 0 || p.workgroup_size > MAX_WORKGROUP_SIZE {
            self.error(
                "workgroup_size".into(),
                ErrorKind::InvalidWorkgroupSize { size: p.workgroup_size },
                String::new(),
            );
        }
        let mut by_binding: HashMap<u32, &str> = HashMap::new();
        for (i, b) in p.buffers.iter().enumerate() {
            let path = format!("buffers[{i}]");
            let ctx = format!("buffer {} @binding({})", b.name, b.binding);
            if !is_identifier(&b.name) {
                self.error(format!("{path}.name"), ErrorKind::InvalidIdentifier { name: b.name.clone() }, ctx.clone());
            }
            if self.buffers.insert(b.name.as_str(), b).is_some() {
                self.error(format!("{path}.name"), ErrorKind::DuplicateBuffer { name: b.name.clone() }, ctx.clone());
            }
            if b.binding >= MAX_BINDINGS {
                self.error(format!("{path}.binding"), ErrorKind::BindingTooHigh { binding: b.binding }, ctx.clone());
            }
            if let Some(first) = by_binding.insert(b.binding, &b.name) {
                let kind = ErrorKind::DuplicateBinding {
                    binding: b.binding,
                    first: first.to_string(),
                    second: b.name.clone(),
                };
                self.error(format!("{path}.binding"), kind, ctx.clone());
            }
            if b.words == 0 || b.words > MAX_BUFFER_WORDS {
                self.error(format!("{path}.words"), ErrorKind::InvalidBufferSize { words: b.words }, ctx.clone());
            }
            if let Some(r) = b.readback {
                if r.start > r.end || r.end > b.words {
                    let kind = ErrorKind::ReadbackOutOfRange { start: r.start, end: r.end, words: b.words };
                    self.error(format!("{path}.readback"), kind, ctx.clone());
                }
            }
            if let Some(from) = b.device_only_from {
                let read_back = b.readback.map_or(0, |r| r.end);
                if from > b.words || read_back > from {
                    let kind = ErrorKind::DeviceOnlyOutOfRange { from, read_back, words: b.words };
                    self.error(format!("{path}.device_only_from"), kind, ctx.clone());
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr, path: &str, ctx: &Stmt) -> Option<ScalarType> {
        let typed = if self.record {
            let (mut types, mut uses) = (std::mem::take(&mut self.info.types), std::mem::take(&mut self.info.uses));
            let typed = type_of_at(e, &*self, 0, &mut |node, ty| {
                types.insert(address(node), ty);
                if let Expr::Var(name) = node {
                    if let Some(v) = self.lookup(name) {
                        uses.insert(address(node), v.id);
                    }
                }
            });
            (self.info.types, self.info.uses) = (types, uses);
            typed
        } else {
            type_of(e, &*self)
        };
        match typed {
            Ok(t) => Some(t),
            Err((rel, kind)) => {
                self.error(format!("{path}{rel}"), kind, print::stmt_head(ctx));
                None
            }
        }
    }

    fn expect_expr(&mut self, e: &Expr, want: ScalarType, what: &str, path: &str, ctx: &Stmt) {
        if let Some(found) = self.expr(e, path, ctx) {
            if found != want {
                let kind = ErrorKind::TypeMismatch { what: what.to_string(), expected: want.to_string(), found };
                self.error(path.to_string(), kind, print::stmt_head(ctx));
            }
        }
    }

    /// Declare `name` (of type `ty`, assignable or not) by statement `ctx`.
    fn declare(&mut self, name: &'a str, ty: ScalarType, mutable: bool, path: String, ctx: &Stmt) {
        let id = VarId(self.info.variables);
        self.info.variables += 1;
        if self.record {
            self.info.declarations.insert(address(ctx), id);
        }
        let info = VarInfo { ty, mutable, id };
        if !is_identifier(name) {
            self.error(path, ErrorKind::InvalidIdentifier { name: name.to_string() }, print::stmt_head(ctx));
        } else if self.lookup(name).is_some() {
            self.error(path, ErrorKind::DuplicateVariable { name: name.to_string() }, print::stmt_head(ctx));
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(name);
            self.visible.entry(name).or_default().push(info);
        }
    }

    /// The type of the `let` variable `name` (at `path`) that statement `s` overwrites,
    /// recorded as the statement's use; an unknown or read-only name is an error.
    fn assigned_variable(&mut self, name: &str, path: String, s: &Stmt) -> Option<ScalarType> {
        let Some(info) = self.lookup(name) else {
            let kind = ErrorKind::UnknownVariable { name: name.to_string() };
            self.error(path, kind, print::stmt_head(s));
            return None;
        };
        if self.record {
            self.info.uses.insert(address(s), info.id);
        }
        if !info.mutable {
            let kind = ErrorKind::NotAssignable { name: name.to_string() };
            self.error(path, kind, print::stmt_head(s));
        }
        Some(info.ty)
    }

    fn writable_buffer(&mut self, name: &str, path: String, ctx: &Stmt) {
        match self.buffers.get(name) {
            None => self.error(path, ErrorKind::UnknownBuffer { name: name.to_string() }, print::stmt_head(ctx)),
            Some(b) if b.access == Access::Read => {
                self.error(path, ErrorKind::ReadOnlyBuffer { name: name.to_string() }, print::stmt_head(ctx))
            }
            Some(_) => {}
        }
    }

    fn block(&mut self, stmts: &'a Block, path: &str, depth: usize) {
        self.open_scope();
        for (i, s) in stmts.iter().enumerate() {
            self.stmt(s, &format!("{path}[{i}]"), depth);
        }
        self.close_scope();
    }

    fn stmt(&mut self, s: &'a Stmt, path: &str, depth: usize) {
        let nests = matches!(s, Stmt::If { .. } | Stmt::For { .. } | Stmt::PersistentLoop { .. });
        if nests && depth >= MAX_NESTING {
            self.error(path.to_string(), ErrorKind::TooDeep, print::stmt_head(s));
            return;
        }
        match s {
            Stmt::Let { name, ty, value } => {
                self.expect_expr(value, *ty, "let value (must match the declared type)", &format!("{path}.value"), s);
                self.declare(name, *ty, true, format!("{path}.name"), s);
            }
            Stmt::Assign { name, value } => {
                if let Some(ty) = self.assigned_variable(name, format!("{path}.name"), s) {
                    self.expect_expr(
                        value,
                        ty,
                        "assigned value (must match the variable's type)",
                        &format!("{path}.value"),
                        s,
                    );
                }
            }
            Stmt::Crc32 { var, buffer, word, bytes } => {
                if let Some(ty) = self.assigned_variable(var, format!("{path}.var"), s) {
                    if ty != ScalarType::U32 {
                        let what = "crc32 variable".to_string();
                        let kind = ErrorKind::TypeMismatch { what, expected: ScalarType::U32.to_string(), found: ty };
                        self.error(format!("{path}.var"), kind, print::stmt_head(s));
                    }
                }
                if !self.buffers.contains_key(buffer.as_str()) {
                    let kind = ErrorKind::UnknownBuffer { name: buffer.clone() };
                    self.error(format!("{path}.buffer"), kind, print::stmt_head(s));
                }
                self.expect_expr(word, ScalarType::U32, "crc32 first word", &format!("{path}.word"), s);
                self.expect_expr(bytes, ScalarType::U32, "crc32 byte count", &format!("{path}.bytes"), s);
            }
            Stmt::Store { buffer, index, value } => {
                self.writable_buffer(buffer, format!("{path}.buffer"), s);
                self.expect_expr(index, ScalarType::U32, "store index", &format!("{path}.index"), s);
                self.expect_expr(value, ScalarType::U32, "stored value", &format!("{path}.value"), s);
            }
            Stmt::Atomic { op, buffer, index, args, result } => {
                let sig = op.sig();
                self.writable_buffer(buffer, format!("{path}.buffer"), s);
                self.expect_expr(index, ScalarType::U32, "atomic index", &format!("{path}.index"), s);
                if args.len() != sig.operands {
                    let kind = ErrorKind::WrongArity { op: sig.name, expected: sig.operands, found: args.len() };
                    self.error(format!("{path}.args"), kind, print::stmt_head(s));
                }
                for (i, a) in args.iter().enumerate() {
                    self.expect_expr(a, ScalarType::U32, "atomic operand", &format!("{path}.args[{i}]"), s);
                }
                if let Some(r) = result {
                    if !sig.has_result {
                        self.error(
                            format!("{path}.result"),
                            ErrorKind::UnexpectedResult { op: sig.name },
                            print::stmt_head(s),
                        );
                    }
                    self.declare(r, ScalarType::U32, false, format!("{path}.result"), s);
                }
            }
            Stmt::If { cond, then, otherwise } => {
                self.expect_expr(cond, ScalarType::Bool, "if condition", &format!("{path}.cond"), s);
                self.block(then, &format!("{path}.then"), depth + 1);
                self.block(otherwise, &format!("{path}.otherwise"), depth + 1);
            }
            Stmt::For { var, from, to, body } => {
                self.expect_expr(from, ScalarType::U32, "for start", &format!("{path}.from"), s);
                self.expect_expr(to, ScalarType::U32, "for bound", &format!("{path}.to"), s);
                self.open_scope();
                self.declare(var, ScalarType::U32, false, format!("{path}.var"), s);
                self.loop_depth += 1;
                self.block(body, &format!("{path}.body"), depth + 1);
                self.loop_depth -= 1;
                self.close_scope();
            }
            Stmt::PersistentLoop { fuel, exit_when, body, on_exhausted } => {
                self.expect_expr(fuel, ScalarType::U32, "loop fuel", &format!("{path}.fuel"), s);
                self.expect_expr(exit_when, ScalarType::Bool, "loop exit condition", &format!("{path}.exit_when"), s);
                self.loop_depth += 1;
                self.block(body, &format!("{path}.body"), depth + 1);
                self.loop_depth -= 1;
                self.block(on_exhausted, &format!("{path}.on_exhausted"), depth + 1);
            }
            Stmt::Break => {
                if self.loop_depth == 0 {
                    self.error(path.to_string(), ErrorKind::BreakOutsideLoop, print::stmt_head(s));
                }
            }
            Stmt::Return => {}
            Stmt::Barrier => {
                if depth != 0 {
                    self.error(path.to_string(), ErrorKind::BarrierNotTopLevel, print::stmt_head(s));
                }
            }
        }
    }
}
