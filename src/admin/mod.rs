//! Admin access to the management API, kept apart from client access: the dashboard password
//! (an Argon2 hash), login sessions, one-time tickets for the desktop window, admin tokens for
//! scripts, and the per-address pacing of password attempts. Proxy keys never open it.

mod password;
mod sessions;
mod throttle;

use std::fmt;

pub use password::{MIN_PASSWORD_LEN, PasswordError, hash_password, verify_password};
pub use sessions::{SESSION_TTL_MS, Sessions, Tickets, hash as session_hash};
pub use throttle::Throttle;

/// Admin tokens start with this, so that one is never mistaken for a proxy key.
pub const ADMIN_TOKEN_PREFIX: &str = "nra-";

/// The cookie holding a dashboard session.
pub const SESSION_COOKIE: &str = "nr_session";

/// Who is making a management call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The open dashboard on loopback (no password set, keys not required).
    Local,
    /// A dashboard session from a password login.
    Session,
    /// The desktop app: its window's session, or the shell itself.
    Desktop,
    /// A script with the named admin token.
    Token(String),
    /// `ninerouter admin …` on the router's machine.
    Cli,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Local => f.write_str("local"),
            Actor::Session => f.write_str("session"),
            Actor::Desktop => f.write_str("desktop"),
            Actor::Token(name) => write!(f, "token:{name}"),
            Actor::Cli => f.write_str("cli"),
        }
    }
}

/// The in-memory part of admin access, shared by the server and the desktop shell.
#[derive(Default)]
pub struct AdminState {
    pub sessions: Sessions,
    pub tickets: Tickets,
    pub throttle: Throttle,
    /// Held while a password is checked: one Argon2 run at a time.
    pub verifying: tokio::sync::Mutex<()>,
    /// The password hash as last read (`None`: not read yet), so that a shared store out of
    /// reach does not lock the dashboard out of saying so.
    pub known_password: std::sync::RwLock<Option<Option<String>>>,
}

pub(crate) use crate::secrets::random_token;
