//! The one pass over a document: grammar, names, depth, surrogates.

use std::borrow::Cow;

use super::text::{hex4, unescape};
use super::{KNOWN, MAX_DEPTH, Members, ObjectError, has_duplicate, known};

/// `json` as an object with unique member names at every depth.
pub(super) fn object(json: &str) -> Result<Members<'_>, ObjectError> {
    let mut scanner = Scanner { text: json, pos: 0, names: Vec::new(), duplicate: false };
    let members = scanner.document()?;
    // A duplicate is reported only for a document that is otherwise
    // valid: invalid JSON is the first thing wrong with it.
    if scanner.duplicate {
        return Err(ObjectError::DuplicateMember);
    }
    Ok(members)
}

/// One pass over a document.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    /// Member names to compare: the top-level names without a slot, then
    /// those of the nested objects being scanned, innermost last (one buffer
    /// for the whole document instead of one per object).
    names: Vec<Cow<'a, str>>,
    /// Whether some object repeats a name.
    duplicate: bool,
}

impl<'a> Scanner<'a> {
    /// The top-level object's members; whitespace only around it.
    fn document(&mut self) -> Result<Members<'a>, ObjectError> {
        let mut members = Vec::with_capacity(16);
        let mut slots = [0; KNOWN];
        self.skip_whitespace();
        self.expect(b'{')?;
        self.skip_whitespace();
        if !self.eat(b'}') {
            loop {
                let name = self.member_name()?;
                // A known name is compared by its slot, the others among
                // themselves (and, past the slots, with those that have one).
                let slot = known(&name);
                match (slot, u8::try_from(members.len() + 1)) {
                    (Some(slot), Ok(mark)) => {
                        self.duplicate |= slots[slot] != 0;
                        slots[slot] = mark;
                    }
                    _ => {
                        self.duplicate |= slot.is_some_and(|slot| slots[slot] != 0);
                        if self.names.capacity() == 0 {
                            // Room for a typical token's other names at once.
                            self.names.reserve(16);
                        }
                        self.names.push(name.clone());
                    }
                }
                let start = self.pos;
                self.value(1)?;
                members.push((name, &self.text[start..self.pos]));
                self.skip_whitespace();
                if !self.eat(b',') {
                    self.expect(b'}')?;
                    break;
                }
                self.skip_whitespace();
            }
        }
        self.skip_whitespace();
        if self.pos != self.text.len() {
            return Err(ObjectError::Invalid);
        }
        self.duplicate |= has_duplicate(&self.names);
        Ok(Members { members, slots })
    }

    /// `"name" :` and the whitespace after it.
    fn member_name(&mut self) -> Result<Cow<'a, str>, ObjectError> {
        self.expect(b'"')?;
        let name = self.string()?;
        self.skip_whitespace();
        self.expect(b':')?;
        self.skip_whitespace();
        Ok(name)
    }

    /// One value, `depth` levels below the top-level object.
    fn value(&mut self, depth: usize) -> Result<(), ObjectError> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.skip_string()
            }
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(ObjectError::Invalid),
        }
    }

    fn object(&mut self, depth: usize) -> Result<(), ObjectError> {
        if depth > MAX_DEPTH {
            return Err(ObjectError::Invalid);
        }
        self.pos += 1;
        let first = self.names.len();
        self.skip_whitespace();
        if !self.eat(b'}') {
            loop {
                let name = self.member_name()?;
                self.names.push(name);
                self.value(depth + 1)?;
                self.skip_whitespace();
                if !self.eat(b',') {
                    self.expect(b'}')?;
                    break;
                }
                self.skip_whitespace();
            }
        }
        self.duplicate |= has_duplicate(&self.names[first..]);
        self.names.truncate(first);
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<(), ObjectError> {
        if depth > MAX_DEPTH {
            return Err(ObjectError::Invalid);
        }
        self.pos += 1;
        self.skip_whitespace();
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            self.value(depth + 1)?;
            self.skip_whitespace();
            if !self.eat(b',') {
                return self.expect(b']');
            }
            self.skip_whitespace();
        }
    }

    /// A string whose opening quote was read, decoded (a member name).
    fn string(&mut self) -> Result<Cow<'a, str>, ObjectError> {
        let start = self.pos;
        self.pos = plain_run_end(self.text.as_bytes(), start);
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                Ok(Cow::Borrowed(&self.text[start..self.pos - 1]))
            }
            Some(b'\\') => {
                self.skip_string()?;
                let inner = &self.text[start..self.pos - 1];
                unescape(inner).map(Cow::Owned).ok_or(ObjectError::Invalid)
            }
            _ => Err(ObjectError::Invalid),
        }
    }

    /// A string whose opening quote was read, checked and skipped: no
    /// control character, every escape well formed, no lone surrogate.
    fn skip_string(&mut self) -> Result<(), ObjectError> {
        let bytes = self.text.as_bytes();
        loop {
            self.pos = plain_run_end(bytes, self.pos);
            let byte = *bytes.get(self.pos).ok_or(ObjectError::Invalid)?;
            self.pos += 1;
            match byte {
                b'"' => return Ok(()),
                b'\\' => match bytes.get(self.pos) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 1,
                    Some(b'u') => {
                        // A surrogate only as the first of a pair (I-JSON,
                        // RFC 7493 §2.1): no reader can agree on a lone one.
                        let unit =
                            self.text.get(self.pos + 1..).and_then(hex4).ok_or(ObjectError::Invalid)?;
                        self.pos += 5;
                        match unit {
                            0xD800..=0xDBFF => {
                                let low = self.text.get(self.pos..).and_then(|rest| rest.strip_prefix("\\u"));
                                match low.and_then(hex4) {
                                    Some(0xDC00..=0xDFFF) => self.pos += 6,
                                    _ => return Err(ObjectError::Invalid),
                                }
                            }
                            0xDC00..=0xDFFF => return Err(ObjectError::Invalid),
                            _ => {}
                        }
                    }
                    _ => return Err(ObjectError::Invalid),
                },
                _ => return Err(ObjectError::Invalid),
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<(), ObjectError> {
        self.eat(b'-');
        if !self.eat(b'0') {
            if !matches!(self.peek(), Some(b'1'..=b'9')) {
                return Err(ObjectError::Invalid);
            }
            self.digits();
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(ObjectError::Invalid);
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(ObjectError::Invalid);
            }
        }
        Ok(())
    }

    /// Skips ASCII digits; how many.
    fn digits(&mut self) -> usize {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn literal(&mut self, word: &str) -> Result<(), ObjectError> {
        if self.text.as_bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(ObjectError::Invalid)
        }
    }

    fn skip_whitespace(&mut self) {
        let bytes = self.text.as_bytes();
        while matches!(bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let here = self.peek() == Some(byte);
        self.pos += usize::from(here);
        here
    }

    fn expect(&mut self, byte: u8) -> Result<(), ObjectError> {
        if self.eat(byte) { Ok(()) } else { Err(ObjectError::Invalid) }
    }
}

/// Where the run of plain string bytes starting at `pos` ends: at the first
/// quote, backslash or control character (or the end). Eight bytes at a
/// time: in each mask below, the lowest flagged byte is exact (a false flag
/// can only sit above a true one), so the lowest of all three is the end.
#[inline]
pub(super) fn plain_run_end(bytes: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH_BITS: u64 = ONES << 7;
    let is_zero = |word: u64| word.wrapping_sub(ONES) & !word;
    while let Some(chunk) = bytes.get(pos..pos + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let flagged = (is_zero(word ^ (ONES * u64::from(b'"')))
            | is_zero(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word))
            & HIGH_BITS;
        if flagged != 0 {
            return pos + (flagged.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while bytes.get(pos).is_some_and(|byte| !matches!(byte, b'"' | b'\\' | 0..=0x1f)) {
        pos += 1;
    }
    pos
}
