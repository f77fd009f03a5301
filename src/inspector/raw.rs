//! A capped log of bytes, as the inspector keeps a body.

/// Bytes kept in arrival order, up to a cap; whether anything was cut. The bytes are copied:
/// a small slice of a network buffer would otherwise keep the whole buffer alive in the queue.
#[derive(Debug, Clone, Default)]
pub struct RawLog {
    data: Vec<u8>,
    cap: usize,
    pub truncated: bool,
}

impl RawLog {
    pub fn with_cap(cap: usize) -> Self {
        Self {
            cap,
            ..Self::default()
        }
    }

    pub fn whole(body: &[u8], cap: usize) -> Self {
        let mut log = Self::with_cap(cap);
        log.push(body);
        log
    }

    pub fn push(&mut self, chunk: &[u8]) {
        let room = self.cap.saturating_sub(self.data.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.data.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}
