//! A minimal Simple Binary Encoding writer (FIX SBE 1.0, little-endian, as Binance uses it):
//! an 8-byte message header, a fixed block whose fields sit at the schema's offsets, then
//! repeating groups (block length + count) and variable-length data (length prefix + bytes),
//! in schema order.

/// SBE's null values of optional fields.
pub const NULL_I64: i64 = i64::MIN;
pub const NULL_I32: i32 = i32::MIN;
pub const NULL_U8: u8 = 0xff;

/// Binance spot schema (REST, WebSocket API, user data events): id 3, version 4.
pub const SPOT_SCHEMA: (u16, u16) = (3, 4);
/// Binance SBE market data stream schema: id 1, version 0.
pub const STREAM_SCHEMA: (u16, u16) = (1, 0);

/// A fixed block: zeros, then fields written at their offsets.
#[derive(Debug)]
pub struct Block(Vec<u8>);

impl Block {
    pub fn new(len: usize) -> Self {
        Self(vec![0; len])
    }

    fn put(&mut self, at: usize, bytes: &[u8]) -> &mut Self {
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
        self
    }

    pub fn u8(&mut self, at: usize, v: u8) -> &mut Self {
        self.put(at, &[v])
    }

    pub fn i8(&mut self, at: usize, v: i8) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }

    pub fn u16(&mut self, at: usize, v: u16) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }

    pub fn i16(&mut self, at: usize, v: i16) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }

    pub fn i32(&mut self, at: usize, v: i32) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }

    pub fn i64(&mut self, at: usize, v: i64) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }

    pub fn u64(&mut self, at: usize, v: u64) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }

    pub fn len(&self) -> u16 {
        u16::try_from(self.0.len()).unwrap()
    }
}

/// A message being written.
#[derive(Debug)]
pub struct Msg(Vec<u8>);

impl Msg {
    /// Header (blockLength, templateId, schemaId, version) and the root block.
    pub fn new(template: u16, (schema, version): (u16, u16), block: &Block) -> Self {
        let mut buf = Vec::with_capacity(64);
        for v in [block.len(), template, schema, version] {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        buf.extend_from_slice(&block.0);
        Self(buf)
    }

    /// A group header (`groupSizeEncoding`: u16 block length, u32 count).
    pub fn group(&mut self, block_len: u16, count: u32) -> &mut Self {
        self.0.extend_from_slice(&block_len.to_le_bytes());
        self.0.extend_from_slice(&count.to_le_bytes());
        self
    }

    /// A group header (`groupSize16Encoding`: u16 block length, u16 count).
    pub fn group16(&mut self, block_len: u16, count: u16) -> &mut Self {
        self.0.extend_from_slice(&block_len.to_le_bytes());
        self.0.extend_from_slice(&count.to_le_bytes());
        self
    }

    /// A group entry's block.
    pub fn entry(&mut self, block: &Block) -> &mut Self {
        self.0.extend_from_slice(&block.0);
        self
    }

    /// `varString8` / `varData8`: u8 length, bytes.
    pub fn var8(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.push(u8::try_from(bytes.len()).unwrap());
        self.0.extend_from_slice(bytes);
        self
    }

    /// `varString`: u16 length, bytes.
    pub fn var16(&mut self, bytes: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&u16::try_from(bytes.len()).unwrap().to_le_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    /// `messageData`: u32 length, bytes.
    pub fn var32(&mut self, bytes: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_le_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.0.clone()
    }
}
