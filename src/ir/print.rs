//! The readable text form of programs, used in validation errors, snapshot tests and
//! `megaloop` output. It is for people: the JSON form is the exchange format.
//!
//! Nested binary expressions are fully parenthesised, so the text never depends on
//! precedence rules.

use crate::ir::program::{Access, Block, Expr, Program, Stmt};
use crate::ir::validate::MAX_NESTING;
use std::fmt::Write;

/// Print a whole program.
pub fn program(p: &Program) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "program {:?} workgroup_size {}", p.name, p.workgroup_size);
    for b in &p.buffers {
        let access = match b.access {
            Access::Read => "read",
            Access::ReadWrite => "read_write",
        };
        let _ = write!(out, "buffer {} @binding({}) {} words {}", b.name, b.binding, access, b.words);
        if let Some(r) = b.readback {
            let _ = write!(out, " readback {}..{}", r.start, r.end);
        }
        if let Some(from) = b.device_only_from {
            let _ = write!(out, " device_only {from}..");
        }
        out.push('\n');
    }
    out.push_str("body {\n");
    block(&mut out, &p.body, 1);
    out.push_str("}\n");
    out
}

/// Print one statement's head (its first line, without nested blocks), for diagnostics.
pub fn stmt_head(s: &Stmt) -> String {
    let mut out = String::new();
    stmt_line(&mut out, s);
    out
}

/// Print an expression.
pub fn expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e, true);
    out
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn block(out: &mut String, stmts: &Block, depth: usize) {
    if depth > MAX_NESTING + 1 {
        indent(out, depth);
        out.push_str("…\n");
        return;
    }
    for s in stmts {
        indent(out, depth);
        stmt_line(out, s);
        match s {
            Stmt::If { then, otherwise, .. } => {
                out.push_str(" {\n");
                block(out, then, depth + 1);
                indent(out, depth);
                if otherwise.is_empty() {
                    out.push_str("}\n");
                } else {
                    out.push_str("} else {\n");
                    block(out, otherwise, depth + 1);
                    indent(out, depth);
                    out.push_str("}\n");
                }
            }
            Stmt::For { body, .. } => {
                out.push_str(" {\n");
                block(out, body, depth + 1);
                indent(out, depth);
                out.push_str("}\n");
            }
            Stmt::PersistentLoop { body, on_exhausted, .. } => {
                out.push_str(" {\n");
                block(out, body, depth + 1);
                indent(out, depth);
                if on_exhausted.is_empty() {
                    out.push_str("}\n");
                } else {
                    out.push_str("} on_exhausted {\n");
                    block(out, on_exhausted, depth + 1);
                    indent(out, depth);
                    out.push_str("}\n");
                }
            }
            Stmt::Let { .. }
            | Stmt::Assign { .. }
            | Stmt::Store { .. }
            | Stmt::Crc32 { .. }
            | Stmt::Atomic { .. }
            | Stmt::Break
            | Stmt::Return
            | Stmt::Barrier => out.push('\n'),
        }
    }
}

fn stmt_line(out: &mut String, s: &Stmt) {
    match s {
        Stmt::Let { name, ty, value } => {
            let _ = write!(out, "let {name}: {ty} = ");
            write_expr(out, value, true);
            out.push(';');
        }
        Stmt::Assign { name, value } => {
            let _ = write!(out, "{name} = ");
            write_expr(out, value, true);
            out.push(';');
        }
        Stmt::Store { buffer, index, value } => {
            let _ = write!(out, "{buffer}[");
            write_expr(out, index, true);
            out.push_str("] = ");
            write_expr(out, value, true);
            out.push(';');
        }
        Stmt::Crc32 { var, buffer, word, bytes } => {
            let _ = write!(out, "{var} = crc32({var}, &{buffer}[");
            write_expr(out, word, true);
            out.push_str("..], ");
            write_expr(out, bytes, true);
            out.push_str(" bytes);");
        }
        Stmt::Atomic { op, buffer, index, args, result } => {
            if let Some(r) = result {
                let _ = write!(out, "let {r} = ");
            }
            let _ = write!(out, "{}(&{buffer}[", op.sig().name);
            write_expr(out, index, true);
            out.push(']');
            for a in args {
                out.push_str(", ");
                write_expr(out, a, true);
            }
            out.push_str(");");
        }
        Stmt::If { cond, .. } => {
            out.push_str("if ");
            write_expr(out, cond, true);
        }
        Stmt::For { var, from, to, .. } => {
            let _ = write!(out, "for {var} in ");
            write_expr(out, from, false);
            out.push_str("..");
            write_expr(out, to, false);
        }
        Stmt::PersistentLoop { fuel, exit_when, .. } => {
            out.push_str("persistent_loop fuel ");
            write_expr(out, fuel, false);
            out.push_str(" until ");
            write_expr(out, exit_when, true);
        }
        Stmt::Break => out.push_str("break;"),
        Stmt::Return => out.push_str("return;"),
        Stmt::Barrier => out.push_str("barrier;"),
    }
}

fn write_expr(out: &mut String, e: &Expr, top: bool) {
    write_expr_at(out, e, top, 0);
}

/// Expressions nested deeper than the validator's limit print as `…`, so printing an
/// invalid (too deep) program for a diagnostic cannot overflow the stack.
fn write_expr_at(out: &mut String, e: &Expr, top: bool, depth: usize) {
    if depth > MAX_NESTING {
        out.push('…');
        return;
    }
    let d = depth + 1;
    match e {
        Expr::Literal(l) => {
            let _ = write!(out, "{l}");
        }
        Expr::Var(name) => out.push_str(name),
        Expr::Load { buffer, index } => {
            let _ = write!(out, "{buffer}[");
            write_expr_at(out, index, true, d);
            out.push(']');
        }
        Expr::BufferLen { buffer } => {
            let _ = write!(out, "len({buffer})");
        }
        Expr::Builtin(b) => out.push_str(b.name()),
        Expr::Unary { op, operand } => {
            let symbol = match op {
                crate::ir::UnaryOp::Neg => "-",
                crate::ir::UnaryOp::Not => "!",
                crate::ir::UnaryOp::BitNot => "~",
            };
            out.push_str(symbol);
            write_expr_at(out, operand, false, d);
        }
        Expr::Binary { op, lhs, rhs } => {
            let sig = op.sig();
            if op.is_call() {
                let _ = write!(out, "{}(", sig.symbol);
                write_expr_at(out, lhs, true, d);
                out.push_str(", ");
                write_expr_at(out, rhs, true, d);
                out.push(')');
            } else {
                if !top {
                    out.push('(');
                }
                write_expr_at(out, lhs, false, d);
                let _ = write!(out, " {} ", sig.symbol);
                write_expr_at(out, rhs, false, d);
                if !top {
                    out.push(')');
                }
            }
        }
        Expr::Select { cond, if_true, if_false } => {
            out.push_str("select(");
            write_expr_at(out, cond, true, d);
            out.push_str(", ");
            write_expr_at(out, if_true, true, d);
            out.push_str(", ");
            write_expr_at(out, if_false, true, d);
            out.push(')');
        }
        Expr::Cast { to, value } => {
            let _ = write!(out, "{to}(");
            write_expr_at(out, value, true, d);
            out.push(')');
        }
        Expr::Bitcast { to, value } => {
            let _ = write!(out, "bitcast<{to}>(");
            write_expr_at(out, value, true, d);
            out.push(')');
        }
    }
}
