//! Conversation affinity: the turns of one conversation go to the account that served its
//! first turn while that account is healthy, so the provider's prompt cache (per account, or
//! per organisation behind it) is hit turn after turn. When that account cools, the turns go
//! where the failover sent them, and back home once it is healthy again. New conversations
//! are placed by the provider's account strategy, so round-robin still spreads them.

use std::collections::HashMap;
use std::sync::Mutex;

/// A conversation idle this long is forgotten (prompt caches live minutes to an hour).
const IDLE_MS: i64 = 2 * 3_600_000;
/// At most this many conversations are remembered; the least recently seen go first.
const CAPACITY: usize = 20_000;

struct Pin {
    home: String,
    last: String,
    seen_ms: i64,
}

#[derive(Default)]
pub struct Affinity {
    pins: Mutex<HashMap<(String, u64), Pin>>,
    /// Responses answers (their ids, as the client saw them) → their conversation, so a
    /// request continuing one (`previous_response_id`) stays in it.
    answers: Mutex<HashMap<String, (u64, i64)>>,
}

impl Affinity {
    /// The accounts a conversation prefers at `provider`, best first: its home, then where
    /// it went last.
    pub fn preferred(&self, provider: &str, conversation: u64, now_ms: i64) -> Vec<String> {
        let pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        match pins.get(&(provider.to_owned(), conversation)) {
            Some(pin) if now_ms - pin.seen_ms < IDLE_MS => {
                vec![pin.home.clone(), pin.last.clone()]
            }
            _ => Vec::new(),
        }
    }

    /// Notes that `account` served a turn of `conversation`.
    pub fn served(&self, provider: &str, conversation: u64, account: &str, now_ms: i64) {
        let mut pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        let key = (provider.to_owned(), conversation);
        match pins.get_mut(&key) {
            Some(pin) if now_ms - pin.seen_ms < IDLE_MS => {
                account.clone_into(&mut pin.last);
                pin.seen_ms = now_ms;
            }
            _ => {
                if pins.len() >= CAPACITY {
                    forget_oldest(&mut pins, now_ms);
                }
                pins.insert(
                    key,
                    Pin {
                        home: account.to_owned(),
                        last: account.to_owned(),
                        seen_ms: now_ms,
                    },
                );
            }
        }
    }
}

impl Affinity {
    /// Notes that the answer `response_id` belongs to `conversation`.
    pub fn answered(&self, response_id: &str, conversation: u64, now_ms: i64) {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.len() >= CAPACITY {
            answers.retain(|_, (_, seen)| now_ms - *seen < IDLE_MS);
            if answers.len() >= CAPACITY {
                answers.clear();
            }
        }
        answers.insert(response_id.to_owned(), (conversation, now_ms));
    }

    /// The conversation of an earlier answer.
    pub fn conversation_of(&self, response_id: &str) -> Option<u64> {
        self.answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(response_id)
            .map(|(c, _)| *c)
    }
}

/// Drops idle conversations, and if that is not enough, the older half.
fn forget_oldest(pins: &mut HashMap<(String, u64), Pin>, now_ms: i64) {
    pins.retain(|_, p| now_ms - p.seen_ms < IDLE_MS);
    if pins.len() >= CAPACITY {
        let mut seen: Vec<i64> = pins.values().map(|p| p.seen_ms).collect();
        seen.sort_unstable();
        let cut = seen[seen.len() / 2];
        pins.retain(|_, p| p.seen_ms > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_remembers_its_home_and_where_it_went_last() {
        let a = Affinity::default();
        assert!(a.preferred("p", 1, 0).is_empty());
        a.served("p", 1, "acc-a", 0);
        assert_eq!(a.preferred("p", 1, 10), ["acc-a", "acc-a"]);
        a.served("p", 1, "acc-b", 20);
        assert_eq!(a.preferred("p", 1, 30), ["acc-a", "acc-b"]);
        // Another provider, another conversation, or a long silence: nothing preferred.
        assert!(a.preferred("q", 1, 30).is_empty());
        assert!(a.preferred("p", 2, 30).is_empty());
        assert!(a.preferred("p", 1, 20 + IDLE_MS).is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let a = Affinity::default();
        for i in 0..(CAPACITY as u64 + 10) {
            a.served("p", i, "acc", i64::try_from(i).unwrap_or(0));
        }
        let len = a.pins.lock().map(|p| p.len()).unwrap_or(0);
        assert!(len <= CAPACITY, "{len}");
        assert!(!a.preferred("p", CAPACITY as u64 + 9, 0).is_empty());
    }
}
