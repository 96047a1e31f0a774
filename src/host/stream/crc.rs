//! The stream checksum's handlers, written in the IR: CRC-32 of a chunk with
//! slicing-by-4 tables, and the GF(2) arithmetic that folds chunk CRCs into the file's
//! (zlib's `multmodp`, `x2nmodp` and `crc32_combine`).

use super::{at, CHUNK_OPCODE, COMBINE_OPCODE};
use crate::builder::names::buffers::HEAP;
use crate::builder::UserHandler;
use crate::ir::build::stmt::*;
use crate::ir::{AtomicOp, Block, Expr};
use crate::protocol::io_queue::IoOp;
use crate::protocol::Status;

/// The CRC-32 polynomial, reflected.
const POLY: u32 = 0xEDB8_8320;

/// Slicing-by-4 CRC-32 tables: `t[0]` the byte table, `t[k][n] = t[k-1][n] >> 8 ^ t[0][t[k-1][n] & 0xff]`.
pub fn crc_tables() -> Vec<u32> {
    let mut t = vec![0u32; 1024];
    for (n, entry) in t[..256].iter_mut().enumerate() {
        let mut c = n as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
        }
        *entry = c;
    }
    for k in 1..4 {
        for n in 0..256 {
            let prev = t[(k - 1) * 256 + n];
            t[k * 256 + n] = (prev >> 8) ^ t[(prev & 0xff) as usize];
        }
    }
    t
}

fn u(v: u32) -> Expr {
    Expr::u32(v)
}
fn v(name: &str) -> Expr {
    Expr::var(name)
}
fn arg(k: u32) -> Expr {
    v(&format!("arg{k}"))
}
fn heap(index: Expr) -> Expr {
    Expr::load(HEAP, index)
}
fn table(k: u32, index: Expr) -> Expr {
    heap(u(at::TABLES + 256 * k) + (index & u(0xff)))
}

/// `crc_c = crc_c ^ word`, then one slicing-by-4 step.
fn word_step(word: Expr) -> Block {
    vec![
        assign("crc_c", v("crc_c") ^ word),
        assign(
            "crc_c",
            table(3, v("crc_c"))
                ^ table(2, v("crc_c") >> u(8))
                ^ table(1, v("crc_c") >> u(16))
                ^ table(0, v("crc_c") >> u(24)),
        ),
    ]
}

/// The chunk handler: CRC-32 of `arg3` bytes at heap word `arg4` into `heap[arg6]`, then
/// `heap[arg7] += 1`.
pub fn chunk_handler() -> UserHandler {
    let mut unrolled = Vec::new();
    for j in 0..4 {
        unrolled.extend(word_step(heap(v("crc_at") + u(j))));
    }
    let mut group = vec![let_u32("crc_at", arg(4) + v("crc_g") * u(4))];
    group.extend(unrolled);
    let body = vec![
        let_u32("crc_c", u(0xFFFF_FFFF)),
        // 16 bytes per iteration, then the remaining whole words, then the tail bytes.
        for_("crc_g", u(0), arg(3) / u(16), group),
        for_("crc_w", u(0), (arg(3) % u(16)) / u(4), word_step(heap(arg(4) + (arg(3) / u(16)) * u(4) + v("crc_w")))),
        let_u32("crc_tail", heap(arg(4) + arg(3) / u(4))),
        for_(
            "crc_b",
            u(0),
            arg(3) % u(4),
            vec![assign("crc_c", table(0, v("crc_c") ^ (v("crc_tail") >> (v("crc_b") * u(8)))) ^ (v("crc_c") >> u(8)))],
        ),
        store(HEAP, arg(6), v("crc_c") ^ u(0xFFFF_FFFF)),
        atomic_add(HEAP, arg(7), u(1)),
    ];
    UserHandler { name: "stream-crc-chunk".into(), opcode: CHUNK_OPCODE, body, io: Some(IoOp::Read) }
}

/// `out = a * b mod P` in GF(2), reflected (zlib's `multmodp`), with temporaries named
/// after `out`.
fn multmodp(out: &str, a: Expr, b: Expr) -> Block {
    let (ta, tb, tp) = (format!("{out}_a"), format!("{out}_b"), format!("{out}_p"));
    let i = format!("{out}_i");
    vec![
        let_u32(&ta, a),
        let_u32(&tb, b),
        let_u32(&tp, u(0)),
        for_(
            &i,
            u(0),
            u(32),
            vec![
                if_(((v(&ta) >> (u(31) - v(&i))) & u(1)).eq(u(1)), vec![assign(&tp, v(&tp) ^ v(&tb))]),
                assign(&tb, (v(&tb) >> u(1)) ^ Expr::select((v(&tb) & u(1)).eq(u(1)), u(POLY), u(0))),
            ],
        ),
        assign(out, v(&tp)),
    ]
}

/// `out = x^(8 n) mod P` (the operator that appends `n` zero bytes), by square and multiply.
fn zeros_operator(out: &str, n: Expr) -> Block {
    let (sq, bit) = (format!("{out}_sq"), format!("{out}_bit"));
    let mut step = vec![if_(((n >> v(&bit)) & u(1)).eq(u(1)), multmodp(out, v(&sq), v(out)))];
    step.extend(multmodp(&sq, v(&sq), v(&sq)));
    vec![
        assign(out, u(1 << 31)),
        // x^8 in the reflected representation.
        let_u32(&sq, u(1 << 23)),
        for_(&bit, u(0), u(32), step),
    ]
}

/// The combine handler: `arg0` chunk CRCs at `heap[arg3..]`, each of `arg1` bytes but the
/// last (`arg2` bytes), folded into the running CRC; `heap[arg4]` must count `arg0`
/// finished chunks (FAULT otherwise) and is reset.
pub fn combine_handler() -> UserHandler {
    let mut fold = vec![let_u32("cmb_op", Expr::select((v("cmb_k") + u(1)).eq(arg(0)), v("cmb_last"), v("cmb_full")))];
    fold.extend(multmodp("cmb_run", v("cmb_op"), v("cmb_run")));
    fold.push(assign("cmb_run", v("cmb_run") ^ heap(arg(3) + v("cmb_k"))));
    let mut combine = vec![let_u32("cmb_full", u(0)), let_u32("cmb_last", u(0))];
    combine.extend(zeros_operator("cmb_full", arg(1)));
    combine.extend(zeros_operator("cmb_last", arg(2)));
    combine.push(let_u32("cmb_run", heap(u(at::RUNNING))));
    combine.push(for_("cmb_k", u(0), arg(0), fold));
    combine.push(store(HEAP, u(at::RUNNING), v("cmb_run")));
    combine.push(atomic(AtomicOp::Exchange, HEAP, arg(4), vec![u(0)], None));
    let body = vec![
        atomic_load("cmb_done", HEAP, arg(4)),
        if_else(v("cmb_done").eq(arg(0)), combine, vec![assign("next_status", u(Status::Fault.word()))]),
    ];
    UserHandler { name: "stream-crc-combine".into(), opcode: COMBINE_OPCODE, body, io: None }
}
