//! The WGSL of every builder variant validates with naga, over a range of geometries,
//! and matches its snapshot (regenerate with `INSTA_UPDATE=always`; a diff fails).

use megaloop::builder::{build, BuildOptions, Mode, Readback};
use megaloop::protocol::opcode::BuiltinOp;
use megaloop_gpu::check::validate_wgsl;
use megaloop_gpu::wgsl::lower;

fn variants() -> Vec<(String, BuildOptions)> {
    let mut v = Vec::new();
    for mode in Mode::ALL {
        for readback in [Readback::Full, Readback::ControlOnly] {
            let mut o = BuildOptions::new(mode, 64);
            o.readback = readback;
            v.push((format!("{}_{readback:?}", mode.name()), o));
        }
    }
    let mut fused = BuildOptions::new(Mode::Jit, 64);
    fused.jit_builtins = vec![BuiltinOp::Nop];
    v.push(("jit_nop".into(), fused));
    v
}

#[test]
fn every_variant_lowers_to_valid_wgsl() {
    for (name, base) in variants() {
        for slots in [1, 7, 64, 1000, 4096] {
            for wg in [1, 64, 256] {
                let mut o = base.clone();
                o.slots = slots;
                o.workgroup_size = wg;
                let lowered = lower(&build(&o).unwrap()).unwrap();
                if let Err(e) = validate_wgsl(&lowered.wgsl) {
                    panic!("{name} slots={slots} wg={wg}: naga rejects the WGSL:\n{e}");
                }
            }
        }
    }
}

#[test]
fn wgsl_snapshots() {
    for (name, o) in variants() {
        let lowered = lower(&build(&o).unwrap()).unwrap();
        insta::assert_snapshot!(name, lowered.wgsl);
    }
}

#[test]
fn naga_check_rejects_bad_wgsl() {
    let e = validate_wgsl("fn f() { let x: u32 = 1i; }").unwrap_err();
    assert!(e.contains("u32") || e.contains("type"), "{e}");
}

/// Operations on constants that wrap in the IR (`-(i32 min)`, `u32 max + 1`, the
/// negation of a negative literal, an overflowing constant f32 product) must not become
/// WGSL constant expressions, which are shader-creation errors when they overflow.
#[test]
fn constant_operations_that_wrap_lower_to_valid_wgsl() {
    use megaloop::builder::UserHandler;
    use megaloop::ir::build::stmt::store;
    use megaloop::ir::{Expr, ScalarType, UnaryOp};
    let f = |v: f32| Expr::f32(v);
    let values = [
        Expr::unary(UnaryOp::Neg, Expr::i32(i32::MIN)).bitcast(ScalarType::U32),
        Expr::unary(UnaryOp::Neg, Expr::i32(-5)).bitcast(ScalarType::U32),
        Expr::u32(u32::MAX) + Expr::u32(1),
        Expr::u32(3) << Expr::u32(40),
        (Expr::i32(i32::MAX) * Expr::i32(2)).bitcast(ScalarType::U32),
        (f(3.0e38) * f(10.0)).cast(ScalarType::U32),
        Expr::unary(UnaryOp::Neg, Expr::unary(UnaryOp::Neg, f(2.0))).cast(ScalarType::U32),
    ];
    let body = values.into_iter().enumerate().map(|(k, v)| store("heap", Expr::u32(k as u32), v)).collect();
    let mut o = BuildOptions::new(Mode::Once, 4);
    o.user_handlers = vec![UserHandler { name: "constants".into(), opcode: 0x100, body, io: None }];
    let wgsl = lower(&build(&o).unwrap()).unwrap().wgsl;
    if let Err(e) = validate_wgsl(&wgsl) {
        panic!("naga rejects the WGSL of constant operations:\n{e}");
    }
}
