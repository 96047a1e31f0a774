//! [`Ring::epoch_program`]: the handlers of the opcodes the ring can meet, never fewer.

use super::*;
use crate::builder::{Mode, UserHandler};
use crate::ir::build::stmt::store;
use crate::ir::walk::visit_stmts;
use crate::ir::Expr;

fn statements(p: &ValidProgram) -> usize {
    let mut n = 0;
    visit_stmts(&p.program().body, &mut |_| n += 1);
    n
}

fn ring_of(opts: BuildOptions, opcodes: &[u32]) -> Ring {
    let mut ring = Ring::new(opts, 100).unwrap();
    for (i, &op) in opcodes.iter().enumerate() {
        ring.publish(i, &Slot::published(op, 0, PRIORITY_NORMAL, &[]).unwrap()).unwrap();
    }
    ring
}

#[test]
fn holds_the_met_builtins_and_grows_with_them() {
    for mode in Mode::ALL {
        let opts = BuildOptions::new(mode, 16);
        let mut ring = ring_of(opts.clone(), &[BuiltinOp::Nop.opcode()]);
        let nop_only = ring.epoch_program().unwrap();
        let full = ring.program().clone();
        assert!(statements(&nop_only) < statements(&full), "{mode:?}: the NOP-only program is not smaller");
        let expected = BuildOptions { met_builtins: Some(vec![BuiltinOp::Nop]), ..opts.clone() };
        assert_eq!(nop_only.key(), build(&expected).unwrap().key(), "{mode:?}");
        // A slot of another built-in joins the set; the set never shrinks.
        ring.publish(1, &Slot::published(BuiltinOp::StoreU32.opcode(), 0, PRIORITY_NORMAL, &[0, 1]).unwrap()).unwrap();
        let both = ring.epoch_program().unwrap();
        let expected = BuildOptions { met_builtins: Some(vec![BuiltinOp::Nop, BuiltinOp::StoreU32]), ..opts.clone() };
        assert_eq!(both.key(), build(&expected).unwrap().key(), "{mode:?}");
        // Every built-in met: the full program itself.
        let all: Vec<u32> = BuiltinOp::ALL.iter().map(|op| op.opcode()).collect();
        let mut ring = ring_of(opts, &all);
        assert_eq!(ring.epoch_program().unwrap().key(), full.key(), "{mode:?}");
    }
}

#[test]
fn a_handler_that_can_publish_keeps_every_handler() {
    let mut opts = BuildOptions::new(Mode::Once, 8);
    opts.user_handlers = vec![UserHandler {
        name: "publisher".into(),
        opcode: 0x100,
        body: vec![store("ring", Expr::u32(16), Expr::u32(1))],
        io: None,
    }];
    assert!(opts.user_handlers[0].writes_ring());
    let mut ring = ring_of(opts, &[BuiltinOp::Nop.opcode(), 0x100]);
    assert_eq!(ring.epoch_program().unwrap().key(), ring.program().key());
}
