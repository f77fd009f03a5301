//! The tray menu: its model (plain data, testable without a display), the actions its items
//! carry, and how one model becomes the next without closing an open menu.

mod action;
mod diff;
mod model;

pub use action::Action;
pub use diff::{Plan, plan};
pub use model::{Badge, Entry, MenuInput, MenuModel, Router, UpdateState, build, next_change};
