//! The control buffer as a host-side value: decode from words with strict checks,
//! encode back exactly.

use crate::protocol::error::CodecError;
use crate::protocol::layout::*;
use serde::{Deserialize, Serialize};

/// Decoded control buffer. Field order follows the word order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    /// Word 0.
    pub shutdown: u32,
    /// Word 1.
    pub done_count: u32,
    /// Words 3..32: tenant `t` is authorised iff its mask is non-zero.
    pub tenant_masks: Vec<u32>,
    /// Words 32..64 (reserved).
    pub tenant_quotas: Vec<u32>,
    /// Words 64..96: claims per tenant.
    pub tenant_fairness: Vec<u32>,
    /// Words 96..128: executions per `opcode % 32`.
    pub metrics: Vec<u32>,
    /// Word 128.
    pub epoch: u32,
    /// Words 129..135: partition starts for priorities 0..5, then the end.
    pub priority_offsets: [u32; 6],
    /// Word 135.
    pub starvation: u32,
    /// Words 136..141: claims per priority.
    pub priority_claims: [u32; 5],
    /// Word 141.
    pub drain_target: u32,
    /// Word 142.
    pub settled: u32,
    /// Word 143.
    pub fault_count: u32,
    /// Word 144.
    pub fuel: u32,
    /// Word 145.
    pub fuel_exhausted: u32,
    /// Word 146.
    pub debug_dropped: u32,
    /// Word 147.
    pub io_cursor: u32,
    /// Word 148.
    pub loop_cutoff: u32,
    /// Words 149..160 (149: the benchmark baseline's head; the rest unused; kept so
    /// round trips are exact).
    pub reserved: Vec<u32>,
    /// Words 160..: handler results.
    pub observables: Vec<u32>,
}

impl Control {
    /// A fresh control block: every tenant denied, every counter zero, all slots in the
    /// NORMAL partition `[0, slots)`, the given fuel.
    pub fn new(slots: u32, observables: u32, fuel: u32) -> Control {
        Control {
            shutdown: 0,
            done_count: 0,
            tenant_masks: vec![0; MAX_TENANTS as usize],
            tenant_quotas: vec![0; 32],
            tenant_fairness: vec![0; 32],
            metrics: vec![0; METRIC_WORDS as usize],
            epoch: 0,
            priority_offsets: [0, 0, 0, slots, slots, slots],
            starvation: 0,
            priority_claims: [0; 5],
            drain_target: 0,
            settled: 0,
            fault_count: 0,
            fuel,
            fuel_exhausted: 0,
            debug_dropped: 0,
            io_cursor: 0,
            loop_cutoff: 0,
            reserved: vec![0; (CTRL_OBSERVABLES - CTRL_LOOP_CUTOFF - 1) as usize],
            observables: vec![0; observables as usize],
        }
    }

    /// Decode; the buffer must hold at least the 160 fixed words, TENANT_BASE must be 3
    /// and the priority offsets must not decrease.
    pub fn decode(words: &[u32]) -> Result<Control, CodecError> {
        if words.len() < CTRL_OBSERVABLES as usize {
            return Err(CodecError::WrongLength {
                what: "control",
                expected: format!("at least {CTRL_OBSERVABLES}"),
                got: words.len(),
            });
        }
        let w = |i: u32| words[i as usize];
        let range = |start: u32, len: u32| words[start as usize..(start + len) as usize].to_vec();
        if w(CTRL_TENANT_BASE) != CTRL_TENANT_MASKS {
            return Err(CodecError::BadTenantBase { value: w(CTRL_TENANT_BASE) });
        }
        let mut priority_offsets = [0; 6];
        for (k, slot) in priority_offsets.iter_mut().enumerate() {
            *slot = w(CTRL_PRIORITY_OFFSETS + k as u32);
            if k > 0 && *slot < w(CTRL_PRIORITY_OFFSETS + k as u32 - 1) {
                return Err(CodecError::OffsetsDecrease {
                    index: CTRL_PRIORITY_OFFSETS + k as u32,
                    value: *slot,
                    previous: w(CTRL_PRIORITY_OFFSETS + k as u32 - 1),
                });
            }
        }
        let mut priority_claims = [0; 5];
        for (k, slot) in priority_claims.iter_mut().enumerate() {
            *slot = w(CTRL_PRIORITY_CLAIMS + k as u32);
        }
        Ok(Control {
            shutdown: w(CTRL_SHUTDOWN),
            done_count: w(CTRL_DONE_COUNT),
            tenant_masks: range(CTRL_TENANT_MASKS, MAX_TENANTS),
            tenant_quotas: range(CTRL_TENANT_QUOTAS, 32),
            tenant_fairness: range(CTRL_TENANT_FAIRNESS, 32),
            metrics: range(CTRL_METRICS, METRIC_WORDS),
            epoch: w(CTRL_EPOCH),
            priority_offsets,
            starvation: w(CTRL_STARVATION),
            priority_claims,
            drain_target: w(CTRL_DRAIN_TARGET),
            settled: w(CTRL_SETTLED),
            fault_count: w(CTRL_FAULT_COUNT),
            fuel: w(CTRL_FUEL),
            fuel_exhausted: w(CTRL_FUEL_EXHAUSTED),
            debug_dropped: w(CTRL_DEBUG_DROPPED),
            io_cursor: w(CTRL_IO_CURSOR),
            loop_cutoff: w(CTRL_LOOP_CUTOFF),
            reserved: range(CTRL_LOOP_CUTOFF + 1, CTRL_OBSERVABLES - CTRL_LOOP_CUTOFF - 1),
            observables: words[CTRL_OBSERVABLES as usize..].to_vec(),
        })
    }

    /// Encode to words. Tables of the wrong length are an error, never truncated.
    pub fn encode(&self) -> Result<Vec<u32>, CodecError> {
        let check = |what: &'static str, v: &[u32], n: u32| {
            if v.len() == n as usize {
                Ok(())
            } else {
                Err(CodecError::WrongLength { what, expected: n.to_string(), got: v.len() })
            }
        };
        check("control tenant_masks", &self.tenant_masks, MAX_TENANTS)?;
        check("control tenant_quotas", &self.tenant_quotas, 32)?;
        check("control tenant_fairness", &self.tenant_fairness, 32)?;
        check("control metrics", &self.metrics, METRIC_WORDS)?;
        check("control reserved", &self.reserved, CTRL_OBSERVABLES - CTRL_LOOP_CUTOFF - 1)?;
        let mut words = vec![0u32; CTRL_OBSERVABLES as usize];
        let mut put = |i: u32, v: u32| words[i as usize] = v;
        put(CTRL_SHUTDOWN, self.shutdown);
        put(CTRL_DONE_COUNT, self.done_count);
        put(CTRL_TENANT_BASE, CTRL_TENANT_MASKS);
        let tables: [(u32, &[u32]); 8] = [
            (CTRL_TENANT_MASKS, &self.tenant_masks),
            (CTRL_TENANT_QUOTAS, &self.tenant_quotas),
            (CTRL_TENANT_FAIRNESS, &self.tenant_fairness),
            (CTRL_METRICS, &self.metrics),
            (CTRL_PRIORITY_OFFSETS, &self.priority_offsets),
            (CTRL_PRIORITY_CLAIMS, &self.priority_claims),
            (CTRL_LOOP_CUTOFF + 1, &self.reserved),
            (CTRL_OBSERVABLES, &[]),
        ];
        for (start, values) in tables {
            for (k, v) in values.iter().enumerate() {
                put(start + k as u32, *v);
            }
        }
        put(CTRL_EPOCH, self.epoch);
        put(CTRL_STARVATION, self.starvation);
        put(CTRL_DRAIN_TARGET, self.drain_target);
        put(CTRL_SETTLED, self.settled);
        put(CTRL_FAULT_COUNT, self.fault_count);
        put(CTRL_FUEL, self.fuel);
        put(CTRL_FUEL_EXHAUSTED, self.fuel_exhausted);
        put(CTRL_DEBUG_DROPPED, self.debug_dropped);
        put(CTRL_IO_CURSOR, self.io_cursor);
        put(CTRL_LOOP_CUTOFF, self.loop_cutoff);
        words.extend_from_slice(&self.observables);
        Ok(words)
    }

    /// The priority partitions of a ring of `slots`, CRITICAL first: each
    /// `[offsets[p], offsets[p+1])` clamped to the ring (empty where offsets decrease), as
    /// lanes see them (spec 2.6, 2.7).
    pub fn partitions(&self, slots: u32) -> [std::ops::Range<u32>; PRIORITY_LEVELS as usize] {
        let at = |p: usize| self.priority_offsets[p].min(slots);
        std::array::from_fn(|p| at(p)..at(p + 1).max(at(p)))
    }

    /// Whether tenant `t` is authorised: inside the table and its mask is non-zero.
    pub fn tenant_authorised(&self, tenant: u32) -> bool {
        tenant < MAX_TENANTS && self.tenant_masks[tenant as usize] != 0
    }
}

/// Partition offsets for slots laid out priority by priority: `counts[p]` slots of
/// priority `p`, in priority order.
pub fn priority_offsets(counts: [u32; 5]) -> Result<[u32; 6], CodecError> {
    let mut offsets = [0u32; 6];
    for p in 0..5 {
        offsets[p + 1] = offsets[p].checked_add(counts[p]).ok_or_else(|| CodecError::WrongLength {
            what: "priority partitions",
            expected: "a total below 2^32".into(),
            got: usize::MAX,
        })?;
    }
    Ok(offsets)
}
