//! The stream checksum's handlers, written in the IR: a chunk's request (LOAD_MISS's
//! sequence through a user handler with `io: read`), a piece's CRC-32 (the IR's `crc32`
//! statement), and the GF(2) arithmetic that folds piece CRCs into the file's: zlib's
//! `crc32_combine_gen` on the host (an operator per length), `crc32_combine_op` in the
//! kernel (table-driven for the piece size, zlib's `multmodp` for a wave's last piece).

use super::layout::RUNNING;
use super::{COMBINE_OPCODE, PIECE_OPCODE, REQUEST_OPCODE};
use crate::builder::names::buffers::HEAP;
use crate::builder::UserHandler;
use crate::ir::build::stmt::*;
use crate::ir::{AtomicOp, Block, Expr};
use crate::protocol::io_queue::IoOp;
use crate::protocol::Status;

/// The CRC-32 polynomial, reflected.
const POLY: u32 = 0xEDB8_8320;

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

/// The request handler: its slot asks for `arg3` bytes at file offset `arg1 | arg2 << 32`
/// of handle `arg0` into heap word `arg4` and parks WAIT_IO; when the host has served it,
/// it runs this empty body and settles DONE (the pieces read the landed bytes).
pub fn request_handler() -> UserHandler {
    UserHandler { name: "stream-request".into(), opcode: REQUEST_OPCODE, body: Vec::new(), io: Some(IoOp::Read) }
}

/// The piece handler: CRC-32 of `arg1` bytes at heap word `arg0` into `heap[arg2]`, then
/// `heap[arg3] += 1`.
pub fn piece_handler() -> UserHandler {
    let body = vec![
        let_u32("piece_crc", u(0)),
        crc32("piece_crc", HEAP, arg(0), arg(1)),
        store(HEAP, arg(2), v("piece_crc")),
        atomic_add(HEAP, arg(3), u(1)),
    ];
    UserHandler { name: "stream-crc-piece".into(), opcode: PIECE_OPCODE, body, io: None }
}

/// `a * b mod P` in GF(2), reflected (zlib's `multmodp`), on the host.
pub fn multmodp(a: u32, mut b: u32) -> u32 {
    let mut p = 0;
    for i in 0..32 {
        if (a >> (31 - i)) & 1 == 1 {
            p ^= b;
        }
        b = (b >> 1) ^ if b & 1 == 1 { POLY } else { 0 };
    }
    p
}

/// The operator that appends `n` zero bytes, `x^(8 n) mod P` (zlib's `crc32_combine_gen`):
/// `crc(A || B) = multmodp(op(|B|), crc(A)) ^ crc(B)`.
pub fn zeros_operator(n: u64) -> u32 {
    // x^8 in the reflected representation, squared once per bit of `n`.
    let (mut op, mut square, mut n) = (1u32 << 31, 1u32 << 23, n);
    while n > 0 {
        if n & 1 == 1 {
            op = multmodp(square, op);
        }
        square = multmodp(square, square);
        n >>= 1;
    }
    op
}

/// Multiplication by `op` as four 256-entry tables (multiplication is linear over the
/// bytes of the other factor): `multmodp(op, c) = t[0][c & 255] ^ t[1][c >> 8 & 255] ^
/// t[2][c >> 16 & 255] ^ t[3][c >> 24]`.
pub fn operator_tables(op: u32) -> Vec<u32> {
    (0..4u32).flat_map(|j| (0..256u32).map(move |b| multmodp(op, b << (8 * j)))).collect()
}

/// `out = a * b mod P` in GF(2), reflected, in the IR, with temporaries named after `out`.
fn multmodp_ir(out: &str, a: Expr, b: Expr) -> Block {
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

/// The combine handler (zlib's `crc32_combine_op` over a wave): `arg0` piece CRCs at
/// `heap[arg1..]`, in file order, folded into the running CRC. Every piece but the last
/// has the stream's piece size, whose operator the host wrote as [`operator_tables`] at
/// `heap[arg3..]`; the last piece's operator is `arg4`. `heap[arg2]` must count `arg0`
/// finished pieces (FAULT otherwise) and is reset.
pub fn combine_handler() -> UserHandler {
    let t = |j: u32, shift: u32| {
        let byte = if shift == 24 { v("cmb_run") >> u(24) } else { (v("cmb_run") >> u(shift)) & u(0xff) };
        heap(arg(3) + u(256 * j) + byte)
    };
    let mut last = vec![];
    last.extend(multmodp_ir("cmb_run", arg(4), v("cmb_run")));
    let fold = vec![
        if_else((v("cmb_k") + u(1)).eq(arg(0)), last, vec![assign("cmb_run", t(0, 0) ^ t(1, 8) ^ t(2, 16) ^ t(3, 24))]),
        assign("cmb_run", v("cmb_run") ^ heap(arg(1) + v("cmb_k"))),
    ];
    let combine = vec![
        let_u32("cmb_run", heap(u(RUNNING))),
        for_("cmb_k", u(0), arg(0), fold),
        store(HEAP, u(RUNNING), v("cmb_run")),
        atomic(AtomicOp::Exchange, HEAP, arg(2), vec![u(0)], None),
    ];
    let body = vec![
        atomic_load("cmb_done", HEAP, arg(2)),
        if_else(v("cmb_done").eq(arg(0)), combine, vec![assign("next_status", u(Status::Fault.word()))]),
    ];
    UserHandler { name: "stream-crc-combine".into(), opcode: COMBINE_OPCODE, body, io: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_operators_combine_crcs_as_zlib_does() {
        let data: Vec<u8> = (0..10_000u32).map(|k| (k.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for split in [0usize, 1, 7, 4096, 9_999, 10_000] {
            let (a, b) = data.split_at(split);
            let op = zeros_operator(b.len() as u64);
            let whole = multmodp(op, crc32fast::hash(a)) ^ crc32fast::hash(b);
            assert_eq!(whole, crc32fast::hash(&data), "split at {split}");
            let t = operator_tables(op);
            let c = crc32fast::hash(a);
            let by_table = t[(c & 255) as usize]
                ^ t[256 + (c >> 8 & 255) as usize]
                ^ t[512 + (c >> 16 & 255) as usize]
                ^ t[768 + (c >> 24) as usize];
            assert_eq!(by_table, multmodp(op, c), "table product, split at {split}");
        }
    }
}
