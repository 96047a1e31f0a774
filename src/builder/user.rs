//! User handlers: an opcode outside the reserved ranges and an IR body that sees the
//! documented variables. Each body is validated on its own first, so its errors name the
//! handler and a path inside its own body.

use crate::builder::names::{self, RESERVED_PREFIX};
use crate::builder::{protocol_buffers, BuildError, BuildOptions, MAX_USER_HANDLERS};
use crate::ir::build::stmt::let_u32;
use crate::ir::walk::visit_stmts;
use crate::ir::{validate, Block, Expr, Program, Stmt};
use crate::protocol::opcode::is_reserved;
use crate::protocol::Status;
use serde::{Deserialize, Serialize};

/// A user-defined opcode handler.
///
/// In scope: `slot`, `opcode`, `tenant`, `priority`, `arg0`..`arg11` (u32, read-only)
/// and `next_status` (u32, starts as DONE; set it to FAULT, YIELD, REQUEUE or WAIT_IO to
/// end otherwise; any other value ends as FAULT). The body may use every buffer, but may
/// not `return`, use `barrier` or `persistent_loop`, `break` outside its own loops, or
/// declare names starting with `ml_`.
///
/// With `io` set, the slot's arguments follow LOAD_MISS's (`arg0` file handle,
/// `arg1`/`arg2` offset, `arg3` bytes, `arg4` heap word, `arg5` IO state): the builder
/// wraps the body so the slot first requests that IO and parks as WAIT_IO, and the body
/// runs when the host has re-published it with the request completed OK (spec 2.8).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserHandler {
    /// Name for reports.
    pub name: String,
    /// Opcode word (not reserved).
    pub opcode: u32,
    /// Body.
    pub body: Block,
    /// The IO the slot requests before its body runs (`read`, `write` or `fence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<crate::protocol::io_queue::IoOp>,
}

impl UserHandler {
    /// Whether the body writes the ring (a store or an atomic on it): such a handler may
    /// publish slots of any opcode during an epoch.
    pub fn writes_ring(&self) -> bool {
        let mut writes = false;
        crate::ir::walk::visit_stmts(&self.body, &mut |s| {
            writes |= matches!(s, crate::ir::Stmt::Store { buffer, .. } | crate::ir::Stmt::Atomic { buffer, .. }
                if buffer == super::names::buffers::RING);
        });
        writes
    }
}

pub(crate) fn check_all(opts: &BuildOptions) -> Result<(), BuildError> {
    if opts.user_handlers.len() > MAX_USER_HANDLERS {
        return Err(BuildError::TooManyHandlers { count: opts.user_handlers.len() });
    }
    for (i, h) in opts.user_handlers.iter().enumerate() {
        if is_reserved(h.opcode) {
            return Err(BuildError::ReservedOpcode { name: h.name.clone(), opcode: h.opcode });
        }
        if let Some(first) = opts.user_handlers[..i].iter().find(|o| o.opcode == h.opcode) {
            return Err(BuildError::DuplicateOpcode {
                opcode: h.opcode,
                first: first.name.clone(),
                second: h.name.clone(),
            });
        }
        check_one(opts, h)?;
    }
    Ok(())
}

fn check_one(opts: &BuildOptions, h: &UserHandler) -> Result<(), BuildError> {
    let problem = |problem: String| BuildError::Handler { name: h.name.clone(), opcode: h.opcode, problem };
    if h.io == Some(crate::protocol::io_queue::IoOp::None) {
        return Err(problem("`io` must be read, write or fence".into()));
    }
    let mut bad = None;
    visit_stmts(&h.body, &mut |s| {
        if bad.is_some() {
            return;
        }
        let declared = match s {
            Stmt::Let { name, .. } | Stmt::For { var: name, .. } => Some(name),
            Stmt::Atomic { result, .. } => result.as_ref(),
            _ => None,
        };
        bad = match s {
            Stmt::Return => Some("`return` would leave its slot CLAIMED; set `next_status` instead".to_string()),
            Stmt::Barrier => Some("`barrier` is not allowed in a handler (lanes do not reach it together)".into()),
            Stmt::PersistentLoop { .. } => Some("`persistent_loop` is not allowed in a handler; use `for`".into()),
            Stmt::Assign { name, .. } if name != names::NEXT_STATUS && names::documented().contains(name) => {
                Some(format!("`{name}` cannot be assigned: the documented slot variables are read-only"))
            }
            _ => declared
                .filter(|n| n.starts_with(RESERVED_PREFIX))
                .map(|n| format!("`{n}`: names starting with `{RESERVED_PREFIX}` are reserved for the builder")),
        };
    });
    if let Some(p) = bad {
        return Err(problem(p));
    }
    // Validate the body where it will run: after the documented declarations.
    let mut body: Block = names::documented()
        .iter()
        .filter(|n| n.as_str() != names::NEXT_STATUS)
        .map(|n| let_u32(n, Expr::u32(0)))
        .collect();
    let prelude = body.len() + 1;
    body.push(let_u32(names::NEXT_STATUS, Expr::u32(Status::Done.word())));
    body.extend(h.body.iter().cloned());
    let program =
        Program { name: h.name.clone(), workgroup_size: opts.workgroup_size, buffers: protocol_buffers(opts), body };
    validate(&program).map(|_| ()).map_err(|errors| {
        let lines: Vec<String> = errors
            .0
            .iter()
            .map(|e| {
                let path = renumber(&e.path, prelude);
                format!("{path}: {}", e.kind)
            })
            .collect();
        problem(lines.join("; "))
    })?;
    for (k, s) in h.body.iter().enumerate() {
        if let Stmt::Break = s {
            return Err(problem(format!("body[{k}]: `break` outside a loop")));
        }
    }
    Ok(())
}

/// `body[N]...` of the wrapper program, as `body[N - prelude]...` of the handler.
fn renumber(path: &str, prelude: usize) -> String {
    let rest = path.strip_prefix("body[").and_then(|r| r.split_once(']'));
    match rest.and_then(|(n, tail)| n.parse::<usize>().ok().map(|n| (n, tail))) {
        Some((n, tail)) if n >= prelude => format!("body[{}]{tail}", n - prelude),
        _ => path.to_string(),
    }
}
