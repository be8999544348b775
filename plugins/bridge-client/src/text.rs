//! Text from outside (stored summaries, pane names, error messages) made safe to print: the
//! one way of it, shared with the native tools (`bridge_protocol::text`).

pub use bridge_protocol::text::{inert, push_inert};
