//! A capped log of bytes, as the inspector keeps a body.

/// Bytes kept in arrival order, up to a cap; whether anything was cut. The bytes are copied:
/// a small slice of a network buffer would otherwise keep the whole buffer alive in the queue.
/// A cap of 0 keeps no body at all (the inspector's per-second budget of bodies was spent):
/// `skipped`, not `truncated`.
#[derive(Debug, Clone, Default)]
pub struct RawLog {
    data: Vec<u8>,
    cap: usize,
    pub truncated: bool,
    pub skipped: bool,
}

impl RawLog {
    pub fn with_cap(cap: usize) -> Self {
        Self {
            cap,
            skipped: cap == 0,
            ..Self::default()
        }
    }

    pub fn whole(body: &[u8], cap: usize) -> Self {
        let mut log = Self::with_cap(cap);
        log.push(body);
        log
    }

    pub fn push(&mut self, chunk: &[u8]) {
        if self.skipped {
            return;
        }
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
