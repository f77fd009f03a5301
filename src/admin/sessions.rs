//! Dashboard sessions and the desktop window's one-time tickets, in memory: a restart logs
//! everyone out. Only the SHA-256 of each token is held, and both maps are bounded. On a
//! shared store, sessions are also written there (see `manage::admin`) and this map is a cache
//! of them.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{Actor, random_token};

/// How long a session lasts from its login.
pub const SESSION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// How long a desktop ticket may wait to be used.
const TICKET_TTL_MS: i64 = 60 * 1000;
const MAX_SESSIONS: usize = 1000;
const MAX_TICKETS: usize = 100;

type Hash = [u8; 32];

pub fn hash(token: &str) -> Hash {
    Sha256::digest(token.as_bytes()).into()
}

/// Keeps at most `max` entries: expired ones go first, then the oldest.
fn make_room<V>(map: &mut HashMap<Hash, (V, i64)>, max: usize, now_ms: i64) {
    map.retain(|_, (_, expires)| *expires > now_ms);
    while map.len() >= max {
        let Some(oldest) = map.iter().min_by_key(|(_, (_, e))| *e).map(|(k, _)| *k) else {
            break;
        };
        map.remove(&oldest);
    }
}

/// Who holds a session, and the fingerprint of the password it was opened under.
type Holder = (Actor, u64);

#[derive(Default)]
pub struct Sessions {
    /// Holders, until when.
    live: Mutex<HashMap<Hash, (Holder, i64)>>,
}

impl Sessions {
    /// A new session for `actor` under the password `fingerprint` names; the token goes in
    /// the session cookie.
    pub fn open(&self, actor: Actor, fingerprint: u64, now_ms: i64) -> String {
        let token = random_token("nrs-");
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        make_room(&mut live, MAX_SESSIONS, now_ms);
        live.insert(
            hash(&token),
            ((actor, fingerprint), now_ms.saturating_add(SESSION_TTL_MS)),
        );
        token
    }

    /// Who the session belongs to, while it lasts and its password is still the one in force.
    pub fn actor(&self, token: &str, fingerprint: u64, now_ms: i64) -> Option<Actor> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(&hash(token))
            .filter(|((_, opened_under), expires)| {
                *expires > now_ms && *opened_under == fingerprint
            })
            .map(|((actor, _), _)| actor.clone())
    }

    /// Takes in a session opened on another host (found in the shared store).
    pub fn adopt(&self, hash: Hash, actor: Actor, fingerprint: u64, expires_ms: i64, now_ms: i64) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        make_room(&mut live, MAX_SESSIONS, now_ms);
        live.insert(hash, ((actor, fingerprint), expires_ms));
    }

    pub fn close(&self, token: &str) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.remove(&hash(token));
    }

    /// Ends every session (after the password changed or was removed).
    pub fn close_all(&self) {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[derive(Default)]
pub struct Tickets {
    open: Mutex<HashMap<Hash, ((), i64)>>,
}

impl Tickets {
    /// A ticket the desktop window trades for a session, once, within a minute.
    pub fn issue(&self, now_ms: i64) -> String {
        let ticket = random_token("nrt-");
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        make_room(&mut open, MAX_TICKETS, now_ms);
        open.insert(hash(&ticket), ((), now_ms + TICKET_TTL_MS));
        ticket
    }

    /// Whether `ticket` was issued and not yet used or expired; it cannot be used again.
    pub fn redeem(&self, ticket: &str, now_ms: i64) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.remove(&hash(ticket))
            .is_some_and(|(_, expires)| expires > now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_last_their_time_and_password_and_close() {
        let s = Sessions::default();
        let t = s.open(Actor::Session, 7, 0);
        assert_eq!(s.actor(&t, 7, 1), Some(Actor::Session));
        assert_eq!(s.actor(&t, 8, 1), None, "another password is in force");
        assert_eq!(s.actor(&t, 7, SESSION_TTL_MS), None);
        assert_eq!(s.actor("nrs-forged", 7, 1), None);
        s.close(&t);
        assert_eq!(s.actor(&t, 7, 1), None);
    }

    #[test]
    fn sessions_are_bounded() {
        let s = Sessions::default();
        let first = s.open(Actor::Session, 0, 0);
        for i in 0..MAX_SESSIONS {
            s.open(Actor::Session, 0, i64::try_from(i).unwrap() + 1);
        }
        assert_eq!(s.actor(&first, 0, 2), None, "the oldest made room");
        assert!(s.live.lock().unwrap().len() <= MAX_SESSIONS);
    }

    #[test]
    fn a_ticket_is_good_once_and_briefly() {
        let t = Tickets::default();
        let a = t.issue(0);
        assert!(t.redeem(&a, 1));
        assert!(!t.redeem(&a, 2), "used");
        let b = t.issue(0);
        assert!(!t.redeem(&b, TICKET_TTL_MS), "expired");
        assert!(!t.redeem("nrt-forged", 1));
    }
}
