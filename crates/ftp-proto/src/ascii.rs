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
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = (input, out);
        todo!()
    }
}

/// CR LF -> LF, for storing a file received in TYPE A.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    _private: (),
}

impl Decoder {
    /// A fresh decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Appends the decoding of `input` to `out`. A CR at the end of
    /// `input` is held back until the next call shows what follows it.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = (input, out);
        todo!()
    }

    /// Ends the stream: appends a held-back CR, if any.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }
}
