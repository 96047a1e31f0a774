//! Validation of generated WGSL with naga (the same front end and validator wgpu uses),
//! so a lowering bug is a clear error before any device is involved.

/// Parse and validate WGSL; the error text names the problem and its location.
pub fn validate_wgsl(source: &str) -> Result<naga::valid::ModuleInfo, String> {
    let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
    let mut validator =
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty());
    validator.validate(&module).map_err(|e| e.emit_to_string(source))
}
