//! `pipe-echo`: answers each CLI pipe named [`ECHO_PIPE`] with `echo <payload>` and lets it go.
//!
//! The concurrency bench loads it into perth and into stock Zellij alike, so that both are
//! measured on the same pipe with an answer; perth does not ship it.

use std::collections::BTreeMap;

use zellij_tile::prelude::*;

/// The pipe name this plugin answers; every other pipe is left to the other plugins.
const ECHO_PIPE: &str = "bench::echo";

#[derive(Default)]
struct PipeEcho;

register_plugin!(PipeEcho);

impl ZellijPlugin for PipeEcho {
    fn load(&mut self, _configuration: BTreeMap<String, String>) {
        // The bench grants it in the permission cache before the session starts.
        request_permission(&[PermissionType::ReadCliPipes]);
    }

    fn pipe(&mut self, message: PipeMessage) -> bool {
        if message.name != ECHO_PIPE {
            return false;
        }
        if let PipeSource::Cli(pipe_id) = &message.source {
            let payload = message.payload.as_deref().unwrap_or_default();
            cli_pipe_output(pipe_id, &format!("echo {payload}\n"));
            unblock_cli_pipe_input(pipe_id);
        }
        false
    }

    fn render(&mut self, _rows: usize, _cols: usize) {}
}
