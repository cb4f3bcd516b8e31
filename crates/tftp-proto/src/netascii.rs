//! netascii (RFC 1350, RFC 764) as a streaming transform in both directions.
//!
//! On the wire a line ends in CR LF and a bare CR is sent as CR NUL. The
//! local side uses LF line ends. Both directions keep at most one byte of
//! state, so input may be split anywhere, including inside a CR LF pair.

/// Local bytes to wire bytes: LF -> CR LF, CR -> CR NUL.
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    /// The second byte of an expansion that did not fit the last output.
    pending: Option<u8>,
}

/// Wire bytes to local bytes: CR LF -> LF, CR NUL -> CR.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    /// A CR ended the previous input; its meaning depends on the next byte.
    pending_cr: bool,
}

impl Encoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when a byte is waiting to be written by the next `encode`.
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Encode as much of `input` as fits `out`, returning
    /// `(consumed, written)`. Every input byte expands to at most two
    /// output bytes; a second byte that does not fit is kept and written
    /// first next time.
    pub fn encode(&mut self, input: &[u8], out: &mut [u8]) -> (usize, usize) {
        let mut written = 0;
        if let Some(b) = self.pending {
            if out.is_empty() {
                return (0, 0);
            }
            out[0] = b;
            written = 1;
            self.pending = None;
        }
        let mut consumed = 0;
        for &b in input {
            if written == out.len() {
                break;
            }
            let (first, second) = match b {
                b'\n' => (b'\r', Some(b'\n')),
                b'\r' => (b'\r', Some(0)),
                other => (other, None),
            };
            out[written] = first;
            written += 1;
            consumed += 1;
            if let Some(s) = second {
                if written < out.len() {
                    out[written] = s;
                    written += 1;
                } else {
                    self.pending = Some(s);
                    break;
                }
            }
        }
        (consumed, written)
    }
}

impl Decoder {
    /// A new decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode `input` into `out`, returning the bytes written. `out` must
    /// hold at least `input.len() + 1` bytes (a CR held back from the
    /// previous call may be released).
    pub fn decode(&mut self, input: &[u8], out: &mut [u8]) -> usize {
        let mut written = 0;
        for &b in input {
            if self.pending_cr {
                self.pending_cr = false;
                match b {
                    b'\n' => {
                        out[written] = b'\n';
                        written += 1;
                        continue;
                    }
                    0 => {
                        out[written] = b'\r';
                        written += 1;
                        continue;
                    }
                    _ => {
                        // A CR followed by anything else is kept as is
                        // (RFC 1123 §1.2.2: be liberal in what you accept).
                        out[written] = b'\r';
                        written += 1;
                    }
                }
            }
            if b == b'\r' {
                self.pending_cr = true;
            } else {
                out[written] = b;
                written += 1;
            }
        }
        written
    }

    /// End of input: release a CR still held back. Writes at most one byte.
    pub fn finish(&mut self, out: &mut [u8]) -> usize {
        if core::mem::take(&mut self.pending_cr) {
            out[0] = b'\r';
            1
        } else {
            0
        }
    }
}
