//! The per-slot sequence every mode shares: check status and tenant, claim by strong
//! compare-exchange, declare the handler variables, dispatch on the opcode, store the
//! outcome, and count it.

use crate::builder::names::{self, buffers::*};
use crate::builder::{tally, BuildOptions, Handler};
use crate::ir::build::stmt::*;
use crate::ir::walk::vars_used;
use crate::ir::{BinaryOp, Block, Expr};
use crate::protocol::layout::*;
use crate::protocol::Status;

fn u(v: u32) -> Expr {
    Expr::u32(v)
}

fn var(name: &str) -> Expr {
    Expr::var(name)
}

fn ring_word(k: u32) -> Expr {
    if k == 0 {
        Expr::load(RING, var("ml_base"))
    } else {
        Expr::load(RING, var("ml_base") + u(k))
    }
}

/// Whether `tenant` may run: inside the mask table and its mask non-zero (vyre defect 1
/// fixed: ids past the table are denied, never read as masks).
pub fn tenant_authorised(tenant: Expr) -> Expr {
    let mask_set = Expr::load(CONTROL, u(CTRL_TENANT_MASKS) + tenant.clone()).ne(u(0));
    tenant.lt(u(MAX_TENANTS)).and(mask_set)
}

/// The claim: `ml_old` receives the status the lane saw; the lane won if it was
/// PUBLISHED. A strong compare-exchange makes exactly one lane win.
fn claim() -> Block {
    let (published, claimed) = (u(Status::Published.word()), u(Status::Claimed.word()));
    vec![compare_exchange("ml_old", RING, var("ml_base"), published, claimed)]
}

/// Try slot `slot`: when it is PUBLISHED and its tenant authorised, claim it, run its
/// handler and publish the outcome. `on_claim` runs right after a won claim.
pub fn try_slot(opts: &BuildOptions, handlers: &[Handler], slot: Expr, on_claim: Block) -> Block {
    let mut claimed = on_claim;
    claimed.extend([
        let_u32(names::SLOT, slot.clone()),
        let_u32(names::OPCODE, ring_word(SLOT_OPCODE)),
        let_u32(names::TENANT, var("ml_tenant")),
        let_u32(names::PRIORITY, ring_word(SLOT_PRIORITY)),
        let_u32(names::NEXT_STATUS, u(Status::Done.word())),
        tally::CLAIMS.add(&claim_words(), 1),
    ]);
    claimed.push(dispatch(handlers));
    if !opts.user_handlers.is_empty() {
        claimed.push(sanitize_next_status());
    }
    claimed.extend(complete());
    vec![
        let_u32("ml_base", slot * u(SLOT_WORDS)),
        if_(
            ring_word(SLOT_STATUS).eq(u(Status::Published.word())),
            vec![
                let_u32("ml_tenant", ring_word(SLOT_TENANT)),
                if_(tenant_authorised(var("ml_tenant")), {
                    let mut b = claim();
                    b.push(if_(var("ml_old").eq(u(Status::Published.word())), claimed));
                    b
                }),
            ],
        ),
    ]
}

/// The opcode if-chain; an opcode no handler takes FAULTs. Each handler's branch loads
/// only the argument words its body reads.
fn dispatch(handlers: &[Handler]) -> crate::ir::Stmt {
    let mut otherwise = vec![assign(names::NEXT_STATUS, u(Status::Fault.word()))];
    for h in handlers.iter().rev() {
        let used = vars_used(&h.body);
        let mut branch: Block = (0..SLOT_ARGS)
            .filter(|k| used.contains(&names::arg(*k)))
            .map(|k| let_u32(&names::arg(k), ring_word(SLOT_ARG0 + k)))
            .collect();
        branch.extend(h.body.iter().cloned());
        otherwise = vec![if_else(var(names::OPCODE).eq(u(h.opcode)), branch, otherwise)];
    }
    otherwise.remove(0)
}

/// A user handler may set any word: anything but a handler outcome becomes FAULT.
fn sanitize_next_status() -> crate::ir::Stmt {
    let n = || var(names::NEXT_STATUS);
    let valid = Status::ALL
        .into_iter()
        .filter(|s| s.is_handler_outcome())
        .map(|s| n().eq(u(s.word())))
        .reduce(|a, b| a.or(b))
        .unwrap_or(Expr::bool(false));
    if_(!valid, vec![assign(names::NEXT_STATUS, u(Status::Fault.word()))])
}

/// The control word counting the claimed slot's tenant's claims.
fn tenant_claims_word() -> Expr {
    u(CTRL_TENANT_FAIRNESS) + var(names::TENANT)
}

/// The control word counting the claimed slot's priority's claims.
fn priority_claims_word() -> Expr {
    u(CTRL_PRIORITY_CLAIMS) + var(names::PRIORITY).min(u(PRIORITY_IDLE))
}

/// The control word counting executions of the claimed slot's opcode bucket.
fn metric_word() -> Expr {
    u(CTRL_METRICS) + var(names::OPCODE) % u(METRIC_WORDS)
}

/// The words a claim counts in, in [`tally::CLAIMS`]'s order: per tenant, per priority,
/// per opcode bucket (the execution is counted with the claim: a lane's tallies reach the
/// control words only when it leaves, so when within the slot's sequence it counts them
/// is not observable, spec 2.4).
fn claim_words() -> [Expr; 3] {
    [tenant_claims_word(), priority_claims_word(), metric_word()]
}

/// For a claim that did no work and yields because the IO queue was full: take back its
/// tenant and priority claim counts and the execution count the outcome will add, so
/// those counters do not depend on how many lanes found the queue full first (spec 2.10).
/// SETTLED still counts it: the epoch's drain target does.
pub fn uncount_claim() -> Block {
    vec![tally::CLAIMS.add(&claim_words(), u32::MAX)]
}

/// Store the outcome (the status word last touches the slot), then count it in the
/// lane's tallies (folded into the control words when the lane leaves).
fn complete() -> Block {
    let n = || var(names::NEXT_STATUS);
    vec![
        atomic_store(RING, var("ml_base"), n()),
        tally::SETTLED.add_one(),
        if_else(
            n().eq(u(Status::Done.word())),
            vec![tally::DONE.add_one()],
            vec![if_(n().eq(u(Status::Fault.word())), vec![tally::FAULT.add_one()])],
        ),
    ]
}

/// The persistent exit test, run first in every iteration: `leave` when SHUTDOWN is set,
/// when the epoch is closed, or when the drain target is settled: SETTLED plus the slots
/// this lane settled and has not folded in yet (every other lane folds its tally in when an
/// iteration settles nothing, so the last lane to settle a slot sees the whole count). A lane that finds the
/// target settled closes the epoch: it sets DRAIN_TARGET's CLOSED bit by compare-exchange
/// from the very value it compared against. So a host raising the target during the run
/// (the simulator's IO service re-publishing a slot, which only its own shard's lane may
/// claim) either raised it first, and the exchange fails and the lane goes on, or finds
/// CLOSED and leaves the slot for the next epoch: no lane leaves while another must spin
/// for a slot nobody will claim.
pub fn exit_test(leave: Block) -> Block {
    let target = || var("ml_target");
    let closed = |e: Expr| Expr::binary(BinaryOp::BitAnd, e, u(DRAIN_TARGET_CLOSED)).ne(u(0));
    vec![
        let_u32("ml_target", Expr::load(CONTROL, u(CTRL_DRAIN_TARGET))),
        if_(Expr::load(CONTROL, u(CTRL_SHUTDOWN)).ne(u(0)).or(closed(target())), leave.clone()),
        if_(
            (Expr::load(CONTROL, u(CTRL_SETTLED)) + tally::SETTLED.pending()).ge(target()),
            vec![
                compare_exchange(
                    "ml_closing",
                    CONTROL,
                    u(CTRL_DRAIN_TARGET),
                    target(),
                    Expr::binary(BinaryOp::BitOr, target(), u(DRAIN_TARGET_CLOSED)),
                ),
                if_(var("ml_closing").eq(target()).or(closed(var("ml_closing"))), leave),
            ],
        ),
    ]
}
