//! TYPE A (ASCII) conversion for data connections (RFC 959 §3.1.1.1):
//! lines end in CR LF on the wire. On the way out every line end that is
//! a bare LF becomes CR LF (a CR LF already in the file stays as it is);
//! on the way in CR LF becomes LF and a lone CR is kept. Both are
//! streaming: input may be split anywhere. For text without CR LF pairs,
//! `Decoder` undoes `Encoder` exactly.

use alloc::vec::Vec;

/// Bare LF -> CR LF, for sending a local file in TYPE A.
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    /// The last byte of the previous input was a CR: an LF that starts
    /// this input ends a line that is already CR LF.
    after_cr: bool,
}

impl Encoder {
    /// A fresh encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Appends the encoding of `input` to `out`.
    ///
    /// An LF already preceded by a CR is left alone: a file written with
    /// CR LF line ends (on Windows, say) is already in network form, and
    /// doubling its CRs would show every line followed by a blank one in
    /// curl `-B` or ftplib's `retrlines`. vsftpd does the same.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 32);
        let mut rest = input;
        while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
            let before_cr = match lf {
                0 => self.after_cr,
                _ => rest[lf - 1] == b'\r',
            };
            out.extend_from_slice(&rest[..lf]);
            out.extend_from_slice(if before_cr { b"\n" } else { b"\r\n" });
            self.after_cr = false;
            rest = &rest[lf + 1..];
        }
        if let Some(&last) = rest.last() {
            self.after_cr = last == b'\r';
        }
        out.extend_from_slice(rest);
    }
}

/// CR LF -> LF, for storing a file received in TYPE A.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    /// The previous input ended in a CR not yet written: it is dropped if
    /// the next byte is LF, written otherwise.
    held_cr: bool,
}

impl Decoder {
    /// A fresh decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Appends the decoding of `input` to `out`. A CR at the end of
    /// `input` is held back until the next call shows what follows it.
    ///
    /// A CR not followed by LF is kept: RFC 959 §3.1.1.1 makes CR LF the
    /// end of a line, and a bare CR in the stream is the sender's data.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut rest = input;
        if self.held_cr {
            match rest.first() {
                None => return,
                Some(b'\n') => {
                    out.push(b'\n');
                    rest = &rest[1..];
                }
                Some(_) => out.push(b'\r'),
            }
            self.held_cr = false;
        }
        out.reserve(rest.len());
        while let Some(cr) = rest.iter().position(|&b| b == b'\r') {
            out.extend_from_slice(&rest[..cr]);
            match rest.get(cr + 1) {
                None => {
                    self.held_cr = true;
                    return;
                }
                Some(b'\n') => {
                    out.push(b'\n');
                    rest = &rest[cr + 2..];
                }
                Some(_) => {
                    out.push(b'\r');
                    rest = &rest[cr + 1..];
                }
            }
        }
        out.extend_from_slice(rest);
    }

    /// Ends the stream: appends a held-back CR, if any.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if core::mem::take(&mut self.held_cr) {
            out.push(b'\r');
        }
    }
}
