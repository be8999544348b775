//! perth's `ClientOsApi`: Zellij's own, except that a new client notices its server's socket
//! within milliseconds instead of on a 50 ms poll.
//!
//! Zellij's client retries `connect` every 50 ms while the server it just spawned starts up, so a
//! first screen arrives up to 50 ms after the server could have served it. perth waits for the
//! socket file at a finer pace first; the stock method then connects on its first try. It only
//! looks at the file: a probing connection would be a client the server has to set up and tear
//! down again.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use zellij_client::os_input_output::{AsyncSignals, AsyncStdin, ClientOsApi};
use zellij_utils::data::Palette;
use zellij_utils::errors::ErrorContext;
use zellij_utils::ipc::{ClientToServerMsg, IpcReceiveError, ServerToClientMsg};
use zellij_utils::pane_size::Size;

/// How often the socket file is looked for.
const SOCKET_POLL: Duration = Duration::from_millis(2);
/// How long the fine-grained wait lasts before the stock (50 ms) retry loop takes over.
const SOCKET_FAST_WAIT: Duration = Duration::from_secs(5);

/// Zellij's client OS layer with a faster wait for a starting server.
#[derive(Debug)]
pub struct PerthClientOsApi {
    inner: Box<dyn ClientOsApi>,
}

impl PerthClientOsApi {
    /// Wraps Zellij's own client OS layer.
    pub fn new(inner: Box<dyn ClientOsApi>) -> Self {
        Self { inner }
    }
}

/// Returns once `path` exists or `limit` has passed, looking every [`SOCKET_POLL`].
pub fn wait_for_socket_file(path: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if path.exists() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(SOCKET_POLL);
    }
}

impl ClientOsApi for PerthClientOsApi {
    fn get_terminal_size(&self) -> Size {
        self.inner.get_terminal_size()
    }
    fn set_raw_mode(&mut self) {
        self.inner.set_raw_mode()
    }
    fn unset_raw_mode(&self) -> Result<(), io::Error> {
        self.inner.unset_raw_mode()
    }
    fn get_stdout_writer(&self) -> Box<dyn io::Write> {
        self.inner.get_stdout_writer()
    }
    fn get_stdin_reader(&self) -> Box<dyn io::BufRead> {
        self.inner.get_stdin_reader()
    }
    fn stdin_is_terminal(&self) -> bool {
        self.inner.stdin_is_terminal()
    }
    fn stdout_is_terminal(&self) -> bool {
        self.inner.stdout_is_terminal()
    }
    fn update_session_name(&mut self, new_session_name: String) {
        self.inner.update_session_name(new_session_name)
    }
    fn read_from_stdin(&mut self) -> Result<Vec<u8>, &'static str> {
        self.inner.read_from_stdin()
    }
    fn box_clone(&self) -> Box<dyn ClientOsApi> {
        Box::new(Self {
            inner: self.inner.box_clone(),
        })
    }
    fn send_to_server(&self, msg: ClientToServerMsg) {
        self.inner.send_to_server(msg)
    }
    fn recv_from_server(&self) -> Option<(ServerToClientMsg, ErrorContext)> {
        self.inner.recv_from_server()
    }
    fn try_recv_from_server(&self) -> Result<(ServerToClientMsg, ErrorContext), IpcReceiveError> {
        self.inner.try_recv_from_server()
    }
    fn handle_signals(
        &self,
        sigwinch_cb: Box<dyn Fn()>,
        quit_cb: Box<dyn Fn()>,
        resize_receiver: Option<std::sync::mpsc::Receiver<()>>,
    ) {
        self.inner
            .handle_signals(sigwinch_cb, quit_cb, resize_receiver)
    }
    fn connect_to_server(&self, path: &Path) {
        // Either way the stock method connects (and keeps retrying if the file is not a live
        // socket yet); this only saves its first 50 ms sleep.
        wait_for_socket_file(path, SOCKET_FAST_WAIT);
        self.inner.connect_to_server(path)
    }
    fn spawn_server(&self, socket_path: &Path, debug: bool) -> Result<(), io::Error> {
        self.inner.spawn_server(socket_path, debug)
    }
    fn should_install_panic_hook(&self) -> bool {
        self.inner.should_install_panic_hook()
    }
    fn load_palette(&self) -> Palette {
        self.inner.load_palette()
    }
    fn enable_mouse(&self) -> anyhow::Result<()> {
        self.inner.enable_mouse()
    }
    fn disable_mouse(&self) -> anyhow::Result<()> {
        self.inner.disable_mouse()
    }
    fn restore_console_mode(&self) {
        self.inner.restore_console_mode()
    }
    fn env_variable(&self, name: &str) -> Option<String> {
        self.inner.env_variable(name)
    }
    fn get_async_stdin_reader(&self) -> Box<dyn AsyncStdin> {
        self.inner.get_async_stdin_reader()
    }
    fn get_async_signal_listener(&self) -> io::Result<Box<dyn AsyncSignals>> {
        self.inner.get_async_signal_listener()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_wait_returns_when_the_file_appears() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("session");
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                std::fs::write(&path, b"").unwrap();
            })
        };
        assert!(wait_for_socket_file(&path, Duration::from_secs(10)));
        writer.join().unwrap();
    }

    #[test]
    fn socket_wait_gives_up_at_its_limit() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(!wait_for_socket_file(
            &tmp.path().join("never"),
            Duration::from_millis(10)
        ));
    }
}
