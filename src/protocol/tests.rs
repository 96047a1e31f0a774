//! Protocol tests: every codec round-trips, every codec error is reported, the
//! transition table is checked exhaustively, and the layout matches the spec.

use super::control::{priority_offsets, Control};
use super::debug_log::DebugLog;
use super::error::{words_from_le_bytes, words_to_le_bytes};
use super::io_queue::{decode_io_queue, encode_io_queue, IoEntry, IoOp};
use super::layout::*;
use super::opcode::*;
use super::packed::{decode_packed, encode_packed, PackedOp};
use super::replay::{RingLog, RingLogRecord};
use super::ring::{decode_ring, encode_ring, host_action, publish, publish_batch, slot_status, Slot};
use super::*;
use crate::geometry::Geometry;
use proptest::prelude::*;

fn arb_status() -> impl Strategy<Value = Status> {
    prop::sample::select(Status::ALL.to_vec())
}

fn arb_slot() -> impl Strategy<Value = Slot> {
    (arb_status(), any::<u32>(), any::<u32>(), any::<u32>(), any::<[u32; 12]>())
        .prop_map(|(status, opcode, tenant, priority, args)| Slot { status, opcode, tenant, priority, args })
}

fn arb_control() -> impl Strategy<Value = Control> {
    (any::<[u32; 20]>(), prop::collection::vec(any::<u32>(), 128), prop::collection::vec(any::<u32>(), 0..100))
        .prop_map(|(scalars, tables, observables)| {
            let mut c = Control::new(0, 0, 0);
            c.shutdown = scalars[0];
            c.done_count = scalars[1];
            c.tenant_masks = tables[..29].to_vec();
            c.tenant_quotas = tables[29..61].to_vec();
            c.tenant_fairness = tables[61..93].to_vec();
            c.metrics = tables[93..125].to_vec();
            c.epoch = scalars[2];
            let mut offsets: Vec<u32> = scalars[3..9].to_vec();
            offsets.sort_unstable();
            c.priority_offsets.copy_from_slice(&offsets);
            c.starvation = scalars[9];
            c.priority_claims.copy_from_slice(&scalars[10..15]);
            c.drain_target = scalars[15];
            c.settled = scalars[16];
            c.fault_count = scalars[17];
            c.fuel = scalars[18];
            c.fuel_exhausted = scalars[19];
            c.debug_dropped = tables[125];
            c.io_cursor = tables[126];
            c.loop_cutoff = tables[127];
            c.observables = observables;
            c
        })
}

fn arb_io_entry() -> impl Strategy<Value = IoEntry> {
    (
        prop::sample::select(vec![IoOp::None, IoOp::Read, IoOp::Write, IoOp::Fence]),
        any::<[u32; 3]>(),
        any::<u64>(),
        any::<u32>(),
        prop::sample::select(vec![0u32, 1, 2, IO_STATUS_OK, IO_STATUS_ERROR]),
    )
        .prop_map(|(op, [src, dst, tag], offset, byte_count, status)| IoEntry {
            op,
            src,
            dst,
            offset,
            byte_count,
            status,
            tag,
        })
}

proptest! {
    #[test]
    fn control_round_trip(c in arb_control()) {
        let words = c.encode().unwrap();
        prop_assert_eq!(words.len(), 160 + c.observables.len());
        prop_assert_eq!(words[CTRL_TENANT_BASE as usize], 3);
        prop_assert_eq!(Control::decode(&words).unwrap(), c);
    }

    #[test]
    fn control_decode_never_panics(words in prop::collection::vec(any::<u32>(), 0..300)) {
        if let Ok(c) = Control::decode(&words) {
            prop_assert_eq!(c.encode().unwrap(), words);
        }
    }

    #[test]
    fn ring_round_trip(slots in prop::collection::vec(arb_slot(), 0..20)) {
        let words = encode_ring(&slots);
        prop_assert_eq!(decode_ring(&words).unwrap(), slots);
        let bytes = words_to_le_bytes(&words);
        prop_assert_eq!(words_from_le_bytes("ring", &bytes).unwrap(), words);
    }

    #[test]
    fn io_queue_round_trip(entries in prop::collection::vec(arb_io_entry(), 64)) {
        let words = encode_io_queue(&entries).unwrap();
        prop_assert_eq!(decode_io_queue(&words).unwrap(), entries);
    }

    #[test]
    fn debug_log_round_trip(records in prop::collection::vec(any::<[u32; 4]>(), 0..=64), dropped in any::<u32>()) {
        let log = DebugLog { records, dropped };
        prop_assert_eq!(DebugLog::decode(&log.encode().unwrap(), dropped).unwrap(), log);
    }

    #[test]
    fn packed_round_trip(ops in prop::collection::vec(
        (prop::sample::select(vec![NOP, STORE_U32, ATOMIC_ADD]), 0u32..(1 << 24), any::<u32>())
            .prop_map(|(opcode, addr, value)| PackedOp { opcode, addr, value }), 1..=5)) {
        let args = encode_packed(&ops).unwrap();
        prop_assert_eq!(decode_packed(&args).unwrap(), ops);
    }

    #[test]
    fn packed_decode_never_panics(args in any::<[u32; 12]>()) {
        if let Ok(ops) = decode_packed(&args) {
            // Re-encoding a decoded slot gives its canonical form, which decodes the same.
            prop_assert_eq!(decode_packed(&encode_packed(&ops).unwrap()).unwrap(), ops);
        }
    }

    #[test]
    fn ringlog_round_trip(records in prop::collection::vec((any::<u32>(), any::<u32>(), arb_slot())
        .prop_map(|(epoch, slot, words)| RingLogRecord { epoch, slot, words }), 0..10)) {
        let log = RingLog { records };
        prop_assert_eq!(RingLog::decode(&log.encode()).unwrap(), log);
    }

    #[test]
    fn ringlog_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = RingLog::decode(&bytes);
    }
}

#[test]
fn control_errors() {
    assert!(matches!(Control::decode(&[0; 159]), Err(CodecError::WrongLength { got: 159, .. })));
    let mut words = Control::new(8, 4, 100).encode().unwrap();
    words[CTRL_TENANT_BASE as usize] = 4;
    assert_eq!(Control::decode(&words), Err(CodecError::BadTenantBase { value: 4 }));
    words[CTRL_TENANT_BASE as usize] = 3;
    words[CTRL_PRIORITY_OFFSETS as usize + 2] = 1;
    words[CTRL_PRIORITY_OFFSETS as usize + 3] = 0;
    assert_eq!(
        Control::decode(&words),
        Err(CodecError::OffsetsDecrease { index: CTRL_PRIORITY_OFFSETS + 3, value: 0, previous: 1 })
    );
    let mut c = Control::new(8, 4, 100);
    c.tenant_masks.pop();
    assert!(matches!(c.encode(), Err(CodecError::WrongLength { what: "control tenant_masks", got: 28, .. })));
}

#[test]
fn ring_errors() {
    assert!(matches!(decode_ring(&[0; 17]), Err(CodecError::WrongLength { what: "ring", got: 17, .. })));
    let mut words = encode_ring(&[Slot::empty(), Slot::empty()]);
    words[16] = 8;
    let err = decode_ring(&words).unwrap_err();
    assert_eq!(err, CodecError::BadStatus { slot: 1, value: 8 });
    assert_eq!(err.to_string(), "ring slot 1 STATUS: 8 is not a slot status (0..=7)");
    assert!(matches!(words_from_le_bytes("ring", &[1, 2, 3]), Err(CodecError::Misaligned { len: 3, .. })));
    assert!(matches!(Slot::published(0, 0, 0, &[0; 13]), Err(CodecError::WrongLength { got: 13, .. })));
}

#[test]
fn io_queue_errors() {
    assert!(matches!(decode_io_queue(&[0; 511]), Err(CodecError::WrongLength { got: 511, .. })));
    let mut words = vec![0; IO_QUEUE_WORDS as usize];
    words[8 + IO_OP_TYPE as usize] = 4;
    assert_eq!(decode_io_queue(&words), Err(CodecError::BadIoOp { entry: 1, value: 4 }));
    words[8] = 0;
    words[16 + IO_STATUS as usize] = 0x12;
    assert_eq!(decode_io_queue(&words), Err(CodecError::BadIoStatus { entry: 2, value: 0x12 }));
    assert!(matches!(encode_io_queue(&[]), Err(CodecError::WrongLength { .. })));
}

#[test]
fn debug_log_errors_and_drop_count() {
    assert!(matches!(DebugLog::decode(&[0; 10], 0), Err(CodecError::WrongLength { .. })));
    let mut words = vec![0; DEBUG_LOG_WORDS as usize];
    words[0] = 5;
    assert_eq!(DebugLog::decode(&words, 0), Err(CodecError::DebugCursorMisaligned { cursor: 5 }));
    // A cursor past capacity decodes the 64 written records and reports the drop count.
    words[0] = 4 * 70;
    let log = DebugLog::decode(&words, 6).unwrap();
    assert_eq!((log.records.len(), log.dropped), (64, 6));
    let too_many = DebugLog { records: vec![[0; 4]; 65], dropped: 0 };
    assert!(matches!(too_many.encode(), Err(CodecError::WrongLength { got: 65, .. })));
}

#[test]
fn packed_errors() {
    assert!(encode_packed(&[]).is_err());
    let op = PackedOp { opcode: STORE_U32, addr: 0, value: 0 };
    assert!(encode_packed(&[op; 6]).unwrap_err().to_string().contains("6 sub-operations"));
    assert!(encode_packed(&[PackedOp { opcode: MEMCPY, ..op }]).unwrap_err().to_string().contains("cannot be packed"));
    assert!(encode_packed(&[PackedOp { addr: 1 << 24, ..op }]).unwrap_err().to_string().contains("below 2^24"));
    let mut args = [0; 12];
    assert!(decode_packed(&args).unwrap_err().to_string().contains("count 0"));
    args[0] = 6;
    assert!(decode_packed(&args).is_err());
    args[0] = 1;
    args[1] = 3 << 24;
    assert!(decode_packed(&args).unwrap_err().to_string().contains("opcode 3"));
}

#[test]
fn ringlog_errors() {
    let log = RingLog { records: vec![RingLogRecord { epoch: 1, slot: 2, words: Slot::empty() }] };
    let bytes = log.encode();
    assert!(matches!(RingLog::decode(&bytes[..10]), Err(CodecError::ReplayHeader(_))));
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(RingLog::decode(&bad).unwrap_err().to_string().contains("magic"));
    let mut bad = bytes.clone();
    bad[4] = 2;
    assert!(RingLog::decode(&bad).unwrap_err().to_string().contains("version 2"));
    let mut bad = bytes.clone();
    bad[8] = 8;
    assert!(RingLog::decode(&bad).unwrap_err().to_string().contains("slot size 8"));
    assert!(matches!(
        RingLog::decode(&bytes[..bytes.len() - 1]),
        Err(CodecError::ReplayTruncated { record: 0, needed: 1, .. })
    ));
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(RingLog::decode(&long), Err(CodecError::ReplayTrailing { extra: 1, records: 1 }));
    let mut bad_status = bytes;
    bad_status[16 + 8] = 9;
    assert!(matches!(RingLog::decode(&bad_status), Err(CodecError::BadStatus { slot: 2, value: 9 })));
}

#[test]
fn transition_table_is_exactly_the_spec() {
    use Action as A;
    use Status as S;
    let legal: &[(A, &[S], S)] = &[
        (A::HostPublish, &[S::Empty, S::Yield, S::Requeue], S::Published),
        (A::HostCancel, &[S::Published, S::Yield, S::Requeue], S::Empty),
        (A::HostFault, &[S::Published, S::WaitIo, S::Yield, S::Requeue], S::Fault),
        (A::HostRecycle, &[S::Done, S::Fault], S::Empty),
        (A::HostIoComplete, &[S::WaitIo], S::Published),
        (A::DeviceClaim, &[S::Published], S::Claimed),
        (A::DeviceDone, &[S::Claimed], S::Done),
        (A::DeviceWaitIo, &[S::Claimed], S::WaitIo),
        (A::DeviceYield, &[S::Claimed], S::Yield),
        (A::DeviceRequeue, &[S::Claimed], S::Requeue),
        (A::DeviceFault, &[S::Claimed], S::Fault),
    ];
    let mut legal_count = 0;
    for action in A::ALL {
        let (_, froms, to) = legal.iter().find(|(a, _, _)| *a == action).unwrap();
        for from in S::ALL {
            let got = transition(from, action);
            if froms.contains(&from) {
                assert_eq!(got, Ok(*to), "{action:?} from {from}");
                legal_count += 1;
            } else {
                assert_eq!(got, Err(status::TransitionError { from, action }), "{action:?} from {from}");
            }
        }
    }
    assert_eq!(legal_count, 19);
    // No host action ever touches a CLAIMED slot: only its lane does.
    for action in A::ALL.into_iter().filter(|a| a.by_host()) {
        assert!(transition(S::Claimed, action).is_err());
    }
}

#[test]
fn publish_writes_payload_then_status_and_respects_the_state_machine() {
    struct Recorder(Vec<u32>, Vec<usize>);
    impl ring::RingWords for Recorder {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn load(&self, i: usize) -> u32 {
            self.0[i]
        }
        fn store(&mut self, i: usize, v: u32) {
            self.1.push(i);
            self.0[i] = v;
        }
    }
    let mut r = Recorder(vec![0; 32], vec![]);
    let slot = Slot::published(ATOMIC_ADD, 1, PRIORITY_HIGH, &[5, 6]).unwrap();
    publish(&mut r, 1, &slot).unwrap();
    assert_eq!(r.1.last(), Some(&16), "status written last");
    assert_eq!(r.1.len(), 16);
    assert_eq!(decode_ring(&r.0).unwrap()[1], slot);
    let again = publish(&mut r, 1, &slot).unwrap_err();
    assert!(again.to_string().contains("HostPublish is not allowed from PUBLISHED"), "{again}");
    assert!(matches!(publish(&mut r, 2, &slot), Err(CodecError::SlotOutOfRange { index: 2, slots: 2 })));
    assert_eq!(host_action(&mut r, 1, Action::HostCancel).unwrap(), Status::Empty);
}

#[test]
fn batch_publish_ends_with_its_fence_and_is_all_or_nothing() {
    let mut ring = vec![0u32; 16 * 4];
    let batch = vec![Slot::published(NOP, 0, 2, &[]).unwrap(); 2];
    let fence = publish_batch(&mut ring, 1, &batch, 0, 9).unwrap();
    assert_eq!(fence, 3);
    let slots = decode_ring(&ring).unwrap();
    assert_eq!(slots[3].opcode, BATCH_FENCE);
    assert_eq!(slots[3].args[0], 9);
    assert_eq!(slot_status(&ring, 0).unwrap(), Status::Empty);
    // A batch that would overwrite a published slot writes nothing.
    let before = ring.clone();
    assert!(publish_batch(&mut ring, 0, &batch, 0, 10).is_err());
    assert_eq!(ring, before);
    assert!(publish_batch(&mut ring, 3, &batch, 0, 1).is_err());
}

#[test]
fn opcodes_and_reserved_ranges() {
    for b in BuiltinOp::ALL {
        assert!(is_reserved(b.opcode()), "{} is reserved", b.name());
        assert_eq!(BuiltinOp::from_opcode(b.opcode()), Some(b));
        assert_eq!(BuiltinOp::from_name(&b.name().to_lowercase()), Some(b));
    }
    for op in [0, 6, 7, 0xFFF0, 0xFFFF, 0x8000_0000, u32::MAX] {
        assert!(is_reserved(op));
    }
    for op in [8, 0xFFEF, 0x1_0000, 0x7FFF_FFFF] {
        assert!(!is_reserved(op));
    }
    assert_eq!(metric_bucket(SHUTDOWN), 31);
}

#[test]
fn priority_offsets_partition_in_order() {
    assert_eq!(priority_offsets([1, 2, 0, 3, 4]).unwrap(), [0, 1, 3, 3, 6, 10]);
    assert!(priority_offsets([u32::MAX, 1, 0, 0, 0]).is_err());
    let c = Control::new(10, 0, 0);
    assert_eq!(c.priority_offsets, [0, 0, 0, 10, 10, 10]);
    assert!(!c.tenant_authorised(0));
    assert!(!c.tenant_authorised(29));
}

#[test]
fn geometry_covers_every_slot() {
    for slots in [1u32, 2, 63, 64, 65, 1000, 4096, 1 << 20, 5_000_000] {
        for wg in [1u32, 7, 64, 256] {
            let g = Geometry::once(slots, wg).unwrap();
            assert!(g.workgroups <= crate::geometry::MAX_WORKGROUPS);
            assert!(g.padded_slots() >= u64::from(slots), "{slots} {wg}");
            assert!(g.padded_slots() - u64::from(slots) < g.lanes(), "one sweep of padding at most");
            // Every slot has exactly one owner lane in a sweep.
            for s in [0, slots / 2, slots - 1] {
                assert!(g.owner(s) < g.lanes());
            }
            let p = Geometry::persistent(slots, wg, 8).unwrap();
            assert!(p.workgroups <= 8 && p.workgroups >= 1);
        }
    }
    assert!(Geometry::once(0, 64).is_err());
    assert!(Geometry::once(1, 0).is_err());
    assert!(Geometry::persistent(1, 64, 0).is_err());
}

#[test]
fn geometry_rules_say_what_they_launch() {
    use crate::builder::Mode;
    use crate::geometry::GeometryRule;
    use crate::host::runner::RunConfig;
    assert_eq!(GeometryRule::CoResidentShare { co_resident: 4224, share: 16 }.workgroups(), 264);
    assert_eq!(GeometryRule::CoResidentShare { co_resident: 3, share: 16 }.workgroups(), 1, "never 0");
    assert_eq!(GeometryRule::HostThreads { threads: 2, per_thread: 2 }.workgroups(), 4);
    assert_eq!(GeometryRule::Given { workgroups: 9 }.workgroups(), 9);
    // An advised once grid: as advised while its lanes stay under the driver's loop limit...
    let mut c = RunConfig::new(Mode::Once);
    c.auto_workgroups = true;
    c.geometry_rule = GeometryRule::HostThreads { threads: 2, per_thread: 2 };
    c.max_workgroups = c.geometry_rule.workgroups();
    let (g, rule) = c.geometry_and_rule(1 << 20).unwrap();
    assert_eq!((g.workgroups, rule), (4, c.geometry_rule));
    // ...widened when a lane would sweep past it, never past one lane per slot.
    c.fuel_cap = Some(1000);
    let (g, rule) = c.geometry_and_rule(1 << 20).unwrap();
    assert!(g.slots_per_lane() <= 1000, "{g:?}");
    assert_eq!(g.workgroups, (1u32 << 20).div_ceil(1000).div_ceil(64));
    assert_eq!(rule, GeometryRule::WidenedForLoopLimit { chosen: 4, sweeps_per_lane: 1000 });
    c.fuel_cap = Some(1);
    assert_eq!(c.geometry_and_rule(100).unwrap().0.workgroups, 2, "one lane per slot at most");
    // A grid the caller gave is never changed behind their back.
    c.auto_workgroups = false;
    c.geometry_rule = GeometryRule::Given { workgroups: 4 };
    assert_eq!(c.geometry_and_rule(1 << 20).unwrap().0.workgroups, 4);
    // Every rule explains itself.
    for rule in [
        GeometryRule::LanePerSlot,
        GeometryRule::CappedToCoResident { asked: 10, co_resident: 4 },
        GeometryRule::WidenedForLoopLimit { chosen: 4, sweeps_per_lane: 1000 },
    ] {
        assert!(!rule.to_string().is_empty());
    }
}

#[test]
fn spec_documents_every_layout_constant() {
    let spec = include_str!("../../specs/protocol.md");
    for e in LAYOUT {
        let row = format!("| `{}` | {} |", e.name, e.value);
        assert!(spec.contains(&row), "specs/protocol.md lacks the row {row}");
    }
}

/// Every hand-written `ALL` list of an op table or protocol enum holds every variant, in
/// declaration order (test builds derive the variant list).
#[test]
fn every_all_list_is_complete() {
    use crate::builder::Mode;
    use crate::ir::{AtomicOp, BinaryOp, Builtin, ScalarType, UnaryOp};
    use crate::protocol::opcode::BuiltinOp;
    use crate::protocol::Action;
    use strum::VariantArray;
    assert_eq!(UnaryOp::ALL.as_slice(), UnaryOp::VARIANTS);
    assert_eq!(BinaryOp::ALL.as_slice(), BinaryOp::VARIANTS);
    assert_eq!(AtomicOp::ALL.as_slice(), AtomicOp::VARIANTS);
    assert_eq!(Builtin::ALL.as_slice(), Builtin::VARIANTS);
    assert_eq!(ScalarType::ALL.as_slice(), ScalarType::VARIANTS);
    assert_eq!(Mode::ALL.as_slice(), Mode::VARIANTS);
    assert_eq!(BuiltinOp::ALL.as_slice(), BuiltinOp::VARIANTS);
    assert_eq!(Status::ALL.as_slice(), Status::VARIANTS);
    assert_eq!(Action::ALL.as_slice(), Action::VARIANTS);
}
