//! perth's notification bus and animation engine (DESIGN.md D2, D3).
//!
//! - [`bus`]: notifications by pane, history, time to live (pure state).
//! - [`osc`]: finds OSC 9 / 99 / 777 notifications and BEL in a pane's output.
//! - [`shadow`]: each client's screen as perth's server last drew it.
//! - [`overlay`]: which border cells to recolour, and the escape sequences for it.
//! - [`anim`]: colours and movement of each style over time.
//! - [`settings`]: the `notifications` and `animation` blocks of `perth { }`.
//! - [`engine`]: all of it put together in the server, with the animation thread.
//! - [`events`]: each raised notification written to perth's outbox, for `perth events`.

pub mod anim;
pub mod bus;
pub mod engine;
pub mod events;
pub mod osc;
pub mod overlay;
pub mod settings;
pub mod shadow;
pub mod views;
