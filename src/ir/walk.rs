//! Traversals of program trees: the children of each statement and expression, listed
//! once here for readers (the builders, the backends) and, mutably, for editors (the
//! planted faults), so a new node kind is handled in one file.

use crate::ir::program::{Block, Expr, Stmt};
use std::collections::BTreeSet;

/// Every expression directly held by a statement (not those of nested blocks).
pub fn stmt_exprs(s: &Stmt) -> Vec<&Expr> {
    match s {
        Stmt::Let { value, .. } | Stmt::Assign { value, .. } => vec![value],
        Stmt::Store { index, value, .. } => vec![index, value],
        Stmt::Crc32 { word, bytes, .. } => vec![word, bytes],
        Stmt::Atomic { index, args, .. } => std::iter::once(index).chain(args.iter()).collect(),
        Stmt::If { cond, .. } => vec![cond],
        Stmt::For { from, to, .. } => vec![from, to],
        Stmt::PersistentLoop { fuel, exit_when, .. } => vec![fuel, exit_when],
        Stmt::Break | Stmt::Return | Stmt::Barrier => vec![],
    }
}

/// The nested blocks of a statement.
pub fn stmt_blocks(s: &Stmt) -> Vec<&Block> {
    match s {
        Stmt::If { then, otherwise, .. } => vec![then, otherwise],
        Stmt::For { body, .. } => vec![body],
        Stmt::PersistentLoop { body, on_exhausted, .. } => vec![body, on_exhausted],
        Stmt::Let { .. }
        | Stmt::Assign { .. }
        | Stmt::Store { .. }
        | Stmt::Crc32 { .. }
        | Stmt::Atomic { .. }
        | Stmt::Break
        | Stmt::Return
        | Stmt::Barrier => vec![],
    }
}

/// [`stmt_exprs`], mutably.
pub fn stmt_exprs_mut(s: &mut Stmt) -> Vec<&mut Expr> {
    match s {
        Stmt::Let { value, .. } | Stmt::Assign { value, .. } => vec![value],
        Stmt::Store { index, value, .. } => vec![index, value],
        Stmt::Crc32 { word, bytes, .. } => vec![word, bytes],
        Stmt::Atomic { index, args, .. } => std::iter::once(index).chain(args.iter_mut()).collect(),
        Stmt::If { cond, .. } => vec![cond],
        Stmt::For { from, to, .. } => vec![from, to],
        Stmt::PersistentLoop { fuel, exit_when, .. } => vec![fuel, exit_when],
        Stmt::Break | Stmt::Return | Stmt::Barrier => vec![],
    }
}

/// [`stmt_blocks`], mutably.
pub fn stmt_blocks_mut(s: &mut Stmt) -> Vec<&mut Block> {
    match s {
        Stmt::If { then, otherwise, .. } => vec![then, otherwise],
        Stmt::For { body, .. } => vec![body],
        Stmt::PersistentLoop { body, on_exhausted, .. } => vec![body, on_exhausted],
        Stmt::Let { .. }
        | Stmt::Assign { .. }
        | Stmt::Store { .. }
        | Stmt::Crc32 { .. }
        | Stmt::Atomic { .. }
        | Stmt::Break
        | Stmt::Return
        | Stmt::Barrier => vec![],
    }
}

/// [`expr_children`], mutably.
pub fn expr_children_mut(e: &mut Expr) -> Vec<&mut Expr> {
    match e {
        Expr::Literal(_) | Expr::Var(_) | Expr::BufferLen { .. } | Expr::Builtin(_) => vec![],
        Expr::Load { index, .. } => vec![index],
        Expr::Unary { operand, .. } => vec![operand],
        Expr::Binary { lhs, rhs, .. } => vec![lhs, rhs],
        Expr::Select { cond, if_true, if_false } => vec![cond, if_true, if_false],
        Expr::Cast { value, .. } | Expr::Bitcast { value, .. } => vec![value],
    }
}

/// The direct sub-expressions of an expression.
pub fn expr_children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Literal(_) | Expr::Var(_) | Expr::BufferLen { .. } | Expr::Builtin(_) => vec![],
        Expr::Load { index, .. } => vec![index],
        Expr::Unary { operand, .. } => vec![operand],
        Expr::Binary { lhs, rhs, .. } => vec![lhs, rhs],
        Expr::Select { cond, if_true, if_false } => vec![cond, if_true, if_false],
        Expr::Cast { value, .. } | Expr::Bitcast { value, .. } => vec![value],
    }
}

/// Call `f` on every statement of a block, depth first, nested blocks included.
pub fn visit_stmts<'a>(block: &'a Block, f: &mut dyn FnMut(&'a Stmt)) {
    for s in block {
        f(s);
        for b in stmt_blocks(s) {
            visit_stmts(b, f);
        }
    }
}

/// Every variable name read or assigned anywhere in a block.
pub fn vars_used(block: &Block) -> BTreeSet<String> {
    fn expr(e: &Expr, out: &mut BTreeSet<String>) {
        if let Expr::Var(name) = e {
            out.insert(name.clone());
        }
        for c in expr_children(e) {
            expr(c, out);
        }
    }
    let mut out = BTreeSet::new();
    visit_stmts(block, &mut |s| {
        if let Stmt::Assign { name, .. } = s {
            out.insert(name.clone());
        }
        for e in stmt_exprs(s) {
            expr(e, &mut out);
        }
    });
    out
}
