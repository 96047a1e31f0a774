//! Reading JSON documents that hold IR (programs, workloads with handlers, case and
//! vector files). serde_json refuses documents nested deeper than 128 levels, but a
//! program the validator accepts (nesting up to `MAX_NESTING` in blocks and
//! expressions at once) can be deeper than that in JSON; so these readers lift the
//! limit and grow the stack on demand instead (serde_stacker), and the validator, not
//! the parser, bounds the depth. Found by the `validate` fuzz target.

use serde::de::DeserializeOwned;

/// Parse `text` as a `T`, however deeply it nests.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let value = T::deserialize(serde_stacker::Deserializer::new(&mut de))?;
    de.end()?;
    Ok(value)
}

/// Parse `bytes` as a `T`, however deeply it nests.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let value = T::deserialize(serde_stacker::Deserializer::new(&mut de))?;
    de.end()?;
    Ok(value)
}
