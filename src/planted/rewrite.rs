//! Mutable traversals of a program tree, for the planted faults that edit a built
//! program: every block, every statement, every expression (children before their
//! parent, so a rewrite that wraps a node never visits it again), and the types of
//! expressions where a fault depends on them.

use crate::ir::validate::{type_of, TypeEnv};
use crate::ir::walk::{expr_children_mut, stmt_blocks_mut, stmt_exprs_mut};
use crate::ir::{AtomicOp, Block, Expr, Literal, Program, ScalarType, Stmt};
use std::collections::HashMap;

/// Call `f` on every block (the body first, then nested blocks); the sum of what it returns.
pub fn blocks(program: &mut Program, f: &mut dyn FnMut(&mut Block) -> usize) -> usize {
    fn walk(block: &mut Block, f: &mut dyn FnMut(&mut Block) -> usize) -> usize {
        let mut n = f(block);
        for s in block.iter_mut() {
            for b in stmt_blocks_mut(s) {
                n += walk(b, f);
            }
        }
        n
    }
    walk(&mut program.body, f)
}

/// Call `f` on every statement, outer statements before nested ones.
pub fn stmts(program: &mut Program, f: &mut dyn FnMut(&mut Stmt) -> usize) -> usize {
    blocks(program, &mut |block| block.iter_mut().map(&mut *f).sum())
}

/// Call `f` on every expression, each node's children before the node.
pub fn exprs(program: &mut Program, f: &mut dyn FnMut(&mut Expr) -> usize) -> usize {
    fn walk(e: &mut Expr, f: &mut dyn FnMut(&mut Expr) -> usize) -> usize {
        let n: usize = expr_children_mut(e).into_iter().map(|c| walk(c, f)).sum();
        n + f(e)
    }
    stmts(program, &mut |s| stmt_exprs_mut(s).into_iter().map(|e| walk(e, f)).sum())
}

/// Remove every statement `doomed` selects; how many were removed.
pub fn remove_stmts(program: &mut Program, doomed: &dyn Fn(&Stmt) -> bool) -> usize {
    blocks(program, &mut |block| {
        let before = block.len();
        block.retain(|s| !doomed(s));
        before - block.len()
    })
}

/// Replace every statement `pick` maps to a replacement (a sequence, spliced in place).
pub fn replace_stmts(program: &mut Program, pick: &dyn Fn(&Stmt) -> Option<Block>) -> usize {
    blocks(program, &mut |block| {
        let mut n = 0;
        let mut out = Vec::with_capacity(block.len());
        for s in block.drain(..) {
            match pick(&s) {
                Some(replacement) => {
                    n += 1;
                    out.extend(replacement);
                }
                None => out.push(s),
            }
        }
        *block = out;
        n
    })
}

/// Whether `e` is the u32 literal `v`.
pub fn is_u32(e: &Expr, v: u32) -> bool {
    matches!(e, Expr::Literal(Literal::U32(x)) if *x == v)
}

/// Whether `e` is the variable `name`.
pub fn is_var(e: &Expr, name: &str) -> bool {
    matches!(e, Expr::Var(n) if n == name)
}

/// Whether `e` loads word `word` (a literal index) of `buffer`.
pub fn is_load_of(e: &Expr, buffer: &str, word: u32) -> bool {
    matches!(e, Expr::Load { buffer: b, index } if b == buffer && is_u32(index, word))
}

/// Whether `s` is an atomic `op` on word `word` (a literal index) of `buffer`.
pub fn is_atomic_on(s: &Stmt, op: AtomicOp, buffer: &str, word: u32) -> bool {
    matches!(s, Stmt::Atomic { op: o, buffer: b, index, .. } if *o == op && b == buffer && is_u32(index, word))
}

/// The declared type of every variable of a program. The builders never reuse a name
/// with another type; a name declared with two types is left out (faults that need a
/// type then leave that expression alone).
pub struct Types(HashMap<String, Option<ScalarType>>);

impl Types {
    /// Collect the declarations of `program`.
    pub fn of(program: &Program) -> Types {
        let mut map: HashMap<String, Option<ScalarType>> = HashMap::new();
        let mut declare = |name: &str, ty: ScalarType| {
            let entry = map.entry(name.to_string()).or_insert(Some(ty));
            if *entry != Some(ty) {
                *entry = None;
            }
        };
        crate::ir::walk::visit_stmts(&program.body, &mut |s| match s {
            Stmt::Let { name, ty, .. } => declare(name, *ty),
            Stmt::Atomic { result: Some(name), .. } | Stmt::For { var: name, .. } => declare(name, ScalarType::U32),
            _ => {}
        });
        Types(map)
    }

    /// The type of `e`, when it can be told.
    pub fn of_expr(&self, e: &Expr) -> Option<ScalarType> {
        type_of(e, self).ok()
    }
}

impl TypeEnv for Types {
    fn var_type(&self, name: &str) -> Option<ScalarType> {
        self.0.get(name).copied().flatten()
    }
    fn has_buffer(&self, _name: &str) -> bool {
        true
    }
}
