//! Reading JSON documents that hold IR (programs, workloads with handlers, case and
//! vector files). serde_json refuses documents nested deeper than 128 levels, but a
//! program the validator accepts (nesting up to `MAX_NESTING` in blocks and
//! expressions at once) can be deeper than that in JSON; so these readers lift serde's
//! limit and grow the stack on demand instead (serde_stacker). A document is first
//! measured without recursion, and one nested deeper than [`MAX_JSON_DEPTH`] is refused
//! with its line and column before any tree is built: a tree that deep could not be
//! valid, and dropping or walking it would recurse as deep as it nests.

use serde::de::DeserializeOwned;

/// Deepest nesting of arrays and objects a document may have: well above the deepest
/// valid program inside a vector or case file (about 5 levels per block and expression
/// level of `MAX_NESTING`, plus the file's own), far below what recursion can take.
pub const MAX_JSON_DEPTH: usize = 1024;

/// Largest document file [`read_document`] reads (a workload of the largest ring is
/// about a quarter of this).
pub const MAX_DOCUMENT_BYTES: u64 = 1 << 30;

/// Read a JSON document file: a regular file of at most [`MAX_DOCUMENT_BYTES`] (a pipe or
/// device is refused before it is opened, so nothing blocks or reads for ever). The
/// error names the path.
pub fn read_document(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let named = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(named)?;
    if !meta.is_file() {
        let what = if meta.is_dir() { "a directory" } else { "not a regular file (a pipe or device?)" };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{}: is {what}", path.display())));
    }
    let too_big = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: larger than {MAX_DOCUMENT_BYTES} bytes", path.display()),
        )
    };
    if meta.len() > MAX_DOCUMENT_BYTES {
        return Err(too_big());
    }
    let mut text = String::new();
    std::fs::File::open(path).map_err(named)?.take(MAX_DOCUMENT_BYTES + 1).read_to_string(&mut text).map_err(named)?;
    if text.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(too_big());
    }
    Ok(text)
}

/// Parse `text` as a `T`, however deeply a valid document nests.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    from_slice(text.as_bytes())
}

/// Parse `bytes` as a `T`, however deeply a valid document nests.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    check_depth(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let value = T::deserialize(serde_stacker::Deserializer::new(&mut de))?;
    de.end()?;
    Ok(value)
}

/// Refuse a document nested deeper than [`MAX_JSON_DEPTH`], naming where (a loop over the
/// bytes: strings are skipped, brackets counted).
fn check_depth(bytes: &[u8]) -> Result<(), serde_json::Error> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (at, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    let line = bytes[..at].iter().filter(|&&c| c == b'\n').count() + 1;
                    let column = at - bytes[..at].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1) + 1;
                    return Err(<serde_json::Error as serde::de::Error>::custom(format!(
                        "nested deeper than {MAX_JSON_DEPTH} arrays and objects at line {line} column {column} \
                         (no valid program nests that deep)"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_nested_past_the_limit_are_refused_with_their_place() {
        let ok = format!("{}{}", "[".repeat(MAX_JSON_DEPTH), "]".repeat(MAX_JSON_DEPTH));
        assert!(from_str::<serde_json::Value>(&ok).is_ok());
        let deep =
            format!("{{\"a\":\n \"[{{\\\"\", \"b\": {}{}}}", "[".repeat(MAX_JSON_DEPTH), "]".repeat(MAX_JSON_DEPTH));
        let e = from_str::<serde_json::Value>(&deep).unwrap_err().to_string();
        assert!(e.contains("nested deeper than 1024") && e.contains("line 2 column"), "{e}");
        let huge = "[".repeat(1_000_000);
        let e = from_str::<serde_json::Value>(&huge).unwrap_err().to_string();
        assert!(e.contains("line 1 column 1025"), "{e}");
    }
}
