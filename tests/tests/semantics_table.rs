//! The IR semantics table of spec part 1 is data every engine runs: the corpus's
//! `ir/semantics_*` vectors (one row per case, written by make_vectors.py). This test
//! fails when the op table (`src/ir/ops.rs`) has an operation, an operand type it accepts,
//! a conversion or a builtin that no row of the table drives, so a new op cannot land
//! without its edge cases running on the simulator, the GPU and external engines.

use std::collections::BTreeSet;

use megaloop::ir::validate::{type_of, TypeEnv};
use megaloop::ir::walk::{expr_children, stmt_exprs, visit_stmts};
use megaloop::ir::{BinaryOp, Builtin, Expr, ScalarType, UnaryOp};
use megaloop_conformance::vectors::{corpus_dir, load_corpus};

const TYPES: [ScalarType; 4] = [ScalarType::U32, ScalarType::I32, ScalarType::F32, ScalarType::Bool];

/// The table's rows read only buffers, never variables.
struct NoVariables;

impl TypeEnv for NoVariables {
    fn var_type(&self, _: &str) -> Option<ScalarType> {
        None
    }
    fn has_buffer(&self, _: &str) -> bool {
        true
    }
}

/// Every (operation, operand type) the table's expressions use, as printable names.
fn covered() -> BTreeSet<String> {
    let corpus = load_corpus(&corpus_dir()).expect("the corpus loads");
    let tables: Vec<_> = corpus.iter().filter(|v| v.name.starts_with("ir/semantics_")).collect();
    assert!(tables.len() >= 4, "the semantics table is missing from the corpus: {} vectors", tables.len());
    let mut seen = BTreeSet::new();
    for table in tables {
        for handler in &table.vector.workload.handlers {
            visit_stmts(&handler.body, &mut |s| {
                let mut todo = stmt_exprs(s);
                while let Some(e) = todo.pop() {
                    let ty = |e: &Expr| {
                        type_of(e, &NoVariables).unwrap_or_else(|(p, k)| panic!("{}: {p}: {k:?}", table.name))
                    };
                    match e {
                        Expr::Unary { op, operand } => seen.insert(format!("{op:?} {:?}", ty(operand))),
                        Expr::Binary { op, lhs, .. } => seen.insert(format!("{op:?} {:?}", ty(lhs))),
                        Expr::Cast { to, value } => seen.insert(format!("cast {:?} -> {to:?}", ty(value))),
                        Expr::Bitcast { to, value } => seen.insert(format!("bitcast {:?} -> {to:?}", ty(value))),
                        Expr::Select { if_true, .. } => seen.insert(format!("select {:?}", ty(if_true))),
                        Expr::Builtin(b) => seen.insert(format!("{b:?}")),
                        Expr::BufferLen { .. } => seen.insert("len".into()),
                        Expr::Load { .. } => seen.insert("load".into()),
                        Expr::Literal(_) | Expr::Var(_) => false,
                    };
                    todo.extend(expr_children(e));
                }
            });
        }
    }
    seen
}

/// Everything the op table says a program may compute.
fn required() -> BTreeSet<String> {
    let mut want = BTreeSet::new();
    for op in UnaryOp::ALL {
        want.extend(TYPES.iter().filter(|&&t| op.accepts(t)).map(|t| format!("{op:?} {t:?}")));
    }
    for op in BinaryOp::ALL {
        for lhs in TYPES {
            if TYPES.iter().any(|&rhs| op.result_type(lhs, rhs).is_some()) {
                want.insert(format!("{op:?} {lhs:?}"));
            }
        }
    }
    for from in TYPES {
        want.extend(TYPES.iter().map(|to| format!("cast {from:?} -> {to:?}")));
        want.insert(format!("select {from:?}"));
    }
    // Bitcasts between distinct types (one to the same type is the identity, no op).
    let numeric = [ScalarType::U32, ScalarType::I32, ScalarType::F32];
    for from in numeric {
        want.extend(numeric.iter().filter(|&&to| to != from).map(|to| format!("bitcast {from:?} -> {to:?}")));
    }
    want.extend(Builtin::ALL.iter().map(|b| format!("{b:?}")));
    want.extend(["len".to_string(), "load".to_string()]);
    want
}

#[test]
fn every_op_of_the_op_table_has_a_row_in_the_semantics_table() {
    let covered = covered();
    let missing: Vec<_> = required().difference(&covered).cloned().collect();
    assert!(
        missing.is_empty(),
        "the semantics table (specs/vectors/make_vectors.py, SEMANTICS) has no row for: {}",
        missing.join(", ")
    );
}
