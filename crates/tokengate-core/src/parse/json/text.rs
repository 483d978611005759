//! Strings inside text the scanner accepted, decoded when read.

use std::borrow::Cow;

use super::scan::plain_run_end;

/// The text between a string's quotes, its escapes decoded (their syntax,
/// surrogate pairs included, was checked by the scan; `None` if not).
pub(super) fn unescape(inner: &str) -> Option<String> {
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = rest.as_bytes().get(at + 1)?;
        rest = rest.get(at + 2..)?;
        let decoded = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = hex4(rest)?;
                rest = &rest[4..];
                match unit {
                    0xD800..=0xDBFF => {
                        let low = rest.strip_prefix("\\u").and_then(hex4)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        rest = &rest[6..];
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    unit => char::from_u32(unit)?,
                }
            }
            _ => return None,
        };
        out.push(decoded);
    }
    out.push_str(rest);
    Some(out)
}

/// The four hex digits `text` starts with, as a number.
pub(super) fn hex4(text: &str) -> Option<u32> {
    let digits = text.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// The JSON text of a string value, decoded; `None` when it is not a string.
/// `raw` must be a value [`Members`] scanned (valid JSON): then a string without a backslash
/// is its text between the quotes (which holds no quote and no control
/// character); only escapes need decoding.
pub(crate) fn as_str(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if plain_run_end(inner.as_bytes(), 0) == inner.len() {
        return Some(Cow::Borrowed(inner));
    }
    unescape(inner).map(Cow::Owned)
}

/// The strings of a JSON array of strings, decoded; `None` when `raw` is
/// not an array or holds anything but strings. `raw` must be a value
/// [`Members`] scanned (valid JSON); other text gives `None` or a wrong
/// reading, never a panic.
pub(crate) fn string_array(raw: &str) -> Option<Vec<Cow<'_, str>>> {
    let inner = raw.strip_prefix('[')?.strip_suffix(']')?;
    let bytes = inner.as_bytes();
    let mut strings = Vec::with_capacity(4);
    let mut pos = 0;
    let skip_whitespace = |pos: &mut usize| {
        while matches!(bytes.get(*pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            *pos += 1;
        }
    };
    skip_whitespace(&mut pos);
    while pos < bytes.len() {
        if bytes[pos] != b'"' {
            return None;
        }
        // The closing quote: the first one not escaped (valid JSON).
        let start = pos;
        pos += 1;
        while *bytes.get(pos)? != b'"' {
            pos += if bytes[pos] == b'\\' { 2 } else { 1 };
        }
        pos += 1;
        strings.push(as_str(&inner[start..pos])?);
        skip_whitespace(&mut pos);
        if pos < bytes.len() {
            // A comma, then the next element.
            pos += 1;
            skip_whitespace(&mut pos);
        }
    }
    Some(strings)
}
