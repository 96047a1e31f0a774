//! Per-lane tallies of the protocol's counters (spec 2.4 step 6 and 2.9): a lane adds
//! what it counts to private variables and folds them into the control words with one
//! atomic add each when it leaves (and, for SETTLED in persistent modes, whenever an
//! iteration settles nothing), instead of one global atomic per slot per counter.
//!
//! The counters indexed by the slot (claims per tenant, per priority, executions per
//! opcode bucket) move together, so they share one run: the three words being counted and
//! one count; a slot counted in other words first folds the run in. Counts wrap like the
//! atomics they replace, so a claim taken back (`u32::MAX`, spec 2.10) cancels within the
//! run.

use crate::builder::names::buffers::CONTROL;
use crate::ir::build::stmt::*;
use crate::ir::{Block, Expr, Stmt};
use crate::protocol::layout::*;

/// One tallied counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tally {
    /// The variable holding the lane's pending count.
    count: &'static str,
    /// The control words it folds into: one fixed word, or the variables holding the
    /// run's words (the count is added to each).
    word: Word,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Word {
    Fixed(u32),
    Run(&'static [&'static str]),
}

/// The run variable of the claims-per-tenant word (`64 + tenant`).
pub const TENANT_RUN: &str = "ml_tally_tenant_word";
/// The run variable of the claims-per-priority word (`136 + min(priority, 4)`).
pub const PRIORITY_RUN: &str = "ml_tally_priority_word";
/// The run variable of the executions-per-opcode-bucket word (`96 + opcode % 32`).
pub const METRIC_RUN: &str = "ml_tally_metric_word";

/// Slots DONE (DONE_COUNT).
pub const DONE: Tally = Tally { count: "ml_tally_done", word: Word::Fixed(CTRL_DONE_COUNT) };
/// Slots FAULT (FAULT_COUNT).
pub const FAULT: Tally = Tally { count: "ml_tally_fault", word: Word::Fixed(CTRL_FAULT_COUNT) };
/// Slots that left CLAIMED (SETTLED).
pub const SETTLED: Tally = Tally { count: "ml_tally_settled", word: Word::Fixed(CTRL_SETTLED) };
/// A claim counted per tenant, per priority and per opcode bucket at once: the three
/// counts move together (+1 for a claim, -1 for a claim taken back), so one run of the
/// three words and one count serve them.
pub const CLAIMS: Tally = Tally { count: "ml_tally_claims", word: Word::Run(&[TENANT_RUN, PRIORITY_RUN, METRIC_RUN]) };

/// Every tally, in the order a lane folds them in.
pub const ALL: [Tally; 4] = [CLAIMS, SETTLED, DONE, FAULT];

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
        if let Word::Run(words) = self.word {
            b.extend(words.iter().map(|w| let_u32(w, Expr::u32(0))));
        }
        b
    }

    /// Fold the pending count into its control words (one atomic add each, none if 0).
    pub fn flush(self) -> Stmt {
        let mut adds: Block = match self.word {
            Word::Fixed(w) => vec![atomic_add(CONTROL, Expr::u32(w), self.pending())],
            Word::Run(words) => words.iter().map(|w| atomic_add(CONTROL, Expr::var(w), self.pending())).collect(),
        };
        adds.push(assign(self.count, Expr::u32(0)));
        if_(self.pending().ne(Expr::u32(0)), adds)
    }

    /// Count `delta` in the control words `words` (one per run word; none for a fixed
    /// tally, whose word is its own).
    pub fn add(self, words: &[Expr], delta: u32) -> Stmt {
        let bump = assign(self.count, self.pending() + Expr::u32(delta));
        match self.word {
            Word::Fixed(_) => {
                debug_assert!(words.is_empty());
                bump
            }
            Word::Run(runs) => {
                debug_assert_eq!(runs.len(), words.len());
                let same = runs
                    .iter()
                    .zip(words)
                    .map(|(run, word)| word.clone().eq(Expr::var(run)))
                    .reduce(Expr::and)
                    .unwrap_or(Expr::bool(true));
                let mut switch = vec![self.flush()];
                switch.extend(runs.iter().zip(words).map(|(run, word)| assign(run, word.clone())));
                switch.push(assign(self.count, Expr::u32(delta)));
                if_else(same, vec![bump], switch)
            }
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
        self.add(&[], 1)
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
