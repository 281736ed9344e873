//! Minimal handling of wasm custom sections: find the first one with a given
//! name (via `wasmparser`) and rewrite a module with a replaced section.

use crate::error::{Error, Result};

const MAGIC_AND_VERSION_LEN: usize = 8;
const CUSTOM_SECTION_ID: u8 = 0;

/// Returns the payload of the first custom section called `name`.
pub fn find_custom_section<'a>(wasm: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| Error::Wasm(e.to_string()))?;
        if let wasmparser::Payload::CustomSection(reader) = payload
            && reader.name() == name
        {
            return Ok(Some(reader.data()));
        }
    }
    Ok(None)
}

/// Returns a copy of `wasm` without any custom section called `name`, with a
/// new custom section `name` = `data` appended at the end (custom sections may
/// appear anywhere, so appending keeps the module valid).
pub fn replace_custom_section(wasm: &[u8], name: &str, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = remove_custom_section(wasm, name)?;
    append_custom_section(&mut out, name, data);
    Ok(out)
}

/// Returns a copy of `wasm` without any custom section called `name`.
pub fn remove_custom_section(wasm: &[u8], name: &str) -> Result<Vec<u8>> {
    let header = wasm
        .get(..MAGIC_AND_VERSION_LEN)
        .ok_or_else(|| Error::Wasm("file too short for a wasm module".into()))?;
    if header[..4] != *b"\0asm" {
        return Err(Error::Wasm("missing the \\0asm magic number".into()));
    }
    if header[4..] != [1, 0, 0, 0] {
        return Err(Error::Wasm(
            "not a core wasm module (version 1); components are not supported".into(),
        ));
    }
    let mut out = Vec::with_capacity(wasm.len());
    out.extend_from_slice(header);
    let mut pos = MAGIC_AND_VERSION_LEN;
    while pos < wasm.len() {
        let start = pos;
        let id = wasm[pos];
        pos += 1;
        let (size, leb_len) =
            read_leb_u32(&wasm[pos..]).ok_or_else(|| Error::Wasm(format!("bad section size at offset {pos}")))?;
        pos += leb_len;
        let end = pos
            .checked_add(size as usize)
            .filter(|end| *end <= wasm.len())
            .ok_or_else(|| Error::Wasm(format!("section at offset {start} overruns the file")))?;
        let keep = if id == CUSTOM_SECTION_ID {
            custom_section_name(&wasm[pos..end]) != Some(name)
        } else {
            true
        };
        if keep {
            out.extend_from_slice(&wasm[start..end]);
        }
        pos = end;
    }
    Ok(out)
}

fn custom_section_name(contents: &[u8]) -> Option<&str> {
    let (len, leb_len) = read_leb_u32(contents)?;
    let bytes = contents.get(leb_len..leb_len.checked_add(len as usize)?)?;
    std::str::from_utf8(bytes).ok()
}

/// Appends a custom section (id 0) to an encoded module.
pub fn append_custom_section(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut body = Vec::with_capacity(name.len() + data.len() + 5);
    write_leb_u32(&mut body, name.len() as u32);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    out.push(CUSTOM_SECTION_ID);
    write_leb_u32(out, body.len() as u32);
    out.extend_from_slice(&body);
}

fn read_leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut result: u32 = 0;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        let low = u32::from(byte & 0x7f);
        result |= low.checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((result, i + 1));
        }
    }
    None
}

fn write_leb_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

    #[test]
    fn leb_roundtrip() {
        for v in [0u32, 1, 127, 128, 300, 16_384, u32::MAX] {
            let mut buf = Vec::new();
            write_leb_u32(&mut buf, v);
            assert_eq!(read_leb_u32(&buf), Some((v, buf.len())));
        }
    }

    #[test]
    fn replace_keeps_other_sections_and_drops_old_copies() {
        let mut module = EMPTY_MODULE.to_vec();
        append_custom_section(&mut module, "keep", b"k");
        append_custom_section(&mut module, "meta", b"old1");
        append_custom_section(&mut module, "meta", b"old2");
        let out = replace_custom_section(&module, "meta", b"new").expect("rewrite");
        assert_eq!(find_custom_section(&out, "meta").expect("parse"), Some(&b"new"[..]));
        assert_eq!(find_custom_section(&out, "keep").expect("parse"), Some(&b"k"[..]));
        let count = wasmparser::Parser::new(0)
            .parse_all(&out)
            .filter(|p| matches!(p, Ok(wasmparser::Payload::CustomSection(r)) if r.name() == "meta"))
            .count();
        assert_eq!(count, 1);
    }

    #[test]
    fn rejects_garbage() {
        assert!(replace_custom_section(b"hello world", "x", b"").is_err());
        assert!(replace_custom_section(b"\0asm", "x", b"").is_err());
        let mut truncated = EMPTY_MODULE.to_vec();
        truncated.extend_from_slice(&[1, 10, 0]);
        assert!(replace_custom_section(&truncated, "x", b"").is_err());
    }
}
