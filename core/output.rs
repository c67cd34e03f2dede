//! output.rs: the print channel. `print`, `io.write`, `io.stderr:write` and Lua warnings write
//! here (through `cu_output_write`); JS takes the records after each call with op OUTPUT.
//!
//! Record layout (all little-endian):
//! | field  | size | meaning                   |
//! |--------|------|---------------------------|
//! | stream | u8   | 1 stdout, 2 stderr        |
//! | len    | u32  | bytes that follow         |
//! | bytes  | len  | the text, as Lua wrote it |
//! Consecutive writes to one stream share a record.

use alloc::vec::Vec;

/// Output kept between takes; a script printing more than this loses the rest (the channel
/// then ends with a note), instead of exhausting the module's memory.
pub const MAX_OUTPUT: usize = 16 << 20;
const TRUNCATED: &[u8] = b"\n[output truncated: more than 16 MiB printed in one call]\n";

#[derive(Default)]
pub struct Output {
    records: Vec<u8>,
    /// Offset of the length field of the last record, to extend it.
    last: Option<usize>,
    last_stream: u8,
    truncated: bool,
}

impl Output {
    pub fn write(&mut self, stream: u8, bytes: &[u8]) {
        if self.truncated {
            return;
        }
        let (bytes, full) = if self.records.len() + bytes.len() > MAX_OUTPUT {
            self.truncated = true;
            (TRUNCATED, true)
        } else {
            (bytes, false)
        };
        let stream = if full { 2 } else { stream };
        match self.last {
            Some(at) if self.last_stream == stream => {
                if let Some(field) = self.records.get_mut(at..at + 4) {
                    let len = u32::from_le_bytes([field[0], field[1], field[2], field[3]]);
                    field.copy_from_slice(&(len + bytes.len() as u32).to_le_bytes());
                }
            }
            _ => {
                self.records.push(stream);
                self.last = Some(self.records.len());
                self.last_stream = stream;
                self.records.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            }
        }
        self.records.extend_from_slice(bytes);
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Hands over every record and starts afresh.
    pub fn take(&mut self) -> Vec<u8> {
        let out = core::mem::take(&mut self.records);
        *self = Output::default();
        out
    }
}

/// C entry point (csrc/cu_config.h): writes to the running instance's channel.
///
/// # Safety
/// `s` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn cu_output_write(stream: i32, s: *const u8, len: usize) {
    let inst = crate::current::get();
    if inst.is_null() || len == 0 {
        return;
    }
    // SAFETY: the current instance is live while one of its calls runs; `s` is valid (caller).
    (*inst).output.write(stream as u8, core::slice::from_raw_parts(s, len));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_runs_of_one_stream() {
        let mut o = Output::default();
        o.write(1, b"ab");
        o.write(1, b"c");
        o.write(2, b"x");
        o.write(1, b"d");
        assert_eq!(o.take(), [&[1, 3, 0, 0, 0][..], b"abc", &[2, 1, 0, 0, 0], b"x", &[1, 1, 0, 0, 0], b"d"].concat());
        assert!(o.is_empty());
    }

    #[test]
    fn truncates_instead_of_growing_without_bound() {
        let mut o = Output::default();
        let chunk = alloc::vec![b'x'; 1 << 20];
        for _ in 0..20 {
            o.write(1, &chunk);
        }
        assert!(o.len() <= MAX_OUTPUT + 100);
        assert!(o.take().ends_with(TRUNCATED));
    }
}
