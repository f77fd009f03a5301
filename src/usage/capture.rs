//! The request path's bounded queue into the recorder for the inspector's detail. A streamed
//! request is written twice: when its stream starts, and when it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;

use super::Recording;
use crate::inspector::{Begin, DetailMessage, End};

/// How many messages, and how many body bytes, may wait for the writer before new detail is
/// dropped: the queue's memory stays bounded however large the requests are. The byte budget
/// is what a burst can add to the router's memory (`make bench`'s peak RSS was 150-170 MiB
/// with 64 MiB); one request larger than it is still taken when nothing else waits.
const QUEUE: usize = 4096;
const QUEUE_BYTES: usize = 16 << 20;

/// The request path's handle on the recording queue for detail: bounded in messages and in
/// body bytes, and a count of what it refused. (Usage records share the queue unbounded.)
#[derive(Clone)]
pub struct Inspector {
    tx: Sender<Recording>,
    dropped: Arc<AtomicU64>,
    queued: Arc<AtomicUsize>,
    queued_bytes: Arc<AtomicUsize>,
    rows: Arc<PerSecond>,
    unlisted: Arc<AtomicU64>,
    bodies: Arc<PerSecond>,
}

/// A budget of so many a wall-clock second, shared by the request path's threads without a
/// lock: the second in the high bits, how many were taken in it in the low `COUNT_BITS` (a
/// budget past 2^24 a second is as good as none).
#[derive(Default)]
struct PerSecond(AtomicU64);

const COUNT_BITS: u32 = 24;

impl PerSecond {
    /// Takes one from the budget of the second `now_ms` falls in, if any is left.
    fn take(&self, per_second: u32, now_ms: i64) -> bool {
        let mask = (1u64 << COUNT_BITS) - 1;
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            // A thread that read the clock just before the second turned counts against the
            // newer second: it must not take the count back to its own and start it again.
            // A clock stepped back further than that (NTP, a resumed VM) starts over from its
            // new second rather than leaving the budget spent until the clock catches up.
            let seen = current >> COUNT_BITS;
            let now = u64::try_from(now_ms / 1000).unwrap_or(0);
            let second = if now < seen && seen - now <= 2 {
                seen
            } else {
                now
            };
            let next = if current >> COUNT_BITS == second {
                if current & mask >= u64::from(per_second).min(mask) {
                    return false;
                }
                current + 1
            } else {
                (second << COUNT_BITS) | 1
            };
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(seen) => current = seen,
            }
        }
    }
}

/// A slot reserved for a streamed request's end, so an end is never lost once its beginning
/// was written.
pub struct PendingEnd {
    tx: Sender<Recording>,
    queued_bytes: Arc<AtomicUsize>,
}

impl PendingEnd {
    pub fn send(self, end: End) {
        self.queued_bytes
            .fetch_add(end.body_bytes(), Ordering::Relaxed);
        let _ = self
            .tx
            .send(Recording::Detail(DetailMessage::End(Box::new(end))));
    }
}

impl Inspector {
    pub fn new(tx: Sender<Recording>) -> Self {
        Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            queued: Arc::new(AtomicUsize::new(0)),
            queued_bytes: Arc::new(AtomicUsize::new(0)),
            rows: Arc::default(),
            unlisted: Arc::default(),
            bodies: Arc::default(),
        }
    }

    /// Whether a request starting at `now_ms` is listed in the inspector: the first
    /// `per_second` of each wall-clock second are. Past it a request is counted in usage but
    /// not listed: at hundreds of requests a second no one reads each one, and listing every
    /// one (capturing its headers, writing its row and pruning the oldest) was a third of the
    /// router's CPU under load. The ones not listed are counted.
    pub fn list(&self, per_second: u32, now_ms: i64) -> bool {
        let listed = self.rows.take(per_second, now_ms);
        if !listed {
            self.unlisted.fetch_add(1, Ordering::Relaxed);
        }
        listed
    }

    /// Whether a listed request starting at `now_ms` keeps its bodies: the first
    /// `per_second` of each wall-clock second do. Storing four bodies is most of what a
    /// listed request costs; a person reads a few requests a second, not thousands.
    pub fn keep_bodies(&self, per_second: u32, now_ms: i64) -> bool {
        self.bodies.take(per_second, now_ms)
    }

    /// Requests not listed because more came in their second than the inspector lists.
    pub fn unlisted(&self) -> u64 {
        self.unlisted.load(Ordering::Relaxed)
    }

    /// Requests whose detail was refused because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The writer has taken `message` off the queue.
    pub fn taken(&self, message: &DetailMessage) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
        self.queued_bytes
            .fetch_sub(message.body_bytes(), Ordering::Relaxed);
    }

    /// Counts `messages` and `bytes` against the queue's bounds, unless that would pass them.
    fn admit(&self, messages: usize, bytes: usize) -> bool {
        let queued = self.queued.fetch_add(messages, Ordering::Relaxed);
        let queued_bytes = self.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        let over_budget = queued_bytes > 0 && queued_bytes + bytes > QUEUE_BYTES;
        if queued + messages > QUEUE || over_budget {
            self.queued.fetch_sub(messages, Ordering::Relaxed);
            self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            self.count_drop();
            return false;
        }
        true
    }

    /// Writes a request that is already over.
    pub fn whole(&self, begin: Begin, end: End) {
        if self.admit(1, begin.body_bytes() + end.body_bytes()) {
            let message = DetailMessage::Whole(Box::new(begin), Box::new(end));
            let _ = self.tx.send(Recording::Detail(message));
        }
    }

    /// Writes a streamed request at its start; its end goes through the returned slot.
    pub fn begin(&self, begin: Begin) -> Option<PendingEnd> {
        if !self.admit(2, begin.body_bytes()) {
            return None;
        }
        let _ = self
            .tx
            .send(Recording::Detail(DetailMessage::Begin(Box::new(begin))));
        Some(PendingEnd {
            tx: self.tx.clone(),
            queued_bytes: self.queued_bytes.clone(),
        })
    }

    fn count_drop(&self) {
        let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(
                dropped = n,
                "the inspector writer is behind; request detail was dropped (usage is kept)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Api;
    use crate::inspector::{Captured, RawLog, Tokens};

    fn begin(body: &[u8]) -> Begin {
        Begin {
            id: "r".into(),
            started_ms: 0,
            api: Api::OpenaiChat,
            endpoint: "/v1/chat/completions",
            requested_model: "m".into(),
            key_id: None,
            combo: None,
            provider: None,
            model: None,
            account_id: None,
            attempts: Vec::new(),
            streamed: true,
            client_request: Captured {
                body: RawLog::whole(body, usize::MAX),
                ..Captured::default()
            },
            provider_request: None,
        }
    }

    fn detail(r: Recording) -> DetailMessage {
        match r {
            Recording::Detail(d) => d,
            _ => unreachable!("only detail is sent here"),
        }
    }

    #[test]
    fn a_raw_log_keeps_bytes_up_to_its_cap_and_says_it_cut() {
        let mut log = RawLog::with_cap(5);
        log.push(b"abc");
        log.push(b"defg");
        log.push(b"h");
        assert_eq!(log.bytes(), b"abcde");
        assert!(log.truncated);
        assert!(!RawLog::whole(b"xy", 5).truncated);
    }

    #[test]
    fn the_queue_holds_a_bounded_number_of_body_bytes() {
        let (tx, rx) = std::sync::mpsc::channel();
        let inspector = Inspector::new(tx);
        let half = vec![b'x'; QUEUE_BYTES / 2 + 1];
        assert!(inspector.begin(begin(&half)).is_some());
        assert!(
            inspector.begin(begin(&half)).is_none(),
            "over the byte budget"
        );
        assert_eq!(inspector.dropped(), 1);
        // Once the writer has taken the first, there is room again.
        let taken = rx.try_recv().map(detail);
        inspector.taken(&taken.unwrap_or_else(|_| unreachable!("sent above")));
        assert!(inspector.begin(begin(&half)).is_some());
    }

    #[test]
    fn bodies_are_kept_for_the_first_requests_of_each_second() {
        let (tx, _rx) = std::sync::mpsc::channel();
        let inspector = Inspector::new(tx);
        let second = 1_765_000_000_000;
        let kept = (0..5)
            .filter(|i| inspector.keep_bodies(3, second + i * 100))
            .count();
        assert_eq!(kept, 3);
        assert!(inspector.keep_bodies(3, second + 1000), "a new second");
        // A late reader of the older second counts against the newer one.
        let late = (0..5).filter(|_| inspector.keep_bodies(3, second)).count();
        assert_eq!(late, 2);
    }

    #[test]
    fn requests_past_the_listing_budget_are_counted_not_listed_and_bodies_keep_their_own() {
        let (tx, _rx) = std::sync::mpsc::channel();
        let inspector = Inspector::new(tx);
        let second = 1_765_000_000_000;
        let listed = (0..10)
            .filter(|i| inspector.list(4, second + i * 10))
            .count();
        assert_eq!(listed, 4);
        assert_eq!(inspector.unlisted(), 6);
        // The bodies' budget is apart from the listing's.
        assert!(inspector.keep_bodies(1, second));
        assert!(!inspector.keep_bodies(1, second));
        assert!(inspector.list(4, second + 1000), "a new second lists again");
        assert_eq!(inspector.unlisted(), 6);
        // A clock stepped back an hour lists again at once.
        assert!((0..4).all(|_| inspector.list(4, second - 3_600_000)));
        assert!(!inspector.list(4, second - 3_600_000));
    }

    #[test]
    fn a_request_larger_than_the_byte_budget_is_taken_when_nothing_else_waits() {
        let (tx, rx) = std::sync::mpsc::channel();
        let inspector = Inspector::new(tx);
        let large = vec![b'x'; QUEUE_BYTES + 1];
        assert!(inspector.begin(begin(&large)).is_some());
        assert!(inspector.begin(begin(b"x")).is_none(), "nothing beside it");
        let taken = rx.try_recv().map(detail);
        inspector.taken(&taken.unwrap_or_else(|_| unreachable!("sent above")));
        assert!(inspector.begin(begin(b"x")).is_some());
    }

    #[test]
    fn a_full_queue_drops_detail_and_counts_it_but_never_a_reserved_end() {
        let (tx, rx) = std::sync::mpsc::channel();
        let inspector = Inspector::new(tx);
        let pending: Vec<_> = (0..QUEUE / 2)
            .map(|_| inspector.begin(begin(b"x")))
            .collect();
        assert!(pending.iter().all(Option::is_some));
        assert!(inspector.begin(begin(b"x")).is_none());
        assert_eq!(inspector.dropped(), 1);
        for p in pending.into_iter().flatten() {
            p.send(End {
                id: String::new(),
                api: Api::OpenaiChat,
                provider_wire: None,
                status: 200,
                tokens: Tokens::None,
                ttft_ms: None,
                latency_ms: 0,
                provider_response: None,
                client_response: Captured::default(),
            });
        }
        assert_eq!(rx.try_iter().count(), QUEUE);
    }
}
