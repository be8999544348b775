//! Saved sessions from the command line's side: the persistence settings both the client and
//! the server read, what is stored and how secrets are kept out of it (`scrub`), the
//! serialized layout split per tab (`layout`) and restoring a saved session (`restore`). The
//! commands that list, delete, restore and save layouts are `crate::saved_cli`; the writer that
//! saves a running session lives in the server (`crate::server::persist`).

pub mod layout;
pub mod restore;
pub mod scrub;
pub mod settings;
