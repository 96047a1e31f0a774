//! Bodies of the built-in opcode handlers, written against the documented handler
//! variables (`slot`, `arg0`..`arg11`, `next_status`). Every memory access is
//! bounds-checked: a handler whose arguments point outside its buffer FAULTs instead of
//! touching anything.

use crate::builder::names::{self, buffers::*};
use crate::builder::BuildOptions;
use crate::ir::build::stmt::*;
use crate::ir::{AtomicOp, Block, Expr};
use crate::protocol::layout::IO_STATUS_REQUESTED;
use crate::protocol::layout::*;
use crate::protocol::opcode::{BuiltinOp, ATOMIC_ADD, MEMCPY_MAX_WORDS, STORE_U32};
use crate::protocol::packed::{PACKED_ADDR_LIMIT, PACKED_MAX_OPS, PACKED_OP_SHIFT};
use crate::protocol::Status;

fn u(v: u32) -> Expr {
    Expr::u32(v)
}

fn a(k: u32) -> Expr {
    Expr::var(&names::arg(k))
}

fn fault() -> Block {
    vec![set_status(Status::Fault)]
}

fn set_status(s: Status) -> crate::ir::Stmt {
    assign(names::NEXT_STATUS, u(s.word()))
}

/// `if cond { then } else { next_status = FAULT }`.
fn checked(cond: Expr, then: Block) -> Block {
    vec![if_else(cond, then, fault())]
}

/// The body of a built-in handler.
pub fn builtin_body(op: BuiltinOp, opts: &BuildOptions) -> Block {
    let heap = u(opts.heap_words);
    let obs = u(opts.observables);
    match op {
        BuiltinOp::Nop => vec![],
        BuiltinOp::StoreU32 => checked(a(0).lt(heap), vec![store(HEAP, a(0), a(1))]),
        BuiltinOp::AtomicAdd => checked(a(0).lt(heap), vec![atomic_add(HEAP, a(0), a(1))]),
        BuiltinOp::LoadU32 => checked(
            a(0).lt(heap).and(a(1).lt(obs)),
            vec![store(CONTROL, u(CTRL_OBSERVABLES) + a(1), Expr::load(HEAP, a(0)))],
        ),
        BuiltinOp::CompareSwap => checked(
            a(0).lt(heap).and(a(3).lt(obs)),
            vec![
                compare_exchange("ml_cas_old", HEAP, a(0), a(1), a(2)),
                store(CONTROL, u(CTRL_OBSERVABLES) + a(3), Expr::var("ml_cas_old")),
            ],
        ),
        BuiltinOp::Memcpy => {
            let h = opts.heap_words;
            let fits = |start: Expr| start.clone().le(u(h)).and(a(2).le(u(h) - start));
            checked(
                a(2).le(u(MEMCPY_MAX_WORDS)).and(fits(a(0))).and(fits(a(1))),
                vec![for_(
                    "ml_i",
                    u(0),
                    a(2),
                    vec![store(HEAP, a(0) + Expr::var("ml_i"), Expr::load(HEAP, a(1) + Expr::var("ml_i")))],
                )],
            )
        }
        BuiltinOp::BatchFence => vec![atomic(AtomicOp::Max, CONTROL, u(CTRL_EPOCH), vec![a(0)], None)],
        BuiltinOp::Printf => {
            let at = || Expr::var("ml_log_at");
            let record: Block = [Expr::var(names::SLOT), a(0), a(1), a(2)]
                .into_iter()
                .enumerate()
                .map(|(k, v)| store(DEBUG_LOG, u(1 + k as u32) + at(), v))
                .collect();
            vec![
                atomic(AtomicOp::Add, DEBUG_LOG, u(DEBUG_CURSOR), vec![u(DEBUG_RECORD_WORDS)], Some("ml_log_at")),
                if_else(
                    at().lt(u(DEBUG_RECORDS * DEBUG_RECORD_WORDS)),
                    record,
                    vec![atomic_add(CONTROL, u(CTRL_DEBUG_DROPPED), u(1))],
                ),
            ]
        }
        BuiltinOp::PackedSlot => packed_body(opts),
        BuiltinOp::Shutdown => vec![atomic_store(CONTROL, u(CTRL_SHUTDOWN), u(1))],
        BuiltinOp::LoadMiss => io_body(IO_OP_READ, vec![], opts),
    }
}

/// The packed sub-operation `k`'s head and value words, read from the ring.
fn packed_words(k: Expr) -> (Expr, Expr) {
    let base = Expr::var("ml_base") + u(SLOT_ARG0 + 1);
    let head = Expr::load(RING, base.clone() + u(2) * k.clone());
    let value = Expr::load(RING, base + u(2) * k + u(1));
    (head, value)
}

fn packed_body(opts: &BuildOptions) -> Block {
    let count = a(0);
    let (head, _) = packed_words(Expr::var("ml_pk"));
    let check_loop = for_(
        "ml_pk",
        u(0),
        count.clone(),
        vec![
            let_u32("ml_head", head),
            if_(
                (Expr::var("ml_head") >> u(PACKED_OP_SHIFT))
                    .gt(u(ATOMIC_ADD))
                    .or((Expr::var("ml_head") & u(PACKED_ADDR_LIMIT - 1)).ge(u(opts.heap_words))),
                vec![assign("ml_ok", Expr::u32(0))],
            ),
        ],
    );
    let (head, value) = packed_words(Expr::var("ml_pk"));
    let apply_loop = for_(
        "ml_pk",
        u(0),
        count.clone(),
        vec![
            let_u32("ml_head", head),
            let_u32("ml_addr", Expr::var("ml_head") & u(PACKED_ADDR_LIMIT - 1)),
            let_u32("ml_value", value),
            let_u32("ml_sub", Expr::var("ml_head") >> u(PACKED_OP_SHIFT)),
            if_else(
                Expr::var("ml_sub").eq(u(STORE_U32)),
                vec![store(HEAP, Expr::var("ml_addr"), Expr::var("ml_value"))],
                vec![if_(
                    Expr::var("ml_sub").eq(u(ATOMIC_ADD)),
                    vec![atomic_add(HEAP, Expr::var("ml_addr"), Expr::var("ml_value"))],
                )],
            ),
        ],
    );
    checked(
        count.clone().ge(u(1)).and(count.le(u(PACKED_MAX_OPS))),
        vec![let_u32("ml_ok", u(1)), check_loop, if_else(Expr::var("ml_ok").eq(u(1)), vec![apply_loop], fault())],
    )
}

/// LOAD_MISS's sequence (spec 2.8) with `op` as the entry's OP_TYPE: request the IO and
/// park as WAIT_IO while `arg5` is 0, run `then` once it is OK, FAULT otherwise. LOAD_MISS
/// is `io_body(READ, [])`; a user handler that requests IO has its body as `then`.
pub fn io_body(op: u32, then: Block, opts: &BuildOptions) -> Block {
    let h = opts.heap_words;
    let entry = || Expr::var("ml_io") * u(IO_ENTRY_WORDS);
    let field = |w: u32, v: Expr| store(IO_QUEUE, entry() + u(w), v);
    let request = vec![
        atomic(AtomicOp::Add, CONTROL, u(CTRL_IO_CURSOR), vec![u(1)], Some("ml_io")),
        if_else(
            Expr::var("ml_io").lt(u(opts.io_entries)),
            vec![
                field(IO_OP_TYPE, u(op)),
                field(IO_SRC_HANDLE, a(0)),
                field(IO_DST_HANDLE, a(4)),
                field(IO_OFFSET_LO, a(1)),
                field(IO_OFFSET_HI, a(2)),
                field(IO_BYTE_COUNT, a(3)),
                field(IO_TAG, Expr::var(names::SLOT)),
                atomic_store(IO_QUEUE, entry() + u(IO_STATUS), u(IO_STATUS_REQUESTED)),
                set_status(Status::WaitIo),
            ],
            // The queue is full this epoch: the host re-publishes the slot later, and the
            // claim is not counted (which claims find the queue full depends on the schedule).
            [vec![set_status(Status::Yield)], crate::builder::slot::uncount_claim()].concat(),
        ),
    ];
    // The heap range `heap[arg4 .. arg4 + ceil(arg3 / 4)]` must lie inside the heap.
    let words = (a(3) + u(3)) / u(4);
    let fits = a(4).le(u(h)).and(a(3).le(u(4 * h))).and(words.le(u(h) - a(4)));
    vec![if_else(a(5).eq(u(IO_STATUS_OK)), then, vec![if_else(a(5).eq(u(0)), checked(fits, request), fault())])]
}
