//! TYPE A (ASCII) conversion for data connections (RFC 959 §3.1.1.1):
//! every LF becomes CR LF on the way out; CR LF becomes LF on the way in,
//! a lone CR is kept. Both are streaming: input may be split anywhere.
//! `Decoder` undoes `Encoder` exactly, for any bytes.

use alloc::vec::Vec;

/// LF -> CR LF, for sending a local file in TYPE A.
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    _private: (),
}

impl Encoder {
    /// A fresh encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Appends the encoding of `input` to `out`.
    ///
    /// Every LF gets a CR in front, even one that already follows a CR:
    /// a local CR is data, and [`Decoder`] removes exactly the CR before
    /// each LF, so the pair round-trips any bytes. (A stateless transform,
    /// so splitting the input anywhere changes nothing.)
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut lines = input.split(|&b| b == b'\n');
        if let Some(first) = lines.next() {
            out.reserve(input.len() + input.len() / 32);
            out.extend_from_slice(first);
        }
        for line in lines {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(line);
        }
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
