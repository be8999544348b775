//! The server side of the control socket (see `crate::control`): answers `perth status`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::time::Duration;

use super::Extensions;
use crate::control::{socket_path, ControlRequest, ControlResponse};

/// Accepts control connections until the process ends.
pub fn control_main(extensions: Arc<Extensions>) {
    let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    let path = socket_path(&sock_dir, &extensions.session);
    if let Some(dir) = path.parent() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            log::error!("perth: cannot create {}: {e}", dir.display());
            return;
        }
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            log::error!("perth: cannot listen on {}: {e}", path.display());
            return;
        }
    };
    for stream in listener.incoming().flatten() {
        let ext = extensions.clone();
        let _ = std::thread::Builder::new()
            .name("perth-control-conn".into())
            .spawn(move || serve(stream, &ext));
    }
}

fn serve(stream: UnixStream, extensions: &Extensions) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    if BufReader::new(&stream).read_line(&mut line).is_err() {
        return;
    }
    let response = match serde_json::from_str::<ControlRequest>(&line) {
        Ok(ControlRequest::Status) => ControlResponse::Status(Box::new(extensions.status())),
        Ok(ControlRequest::PersistFlush) => ControlResponse::FlushQueued {
            queued: super::persist::request_flush(),
        },
        Err(e) => ControlResponse::Error {
            message: format!("malformed control request: {e}"),
        },
    };
    let mut out = serde_json::to_string(&response).unwrap_or_else(|e| {
        format!("{{\"result\":\"error\",\"message\":\"cannot encode the answer: {e}\"}}")
    });
    out.push('\n');
    let mut writer = &stream;
    let _ = writer.write_all(out.as_bytes());
}

/// Removes the control socket when the session ends.
pub fn remove_socket(extensions: &Extensions) {
    let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    let _ = std::fs::remove_file(socket_path(&sock_dir, &extensions.session));
}
