//! Moving a user in: pointing their coding tools' own config files at the router (with a
//! backup to undo it), reading another router's setup, and the encrypted setup file that
//! carries a whole setup to another machine. Plain files and parsing; `manage` adds the
//! router's side (keys, accounts, the catalog).

pub mod bundle;
pub mod doc;
pub mod edit;
pub mod home;
pub mod peers;
pub mod tools;

pub use edit::{FileChange, SetupError};
pub use home::Home;
