//! Scalar types and literal values of the IR.
//!
//! Every buffer word is a u32; `i32` and `f32` values reach memory through bit casts.
//! f32 literals are stored as their bit pattern so that NaN payloads and signed zeros
//! survive a JSON round trip exactly.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The scalar types of the IR. There are no vectors, pointers or aggregates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(test, derive(strum::VariantArray))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum ScalarType {
    /// 32-bit unsigned integer, wrapping arithmetic.
    U32,
    /// 32-bit two's complement integer, wrapping arithmetic.
    I32,
    /// IEEE-754 binary32.
    F32,
    /// Boolean; never stored in memory directly.
    Bool,
}

impl ScalarType {
    /// Every scalar type, in declaration order.
    pub const ALL: [ScalarType; 4] = [ScalarType::U32, ScalarType::I32, ScalarType::F32, ScalarType::Bool];

    /// The WGSL and printer spelling of the type.
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::U32 => "u32",
            ScalarType::I32 => "i32",
            ScalarType::F32 => "f32",
            ScalarType::Bool => "bool",
        }
    }

    /// Whether the type is u32 or i32.
    pub fn is_integer(self) -> bool {
        matches!(self, ScalarType::U32 | ScalarType::I32)
    }

    /// Whether the type is u32, i32 or f32.
    pub fn is_numeric(self) -> bool {
        !matches!(self, ScalarType::Bool)
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A constant value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum Literal {
    /// A u32 constant.
    U32(u32),
    /// An i32 constant.
    I32(i32),
    /// An f32 constant, held as its IEEE-754 bit pattern.
    F32Bits(u32),
    /// A boolean constant.
    Bool(bool),
}

impl Literal {
    /// An f32 literal from a float value (bits preserved exactly).
    pub fn f32(value: f32) -> Self {
        Literal::F32Bits(value.to_bits())
    }

    /// The literal's type.
    pub fn ty(self) -> ScalarType {
        match self {
            Literal::U32(_) => ScalarType::U32,
            Literal::I32(_) => ScalarType::I32,
            Literal::F32Bits(_) => ScalarType::F32,
            Literal::Bool(_) => ScalarType::Bool,
        }
    }

    /// The literal as one 32-bit word (bools are 0 or 1), as the simulator holds values.
    pub fn to_word(self) -> u32 {
        match self {
            Literal::U32(v) => v,
            Literal::I32(v) => v as u32,
            Literal::F32Bits(bits) => bits,
            Literal::Bool(b) => b as u32,
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Literal::U32(v) => write!(f, "{v}u"),
            Literal::I32(v) => write!(f, "{v}i"),
            Literal::F32Bits(bits) => {
                let v = f32::from_bits(bits);
                if v.is_finite() {
                    write!(f, "{v:?}f")
                } else {
                    write!(f, "f32_bits(0x{bits:08x})")
                }
            }
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}
