//! The perth server: Zellij's server with perth's extensions hooked in (DESIGN.md D2).
//!
//! `perth --server SOCKET` lands here. The process daemonizes first (threads do not survive a
//! fork), then starts the extension threads, then hands a wrapped `ServerOsApi` to Zellij.

pub mod agents;
pub mod clients;
pub mod control_server;
pub mod core_link;
pub mod detect;
pub mod grants;
pub mod os_api;
pub mod persist;
pub mod pty;
pub mod publish;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::status::{IpcClientStatus, PerthCoreStatus, PerthStatus};

/// Shared state of the extensions of one server process.
pub struct Extensions {
    pub session: String,
    pub socket_path: PathBuf,
    pub started: Instant,
    pub os_api: Arc<os_api::OsApiCounters>,
    pub perth_core: Arc<Mutex<PerthCoreStatus>>,
    pub bridge: Arc<Mutex<crate::bridge::BridgeStatus>>,
    /// The notification bus and animation engine.
    pub notify: Arc<crate::notify::engine::Engine>,
    pub persistence: Arc<Mutex<crate::status::PersistenceStatus>>,
    /// Wakes the perth-core link when there is news for the plugin.
    pub link_waker: core_link::LinkWaker,
    /// Open while perth-core is linked; pipes for it wait here (no link: always open).
    pub core_gate: Arc<clients::CoreGate>,
    /// What each pane's coding agent is doing.
    pub agents: Arc<agents::Agents>,
    /// The PTYs of shell and command panes (agent panes' worktrees, `perth agents send`).
    pub ptys: Arc<pty::Ptys>,
    /// Each pane's output activity (`perth agents send` waits for the echo before Enter).
    pub detector: Arc<detect::Detector>,
}

impl Extensions {
    /// Returns the full status, querying the session through the in-process client.
    pub fn status(&self) -> PerthStatus {
        // A round trip measured now, not up to a ping interval ago: the link pings at once and
        // the session query below runs meanwhile.
        let PerthCoreStatus {
            pings_answered: answered,
            connected,
            ..
        } = self.perth_core_status();
        let asked = Instant::now();
        if connected {
            self.link_waker.ping_now();
        }
        let ipc_client = query_session(&self.socket_path);
        let mut perth_core = self.perth_core_status();
        while connected
            && perth_core.pings_answered == answered
            && asked.elapsed() < FRESH_PING_WAIT
        {
            std::thread::sleep(Duration::from_millis(2));
            perth_core = self.perth_core_status();
        }
        // Copied out first: asking the bridge must not hold the supervisor's lock.
        let bridge = self
            .bridge
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .at(bridge_runtime::unix_millis());
        PerthStatus {
            session: self.session.clone(),
            perth_version: env!("CARGO_PKG_VERSION").to_string(),
            zellij_version: zellij_utils::consts::VERSION.to_string(),
            server_pid: std::process::id(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
            os_api: self.os_api.snapshot(),
            ipc_client,
            perth_core,
            bridge: bridge.with_outboxes(),
            notifications: self.notify.status(),
            persistence: self
                .persistence
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    fn perth_core_status(&self) -> PerthCoreStatus {
        self.perth_core
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// How long `perth status` waits for the ping it asks for; past it, the last round trip shows.
const FRESH_PING_WAIT: Duration = Duration::from_millis(500);

/// Asks the session for its panes and tabs through a fresh in-process connection.
fn query_session(socket_path: &Path) -> IpcClientStatus {
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let result = session_ipc::SessionClient::connect(socket_path).and_then(|mut client| {
        let panes = client.list_panes(timeout)?;
        Ok((panes, client.list_tabs(timeout)?))
    });
    match result {
        Ok((panes, tabs)) => IpcClientStatus {
            connected: true,
            panes_seen: panes.len(),
            tabs_seen: tabs.len(),
            query_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
            error: None,
        },
        Err(e) => IpcClientStatus {
            connected: false,
            error: Some(e.to_string()),
            ..Default::default()
        },
    }
}

/// Runs the server for the session socket at `socket_path`; returns only when it ends.
pub fn run(socket_path: PathBuf, debug: bool) -> i32 {
    let _ = zellij_utils::consts::DEBUG_MODE.set(debug);
    let stock = match zellij_server::os_input_output::get_server_os_input() {
        Ok(os) => os,
        Err(e) => {
            eprintln!("perth: cannot open a pseudo-terminal for the server: {e}");
            return 1;
        }
    };
    if let Err(e) = daemonize() {
        eprintln!("perth: cannot start the server in the background: {e}");
        return 1;
    }
    let session = socket_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let settings = crate::settings::PerthSettings::for_server();
    let (mut notify_settings, problems) =
        crate::notify::settings::NotifySettings::from_settings(&settings);
    notify_settings.apply_theme(&settings);
    for problem in problems {
        log::warn!("perth: {problem}");
    }
    let notify = crate::notify::engine::Engine::new(notify_settings);
    {
        let socket_path = socket_path.clone();
        notify.set_pane_oracle(move |pane| control_server::session_has_pane(&socket_path, pane));
    }
    {
        let look = grants::start(
            socket_path.clone(),
            notify.clone(),
            grants::OwnPlugins::of_this_server(),
        );
        notify.set_prompt_hook(move |client, why| {
            look(match why {
                crate::notify::engine::Prompt::Question => grants::Look::Question(client),
                crate::notify::engine::Prompt::Attached => grants::Look::Attached(client),
            })
        });
    }
    let link_waker = core_link::LinkWaker::default();
    {
        let link_waker = link_waker.clone();
        notify.set_change_hook(move || link_waker.wake());
    }
    let (detect_settings, detect_problems) = detect::DetectSettings::from_settings(&settings);
    for problem in detect_problems {
        log::warn!("perth: {problem}");
    }
    let events = crate::notify::events::forward(&notify, &session);
    notify.start();
    let ptys = Arc::new(pty::Ptys::new());
    let agents = agents::Agents::with_raises(notify.clone(), detect_settings.raises);
    let detector = detect::Detector::new(detect_settings, ptys.clone(), agents.clone());
    {
        let detector = Arc::downgrade(&detector);
        agents.set_program_oracle(move |id| detector.upgrade()?.program_now(id));
    }
    let extensions = Arc::new(Extensions {
        session: session.clone(),
        socket_path: socket_path.clone(),
        started: Instant::now(),
        os_api: Arc::new(os_api::OsApiCounters::new()),
        perth_core: Arc::new(Mutex::new(PerthCoreStatus {
            embedded: crate::assets::PERTH_CORE.is_embedded(),
            ..Default::default()
        })),
        bridge: Arc::new(Mutex::new(crate::bridge::BridgeStatus::default())),
        notify: notify.clone(),
        persistence: Arc::new(Mutex::new(crate::status::PersistenceStatus::default())),
        link_waker,
        core_gate: Arc::new(clients::CoreGate::default()),
        agents,
        ptys: ptys.clone(),
        detector: detector.clone(),
    });
    if let Some(sink) = events {
        extensions.agents.set_events(sink);
    }
    {
        let link = extensions.link_waker.clone();
        extensions.agents.set_change_hook(move || link.wake());
    }
    start_extension_threads(&extensions);
    detector.start(socket_path.clone());
    let wrapper = os_api::PerthOsApi::new(
        Box::new(stock),
        extensions.os_api.clone(),
        notify,
        extensions.core_gate.clone(),
        extensions.agents.clone(),
        ptys,
        detector,
    );
    // Zellij binds a staging path and perth renames it to the session's name once it listens
    // (see `publish`): a lookup while the server starts must not delete its socket.
    let publication = publish::Publication::new(&socket_path);
    let bind_at = publication
        .as_ref()
        .map_or_else(|| socket_path.clone(), |p| p.staging().to_path_buf());
    let publisher = publication.map(publish::Publication::start);
    zellij_server::start_server_impl(Box::new(wrapper), bind_at, true);
    let published = publisher.and_then(|p| p.join().ok().flatten());
    if let (Some(published), Some(dir)) = (published, socket_path.parent()) {
        publish::withdraw(dir, published);
    }
    // A clean exit: the writer stores the latest state it captured (bounded wait).
    persist::shutdown(Duration::from_secs(5));
    control_server::remove_socket(&extensions);
    0
}

fn start_extension_threads(extensions: &Arc<Extensions>) {
    persist::start(
        &extensions.session,
        &extensions.socket_path,
        extensions.persistence.clone(),
        extensions.agents.clone(),
    );
    match crate::bridge::BridgeSettings::from_env() {
        Some(settings) => {
            let status = extensions.bridge.clone();
            let link = extensions.link_waker.clone();
            let spawned = std::thread::Builder::new()
                .name("perth-bridge-supervisor".into())
                .spawn(move || crate::bridge::supervise(settings, status, move || link.wake()));
            if let Err(e) = spawned {
                log::error!("perth: host-bridge supervisor did not start: {e}");
            }
        }
        None => {
            if let Ok(mut s) = extensions.bridge.lock() {
                s.state = "missing".into();
                s.last_error = Some("no runtime folder: set XDG_RUNTIME_DIR or HOME".into());
            }
        }
    }
    let ext = extensions.clone();
    let spawned = std::thread::Builder::new()
        .name("perth-control".into())
        .spawn(move || control_server::control_main(ext));
    if let Err(e) = spawned {
        log::error!("perth: control socket thread did not start: {e}");
    }
    if crate::assets::PERTH_CORE.is_embedded() {
        let settings = core_link::LinkSettings {
            socket_path: extensions.socket_path.clone(),
            ping_interval: Duration::from_secs(10),
            answer_timeout: Duration::from_secs(5),
            start_delay: Duration::from_millis(500),
            hello_interval: Duration::from_millis(200),
        };
        let shared = core_link::Shared {
            status: extensions.perth_core.clone(),
            bridge: extensions.bridge.clone(),
            notify: extensions.notify.clone(),
            agents: extensions.agents.clone(),
            ptys: extensions.ptys.clone(),
            waker: extensions.link_waker.clone(),
            gate: extensions.core_gate.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("perth-core-link".into())
            .spawn(move || core_link::link_main(settings, shared));
        if let Err(e) = spawned {
            log::error!("perth: perth-core link thread did not start: {e}");
            extensions.core_gate.set(true);
        }
    } else if let Ok(mut s) = extensions.perth_core.lock() {
        // Nothing will link: pipes for perth-core pass on at once.
        extensions.core_gate.set(true);
        s.error = Some(
            "this perth binary was built without its plugins; build it with `cargo xtask build`"
                .into(),
        );
    }
}

/// Detaches from the launching client the way Zellij's own server does: a double fork that
/// keeps the working directory and the umask.
fn daemonize() -> Result<(), daemonize::Error> {
    // Reading the umask means setting it; put the old value straight back.
    let current = unsafe { libc::umask(0o077) };
    unsafe { libc::umask(current) };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    daemonize::Daemonize::new()
        .working_directory(cwd)
        .umask(current as u32)
        .start()
}
