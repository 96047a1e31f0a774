//! PACKED_SLOT: up to 5 small heap operations in one slot's 12 argument words.
//!
//! `arg0` is the count (1..=5); sub-operation `k` uses `arg[1 + 2k]` =
//! `opcode << 24 | heap address` (opcode NOP, STORE_U32 or ATOMIC_ADD; address below
//! 2^24) and `arg[2 + 2k]` = the value. A slot breaking these limits FAULTs on the device;
//! the host encoder refuses to build one. Words after the last sub-operation are ignored,
//! by the device and the decoder alike.

use crate::protocol::error::CodecError;
use crate::protocol::opcode::{ATOMIC_ADD, NOP, STORE_U32};
use serde::{Deserialize, Serialize};

/// Most sub-operations in one packed slot.
pub const PACKED_MAX_OPS: u32 = 5;
/// Addresses must be below this.
pub const PACKED_ADDR_LIMIT: u32 = 1 << PACKED_OP_SHIFT;
/// A sub-operation's head word is `opcode << PACKED_OP_SHIFT | addr`.
pub const PACKED_OP_SHIFT: u32 = 24;

/// One packed sub-operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedOp {
    /// NOP, STORE_U32 or ATOMIC_ADD.
    pub opcode: u32,
    /// Heap word address, below 2^24.
    pub addr: u32,
    /// Stored or added value.
    pub value: u32,
}

/// Whether an opcode may be packed.
pub fn packable(opcode: u32) -> bool {
    matches!(opcode, NOP | STORE_U32 | ATOMIC_ADD)
}

/// Encode sub-operations into the 12 argument words.
pub fn encode_packed(ops: &[PackedOp]) -> Result<[u32; 12], CodecError> {
    if ops.is_empty() || ops.len() > PACKED_MAX_OPS as usize {
        return Err(CodecError::Packed(format!(
            "{} sub-operations; a packed slot holds 1..={PACKED_MAX_OPS}",
            ops.len()
        )));
    }
    let mut args = [0; 12];
    args[0] = ops.len() as u32;
    for (k, op) in ops.iter().enumerate() {
        if !packable(op.opcode) {
            return Err(CodecError::Packed(format!(
                "sub-operation {k}: opcode {} cannot be packed (only NOP 0, STORE_U32 1, ATOMIC_ADD 2)",
                op.opcode
            )));
        }
        if op.addr >= PACKED_ADDR_LIMIT {
            return Err(CodecError::Packed(format!("sub-operation {k}: address {} is not below 2^24", op.addr)));
        }
        args[1 + 2 * k] = op.opcode << PACKED_OP_SHIFT | op.addr;
        args[2 + 2 * k] = op.value;
    }
    Ok(args)
}

/// Decode the argument words of a packed slot.
pub fn decode_packed(args: &[u32; 12]) -> Result<Vec<PackedOp>, CodecError> {
    let count = args[0];
    if count == 0 || count > PACKED_MAX_OPS {
        return Err(CodecError::Packed(format!("count {count} is outside 1..={PACKED_MAX_OPS}")));
    }
    (0..count as usize)
        .map(|k| {
            let head = args[1 + 2 * k];
            let opcode = head >> PACKED_OP_SHIFT;
            if !packable(opcode) {
                return Err(CodecError::Packed(format!("sub-operation {k}: opcode {opcode} cannot be packed")));
            }
            Ok(PackedOp { opcode, addr: head & (PACKED_ADDR_LIMIT - 1), value: args[2 + 2 * k] })
        })
        .collect()
}
