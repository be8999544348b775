//! The one integration test binary of the harness crate: one module per area.

mod foundation;
mod harness;
