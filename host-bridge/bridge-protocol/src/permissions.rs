//! The permissions each of perth's plugins asks Zellij for, by the names Zellij gives them in
//! its permission cache (`permissions.kdl`) and its `PermissionType` parses.
//!
//! One list per plugin, read by the plugin (it asks for exactly these) and by perth's server
//! (it grants exactly these up front, so that no question ever appears for its own plugins:
//! Zellij skips its prompt only when every permission asked for is cached).

/// perth-core.
pub const PERTH_CORE: &[&str] = &[
    // PaneUpdate, TabUpdate and ModeUpdate are only delivered with it.
    "ReadApplicationState",
    // Switching a client back to its mode (perth::refresh) and acting on panes.
    "ChangeApplicationState",
    // cli_pipe_output, unblock_cli_pipe_input and block_cli_pipe_input are denied without it.
    "ReadCliPipes",
    // web_request to host-bridge on 127.0.0.1.
    "WebAccess",
    // Broadcasting the active notifications to other plugins (perth::notifications).
    "MessageAndLaunchOtherPlugins",
];

/// The tab bar.
pub const TAB_BAR: &[&str] = &[
    // TabUpdate, ModeUpdate and PaneUpdate are only delivered with it.
    "ReadApplicationState",
    // Switching tabs on a click.
    "ChangeApplicationState",
    // web_request to host-bridge on 127.0.0.1.
    "WebAccess",
    // Asking perth-core for the updates a late grant dropped (perth::refresh).
    "MessageAndLaunchOtherPlugins",
];

/// The status bar.
pub const STATUS_BAR: &[&str] = &[
    // ModeUpdate, TabUpdate and the clipboard events are only delivered with it.
    "ReadApplicationState",
    // Asking perth-core for the updates a late grant dropped (perth::refresh).
    "MessageAndLaunchOtherPlugins",
];

/// The iMi pane.
pub const IMI_WORKTREES: &[&str] = &[
    // ModeUpdate and SessionUpdate are only delivered with it.
    "ReadApplicationState",
    // Naming its own pane after the project.
    "ChangeApplicationState",
    // web_request to host-bridge on 127.0.0.1.
    "WebAccess",
];

/// The zdrive pane.
pub const ZDRIVE_PANE: &[&str] = &[
    // web_request to host-bridge on 127.0.0.1.
    "WebAccess",
    // ModeUpdate, TabUpdate and PaneUpdate are only delivered with it.
    "ReadApplicationState",
    // Naming its own pane after the pane it shows.
    "ChangeApplicationState",
];

/// The snapshot pane.
pub const ZDRIVE_SNAPSHOT: &[&str] = &[
    // PaneUpdate, TabUpdate, ModeUpdate and SessionUpdate are only delivered with it.
    "ReadApplicationState",
    // Naming its own pane after the pane it shows.
    "ChangeApplicationState",
    // web_request to host-bridge on 127.0.0.1.
    "WebAccess",
    // Answering `zellij pipe --name zdrive::snapshot` on the CLI pipe.
    "ReadCliPipes",
];

/// The permissions named `names`, typed as `T` (Zellij's `PermissionType`, which this crate
/// does not link); the first name `T` does not know is the error.
pub fn parse<T: std::str::FromStr>(names: &[&str]) -> Result<Vec<T>, String> {
    names
        .iter()
        .map(|name| name.parse().map_err(|_| (*name).to_owned()))
        .collect()
}
