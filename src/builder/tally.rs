//! Per-lane tallies of the protocol's counters (spec 2.4 step 6 and 2.9): a lane adds
//! what it counts to private variables and folds them into the control words with one
//! atomic add each when it leaves (and, for SETTLED in persistent modes, whenever an
//! iteration settles nothing), instead of one global atomic per slot per counter.
//!
//! A counter indexed by the slot (claims per tenant, per priority, executions per opcode
//! bucket) keeps a run: the word it is counting and the count; a slot counted in another
//! word first folds the run in. Counts wrap like the atomics they replace, so a claim
//! taken back (`u32::MAX`, spec 2.10) cancels within the run.

use crate::builder::names::buffers::CONTROL;
use crate::ir::build::stmt::*;
use crate::ir::{Block, Expr, Stmt};
use crate::protocol::layout::*;

/// One tallied counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tally {
    /// The variable holding the lane's pending count.
    count: &'static str,
    /// The control word it folds into: fixed, or the variable holding the run's word.
    word: Word,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Word {
    Fixed(u32),
    Run(&'static str),
}

/// Slots DONE (DONE_COUNT).
pub const DONE: Tally = Tally { count: "ml_tally_done", word: Word::Fixed(CTRL_DONE_COUNT) };
/// Slots FAULT (FAULT_COUNT).
pub const FAULT: Tally = Tally { count: "ml_tally_fault", word: Word::Fixed(CTRL_FAULT_COUNT) };
/// Slots that left CLAIMED (SETTLED).
pub const SETTLED: Tally = Tally { count: "ml_tally_settled", word: Word::Fixed(CTRL_SETTLED) };
/// Claims per tenant (`64 + tenant`).
pub const TENANT_CLAIMS: Tally = Tally { count: "ml_tally_tenant", word: Word::Run("ml_tally_tenant_word") };
/// Claims per priority (`136 + min(priority, 4)`).
pub const PRIORITY_CLAIMS: Tally = Tally { count: "ml_tally_priority", word: Word::Run("ml_tally_priority_word") };
/// Executions per opcode bucket (`96 + opcode % 32`).
pub const METRICS: Tally = Tally { count: "ml_tally_metric", word: Word::Run("ml_tally_metric_word") };

/// Every tally, in the order a lane folds them in.
pub const ALL: [Tally; 6] = [TENANT_CLAIMS, PRIORITY_CLAIMS, METRICS, SETTLED, DONE, FAULT];

impl Tally {
    /// The lane's pending count (u32).
    pub fn pending(self) -> Expr {
        Expr::var(self.count)
    }

    /// The name of the pending-count variable.
    pub fn count_name(self) -> &'static str {
        self.count
    }

    /// The declarations a lane makes before its first slot.
    fn declare(self) -> Block {
        let mut b = vec![let_u32(self.count, Expr::u32(0))];
        if let Word::Run(word) = self.word {
            b.push(let_u32(word, Expr::u32(0)));
        }
        b
    }

    fn word_expr(self) -> Expr {
        match self.word {
            Word::Fixed(w) => Expr::u32(w),
            Word::Run(v) => Expr::var(v),
        }
    }

    /// Fold the pending count into its control word (one atomic add, none if 0).
    pub fn flush(self) -> Stmt {
        if_(
            self.pending().ne(Expr::u32(0)),
            vec![atomic_add(CONTROL, self.word_expr(), self.pending()), assign(self.count, Expr::u32(0))],
        )
    }

    /// Count `delta` in control word `word` (for a fixed tally, `word` must be its word).
    pub fn add(self, word: Expr, delta: u32) -> Stmt {
        let bump = assign(self.count, self.pending() + Expr::u32(delta));
        match self.word {
            Word::Fixed(w) => {
                debug_assert!(matches!(word, Expr::Literal(crate::ir::Literal::U32(x)) if x == w));
                bump
            }
            Word::Run(run) => if_else(
                word.clone().eq(Expr::var(run)),
                vec![bump],
                vec![self.flush(), assign(run, word), assign(self.count, Expr::u32(delta))],
            ),
        }
    }

    /// Whether `s` is this tally's [`Tally::add`] of `delta` (for the planted faults that
    /// edit a built program).
    pub fn is_add(self, s: &Stmt, delta: u32) -> bool {
        let bumps = |b: &Stmt| match b {
            Stmt::Assign { name, value: Expr::Binary { op: crate::ir::BinaryOp::Add, lhs, rhs } } => {
                name == self.count
                    && matches!(&**lhs, Expr::Var(v) if v == self.count)
                    && matches!(&**rhs, Expr::Literal(crate::ir::Literal::U32(d)) if *d == delta)
            }
            _ => false,
        };
        match (self.word, s) {
            (Word::Fixed(_), _) => bumps(s),
            (Word::Run(_), Stmt::If { then, .. }) => matches!(then.as_slice(), [b] if bumps(b)),
            _ => false,
        }
    }

    /// Count 1 in a fixed tally's word.
    pub fn add_one(self) -> Stmt {
        self.add(self.word_expr(), 1)
    }
}

/// The declarations of every tally (at the top of a lane, before any slot).
pub fn declare_all() -> Block {
    ALL.iter().flat_map(|t| t.declare()).collect()
}

/// Fold every tally in (where a lane leaves).
pub fn flush_all() -> Block {
    ALL.iter().map(|t| t.flush()).collect()
}
