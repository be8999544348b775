//! The WebAssembly entry point: registers [`zdrive_pane::Plugin`].

use zdrive_pane::Plugin;
use zellij_tile::prelude::*;

register_plugin!(Plugin);
