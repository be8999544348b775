//! Resolves perth's configuration: Zellij's defaults, perth's built-in `config.kdl`, then the
//! user's file, merged in that order and written out once as the file the session runs with.
//!
//! Zellij's client and server both read configuration from a file path, so perth materialises
//! the merged result (and its layouts and plugins) under the cache directory, named by content,
//! and hands that path to Zellij as if the user had passed `--config`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kdl::{KdlDocument, KdlNode};
use sha2::{Digest, Sha256};
use zellij_utils::input::config::{Config, ConfigError};

use crate::assets;

mod errors;
mod layering;
mod plugins;

pub use errors::*;
use layering::*;
pub use plugins::*;

/// Where the configuration comes from, as the command line and environment say.
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    /// `--config FILE` (or `ZELLIJ_CONFIG_FILE`): must exist.
    pub explicit_file: Option<PathBuf>,
    /// `--config-dir DIR`: holds `config.kdl` and `layouts/`.
    pub config_dir: Option<PathBuf>,
    /// The default user directory (`~/.config/perth`), used when neither of the above is given.
    pub user_dir: Option<PathBuf>,
    /// Where generated files go (`~/.cache/perth`).
    pub cache_dir: PathBuf,
    /// Configuration handed to perth-core and perth's other plugins (host-bridge's address and
    /// token).
    pub perth_core_config: BTreeMap<String, String>,
}

/// The files a session runs with.
#[derive(Debug)]
pub struct ResolvedConfig {
    /// The user's file, when there is one.
    pub user_file: Option<PathBuf>,
    /// The generated file passed to Zellij as `--config`.
    pub materialized_file: PathBuf,
    /// The generated layout directory (perth's layouts with the user's on top).
    pub layout_dir: PathBuf,
    /// perth's plugin files.
    pub plugins: PluginFiles,
}

/// Everything in the `perth` block that perth cannot use, each naming the setting and its
/// line; the client refuses to start on any. Each feature reads its own section; this asks
/// them all.
pub fn settings_problems(settings: &crate::settings::PerthSettings) -> Vec<String> {
    let mut out = settings.unknown_sections(&[
        "notifications",
        "animation",
        "persistence",
        "agents",
        "status_bar",
    ]);
    out.extend(crate::server::detect::DetectSettings::from_settings(settings).1);
    out.extend(StatusBarSetting::from_settings(settings).1);
    out.extend(crate::notify::settings::NotifySettings::from_settings(settings).1);
    if let Err(e) = crate::saved::settings::PersistSettings::from_settings(settings, &|_| None) {
        out.push(e);
    }
    out
}

/// Returns Zellij's defaults with perth's built-in `config.kdl` layered on top.
pub fn builtin_config() -> Result<Config, ConfigLoadError> {
    let builtin = |e| ConfigLoadError::BuiltIn(Box::new(e));
    let zellij_defaults = Config::from_default_assets().map_err(builtin)?;
    Config::from_kdl(assets::CONFIG_KDL, Some(zellij_defaults)).map_err(builtin)
}

/// Finds the user's configuration file: `--config`, else `<config-dir>/config.kdl`, else
/// `~/.config/perth/config.kdl`; `Ok(None)` when the user has none.
pub fn user_config_file(sources: &ConfigSources) -> Result<Option<PathBuf>, ConfigLoadError> {
    if let Some(file) = &sources.explicit_file {
        return if file.is_file() {
            Ok(Some(file.clone()))
        } else {
            Err(ConfigLoadError::Missing(file.clone()))
        };
    }
    let dir = sources.config_dir.as_ref().or(sources.user_dir.as_ref());
    Ok(dir.map(|d| d.join("config.kdl")).filter(|f| f.is_file()))
}

/// Builds the merged configuration and writes the files the session runs with.
///
/// The result is named by its inputs (perth's configuration, the user's file, the plugins,
/// the layouts, perth's version), so a start with unchanged inputs parses nothing: the file
/// Zellij reads already exists. A broken user file is never written, so it is reported again
/// on every start until it is fixed.
pub fn resolve(sources: &ConfigSources) -> Result<ResolvedConfig, ConfigLoadError> {
    let user_file = user_config_file(sources)?;
    let user_text = match &user_file {
        Some(path) => {
            Some(
                std::fs::read_to_string(path).map_err(|source| ConfigLoadError::Read {
                    path: path.clone(),
                    source,
                })?,
            )
        }
        None => None,
    };
    let plugins = PluginFiles::materialize(&sources.cache_dir)?;
    let layout_dir = materialize_layouts(&sources.cache_dir, user_layouts_dir(sources).as_deref())?;

    let mut key = Sha256::new();
    let plugin_files = plugins
        .all()
        .map(|(_, wasm, _)| wasm.map(|p| p.display().to_string()).unwrap_or_default());
    for part in [
        env!("CARGO_PKG_VERSION"),
        assets::CONFIG_KDL,
        user_text.as_deref().unwrap_or("\0no user file"),
    ]
    .into_iter()
    .chain(plugin_files.iter().map(String::as_str))
    .chain([layout_dir.display().to_string().as_str()])
    {
        key.update(part.as_bytes());
        key.update([0]);
    }
    for (k, v) in &sources.perth_core_config {
        key.update(k.as_bytes());
        key.update([0]);
        key.update(v.as_bytes());
        key.update([0]);
    }
    let materialized_file = sources
        .cache_dir
        .join("config")
        .join(format!("{}.kdl", hex(&key.finalize()[..8])));
    if materialized_file.is_file() {
        return Ok(ResolvedConfig {
            user_file,
            materialized_file,
            layout_dir,
            plugins,
        });
    }

    // Only the user's file is parsed into a Config here (over nothing, which is cheap), to report
    // its mistakes against its own lines; the file Zellij reads is composed as KDL text.
    let light_status_bar = user_text
        .as_deref()
        .and_then(|text| crate::settings::PerthSettings::from_kdl_text(text).ok())
        .is_none_or(|settings| StatusBarSetting::from_settings(&settings).0.light);
    let user_doc = match (&user_file, user_text) {
        (Some(path), Some(text)) => Some(validate_user_file(path, text)?),
        _ => None,
    };
    let text = compose(
        user_doc.as_ref(),
        &plugins,
        light_status_bar,
        &sources.perth_core_config,
        &layout_dir,
    )?;
    write_atomically(&materialized_file, text.as_bytes())?;
    Ok(ResolvedConfig {
        user_file,
        materialized_file,
        layout_dir,
        plugins,
    })
}

/// Returns the folder of the user's own layouts.
fn user_layouts_dir(sources: &ConfigSources) -> Option<PathBuf> {
    sources
        .config_dir
        .as_ref()
        .or(sources.user_dir.as_ref())
        .map(|d| d.join("layouts"))
}

/// Returns the file Zellij reads for `--layout ARG` (a path, or a name looked up in the layout
/// folder), naming the user's own file rather than perth's copy of it; `None` for a layout
/// built into Zellij or a file that is not there (Zellij reports that).
pub fn layout_file(arg: &Path, sources: &ConfigSources, layout_dir: &Path) -> Option<PathBuf> {
    if arg.extension().is_some() || arg.components().count() > 1 {
        return [arg.to_path_buf(), arg.with_extension("kdl")]
            .into_iter()
            .find(|p| p.is_file());
    }
    let file = arg.with_extension("kdl");
    user_layouts_dir(sources)
        .map(|d| d.join(&file))
        .into_iter()
        .chain([layout_dir.join(&file)])
        .find(|p| p.is_file())
}

/// Reads the layout file `path` as KDL; a syntax error names the file, line and column and
/// says what the parser found wrong (Zellij's own message for layouts leaves that out).
pub fn check_layout_syntax(path: &Path) -> Result<(), ConfigLoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigLoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    match text.parse::<KdlDocument>() {
        Ok(_) => Ok(()),
        Err(e) => Err(ConfigLoadError::Layout {
            path: path.to_path_buf(),
            text,
            source: Box::new(e),
        }),
    }
}

/// Checks the user's file on its own and returns it as a KDL document, naming the file, line
/// and column of any error.
fn validate_user_file(path: &Path, text: String) -> Result<KdlDocument, ConfigLoadError> {
    let user_error = |source: ConfigError, text: String| {
        let source = match source {
            ConfigError::KdlError(kdl) => {
                ConfigError::KdlError(kdl.add_src(path.display().to_string(), text.clone()))
            }
            other => other,
        };
        ConfigLoadError::User {
            path: path.to_path_buf(),
            text,
            source: Box::new(source),
        }
    };
    if let Err(source) = Config::from_kdl(&text, None) {
        return Err(user_error(source, text));
    }
    if let Ok(settings) = crate::settings::PerthSettings::from_kdl_text(&text) {
        let problems = settings_problems(&settings);
        if !problems.is_empty() {
            return Err(ConfigLoadError::PerthBlock {
                path: path.to_path_buf(),
                problems,
            });
        }
    }
    text.parse::<KdlDocument>()
        .map_err(|e| user_error(ConfigError::from(e), text.clone()))
}

/// Returns the text of the file Zellij reads: perth's built-in `config.kdl` with the user's
/// document layered over it, perth's plugins registered (perth-core as an alias and in
/// `load_plugins`, zdrive-snapshot as an alias), and perth's layout directory.
///
/// Zellij parses its own defaults under whatever file it is given, so this file holds only what
/// perth and the user change. Keeping it small matters: the client, the server and the server's
/// config watcher each parse it at start-up. Layering is done on KDL nodes the way
/// `Config::from_kdl` layers a file over a base, which a test checks against Zellij itself.
fn compose(
    user: Option<&KdlDocument>,
    plugins: &PluginFiles,
    light_status_bar: bool,
    perth_core_config: &BTreeMap<String, String>,
    layout_dir: &Path,
) -> Result<String, ConfigLoadError> {
    let mut builtin: KdlDocument = assets::CONFIG_KDL
        .parse()
        .map_err(|e| ConfigLoadError::BuiltIn(Box::new(ConfigError::from(e))))?;
    // Part of perth's own layer, under the user's: a user's `tab-bar` or `status-bar` alias
    // wins. The status bar needs no bridge, so it gets no configuration.
    let bars = [
        (&assets::TAB_BAR, plugins.tab_bar.as_ref(), true),
        (
            &assets::STATUS_BAR,
            plugins.status_bar.as_ref().filter(|_| light_status_bar),
            false,
        ),
    ];
    for (plugin, wasm, configured) in bars {
        let Some(wasm) = wasm else { continue };
        let mut alias = KdlNode::new(plugin.name);
        alias.insert("location", format!("file:{}", wasm.display()));
        if configured {
            configuration_children(&mut alias, perth_core_config);
        }
        child_block(&mut builtin, "plugins").nodes_mut().push(alias);
    }
    let mut doc = match user {
        Some(user) => layer_documents(&builtin, user),
        None => builtin,
    };
    for (plugin, wasm) in plugins.panes() {
        // Opened by perth's keybindings, a layout or `zellij pipe --plugin ALIAS`.
        let mut alias = KdlNode::new(plugin.name);
        alias.insert("location", format!("file:{}", wasm.display()));
        configuration_children(&mut alias, perth_core_config);
        child_block(&mut doc, "plugins").nodes_mut().push(alias);
    }
    if let Some(wasm) = &plugins.perth_core {
        // perth-core switches a client to its mode again when a late grant dropped the mode
        // its bars were sent (bridge_protocol::REFRESH_PIPE); until Zellij tells it the mode,
        // a client is in the session's default mode.
        let mut core_config = perth_core_config.clone();
        if let Some(mode) = doc
            .get("default_mode")
            .and_then(|node| node.entries().first())
            .and_then(|entry| entry.value().as_string())
        {
            core_config.insert("default_mode".to_owned(), mode.to_owned());
        }
        // Zellij's URL form of a local plugin; its Display form is the bare path.
        let location = format!("file:{}", wasm.display());
        let mut alias = KdlNode::new(assets::PERTH_CORE.name);
        alias.insert("location", location.clone());
        configuration_children(&mut alias, &core_config);
        child_block(&mut doc, "plugins").nodes_mut().push(alias);
        let mut load = KdlNode::new(location);
        configuration_children(&mut load, &core_config);
        // A `load_plugins` block replaces the list below it, so when neither file has one,
        // Zellij's default list is carried over before perth-core joins it.
        if doc.get("load_plugins").is_none() {
            doc.nodes_mut().push(zellij_default_load_plugins());
        }
        child_block(&mut doc, "load_plugins").nodes_mut().push(load);
    }
    if doc.get("layout_dir").is_none() {
        let mut node = KdlNode::new("layout_dir");
        node.push(layout_dir.display().to_string());
        doc.nodes_mut().push(node);
    }
    // Comments and spacing from three sources do not survive re-nesting cleanly; the file is
    // generated, so it is written plain.
    doc.clear_fmt_recursive();
    doc.fmt();
    Ok(doc.to_string())
}

/// The `status_bar` section of the `perth` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusBarSetting {
    /// Whether perth's light status bar takes over Zellij's `status-bar` alias (the default);
    /// `false` keeps Zellij's own bar.
    pub light: bool,
}

impl StatusBarSetting {
    /// Reads the `status_bar` section; returns the setting and what it could not use.
    pub fn from_settings(
        settings: &crate::settings::PerthSettings,
    ) -> (StatusBarSetting, Vec<String>) {
        let section = settings.section("status_bar");
        let mut problems = section.unknown_keys(&["light"]);
        let light = match section.bool("light") {
            Ok(light) => light.unwrap_or(true),
            Err(e) => {
                problems.push(e);
                true
            }
        };
        (StatusBarSetting { light }, problems)
    }
}

/// Writes perth's layouts, then links the user's layouts over them (a user file of the same
/// name wins), into a directory named by content.
fn materialize_layouts(
    cache_dir: &Path,
    user_layouts: Option<&Path>,
) -> Result<PathBuf, ConfigLoadError> {
    let mut files: BTreeMap<String, Vec<u8>> = assets::LAYOUTS
        .iter()
        .map(|(name, text)| (name.to_string(), text.as_bytes().to_vec()))
        .collect();
    if let Some(dir) = user_layouts {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "kdl") {
                    if let Ok(bytes) = std::fs::read(&path) {
                        files.insert(entry.file_name().to_string_lossy().into_owned(), bytes);
                    }
                }
            }
        }
    }
    let mut hasher = Sha256::new();
    for (name, bytes) in &files {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(bytes);
        hasher.update([0]);
    }
    let digest = hex(&hasher.finalize()[..6]);
    let dir = cache_dir.join("layouts").join(digest);
    if !dir.join(".complete").is_file() {
        for (name, bytes) in &files {
            write_atomically(&dir.join(name), bytes)?;
        }
        write_atomically(&dir.join(".complete"), b"")?;
    }
    Ok(dir)
}

/// Writes through a temporary file and a rename, so concurrent perth processes never see a
/// half-written file. Files are private (0600): the configuration carries host-bridge's token.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ConfigLoadError> {
    let err = |source| ConfigLoadError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        file.write_all(bytes).map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zellij_utils::data::PermissionType;
    use zellij_utils::input::layout::RunPluginLocation;
    use zellij_utils::input::permission::PermissionCache;

    fn sources(tmp: &Path) -> ConfigSources {
        ConfigSources {
            explicit_file: None,
            config_dir: None,
            user_dir: Some(tmp.join("user")),
            cache_dir: tmp.join("cache"),
            perth_core_config: BTreeMap::from([(
                "bridge_url".to_string(),
                "http://127.0.0.1:1".to_string(),
            )]),
        }
    }

    #[test]
    fn builtin_config_sets_perth_defaults() {
        let config = builtin_config().expect("built-in config parses");
        assert_eq!(config.options.show_startup_tips, Some(false));
        assert_eq!(config.options.show_release_notes, Some(false));
        assert_eq!(
            config.options.default_layout,
            Some(PathBuf::from(assets::DEFAULT_LAYOUT))
        );
    }

    #[test]
    fn user_file_overrides_builtin_and_keeps_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let src = sources(tmp.path());
        std::fs::create_dir_all(tmp.path().join("user")).unwrap();
        std::fs::write(
            tmp.path().join("user/config.kdl"),
            "show_startup_tips true\nscroll_buffer_size 123\n",
        )
        .unwrap();
        let resolved = resolve(&src).unwrap();
        // What Zellij reads back from the generated file is the merged configuration.
        let reread = Config::from_path(
            &resolved.materialized_file,
            Some(Config::from_default_assets().unwrap()),
        )
        .unwrap();
        assert_eq!(reread.options.show_startup_tips, Some(true));
        assert_eq!(reread.options.show_release_notes, Some(false));
        assert_eq!(reread.options.scroll_buffer_size, Some(123));
        assert_eq!(reread.options.layout_dir, Some(resolved.layout_dir.clone()));
        assert_eq!(reread.keybinds, builtin_config().unwrap().keybinds);
        // Unchanged inputs: the same file, not parsed again; a changed user file: a new one.
        assert_eq!(
            resolve(&src).unwrap().materialized_file,
            resolved.materialized_file
        );
        std::fs::write(tmp.path().join("user/config.kdl"), "scroll_buffer_size 7\n").unwrap();
        let changed = resolve(&src).unwrap();
        assert_ne!(changed.materialized_file, resolved.materialized_file);
        let reread = Config::from_path(
            &changed.materialized_file,
            Some(Config::from_default_assets().unwrap()),
        )
        .unwrap();
        assert_eq!(reread.options.scroll_buffer_size, Some(7));
        assert!(resolved.layout_dir.join("workspace.kdl").is_file());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&resolved.materialized_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// What the old, slow path produced: Zellij's defaults, perth's file and the user's file
    /// each parsed over the last, then perth-core and the layout directory added.
    fn layered_by_zellij(user: &str, src: &ConfigSources, resolved: &ResolvedConfig) -> Config {
        use zellij_utils::input::layout::{RunPlugin, RunPluginOrAlias};
        let run_of = |wasm: PathBuf| {
            RunPlugin {
                _allow_exec_host_cmd: false,
                location: RunPluginLocation::File(wasm),
                configuration: Default::default(),
                initial_cwd: None,
            }
            .with_configuration(src.perth_core_config.clone())
        };
        let mut base = builtin_config().unwrap();
        // perth's bars are part of perth's layer, under the user's file.
        if let Some(wasm) = resolved.plugins.tab_bar.clone() {
            base.plugins
                .aliases
                .insert(assets::TAB_BAR.name.to_string(), run_of(wasm));
        }
        if let Some(wasm) = resolved.plugins.status_bar.clone() {
            let mut run = run_of(wasm);
            run.configuration = Default::default();
            base.plugins
                .aliases
                .insert(assets::STATUS_BAR.name.to_string(), run);
        }
        let mut config = Config::from_kdl(user, Some(base)).unwrap();
        // A build without the plugins (plain `cargo test`) composes no entries for them.
        for (plugin, wasm) in resolved.plugins.panes() {
            config
                .plugins
                .aliases
                .insert(plugin.name.to_string(), run_of(wasm.to_path_buf()));
        }
        if let Some(wasm) = resolved.plugins.perth_core.clone() {
            let run = run_of(wasm);
            config
                .plugins
                .aliases
                .insert(assets::PERTH_CORE.name.to_string(), run.clone());
            config
                .background_plugins
                .insert(RunPluginOrAlias::RunPlugin(run));
        }
        if config.options.layout_dir.is_none() {
            config.options.layout_dir = Some(resolved.layout_dir.clone());
        }
        config
    }

    #[test]
    fn composed_file_equals_zellij_layering() {
        let users = [
            "",
            "show_startup_tips true\nscroll_buffer_size 123\n",
            // Bindings over perth's own (Alt t) and Zellij's, an unbind, a mode cleared.
            "keybinds {\n  normal { bind \"Alt t\" { NewPane; }; unbind \"Ctrl o\"; }\n  \
             locked clear-defaults=true { bind \"Ctrl g\" { SwitchToMode \"normal\"; }; }\n  \
             shared_except \"locked\" { bind \"Alt y\" { NewTab; }; }\n}\n",
            "keybinds clear-defaults=true {\n  normal { bind \"Ctrl q\" { Quit; }; }\n}\n",
            "ui {\n  pane_frames {\n    rounded_corners true\n  }\n}\nui {\n  pane_frames { hide_session_name true; }\n}\n",
            "themes {\n  mine {\n    fg 1 2 3\n    bg 4 5 6\n    black 0 0 0\n    red 1 0 0\n    green 0 1 0\n    \
             yellow 1 1 0\n    blue 0 0 1\n    magenta 1 0 1\n    cyan 0 1 1\n    white 1 1 1\n    orange 9 9 9\n  }\n}\ntheme \"mine\"\n",
            "plugins {\n  tab-bar location=\"zellij:compact-bar\"\n  mine location=\"file:/tmp/mine.wasm\" { x \"1\"; }\n}\n\
             load_plugins {\n  mine\n}\nenv {\n  EDITOR \"vi\"\n}\n",
            "layout_dir \"/srv/layouts\"\ndefault_layout \"compact\"\npane_frames false\n",
        ];
        for (i, user) in users.iter().enumerate() {
            let tmp = tempfile::tempdir().unwrap();
            let src = sources(tmp.path());
            std::fs::create_dir_all(tmp.path().join("user")).unwrap();
            std::fs::write(tmp.path().join("user/config.kdl"), user).unwrap();
            let resolved = resolve(&src).unwrap();
            let composed = std::fs::read_to_string(&resolved.materialized_file).unwrap();
            let read = Config::from_kdl(&composed, Some(Config::from_default_assets().unwrap()))
                .unwrap_or_else(|e| {
                    panic!("case {i}: composed file does not parse: {e}\n{composed}")
                });
            let expected = layered_by_zellij(user, &src, &resolved);
            // Names the parts that differ, with both values where they are short enough to read.
            macro_rules! differing {
                ($($field:ident),*) => {{
                    let mut differing = Vec::new();
                    $(if read.$field != expected.$field {
                        differing.push(format!(
                            "{}: {:?} vs {:?}",
                            stringify!($field),
                            read.$field,
                            expected.$field
                        ));
                    })*
                    differing
                }};
            }
            let differing = differing!(
                keybinds,
                options,
                themes,
                plugins,
                background_plugins,
                ui,
                env,
                web_client
            );
            assert!(
                differing.is_empty() && read == expected,
                "case {i}: composed file differs from Zellij's layering in {differing:#?}\n{composed}"
            );
        }
    }

    #[test]
    fn status_bar_alias_follows_the_setting_and_gives_way_to_the_users() {
        let plugins = PluginFiles {
            status_bar: Some(PathBuf::from("/c/plugins/status-bar-1.wasm")),
            ..Default::default()
        };
        let compose_with = |user: Option<&str>, light| {
            let user: Option<KdlDocument> = user.map(|u| u.parse().unwrap());
            compose(
                user.as_ref(),
                &plugins,
                light,
                &BTreeMap::from([("bridge_token".to_string(), "t".to_string())]),
                Path::new("/l"),
            )
            .unwrap()
        };
        let on = compose_with(None, true);
        // Its own: no bridge configuration, which it does not use.
        assert!(
            on.contains("status-bar location=\"file:/c/plugins/status-bar-1.wasm\"\n"),
            "{on}"
        );
        assert!(!compose_with(None, false).contains("status-bar"));
        let mine = compose_with(
            Some("plugins {\n    status-bar location=\"zellij:compact-bar\"\n}\n"),
            true,
        );
        // Both entries are written, the user's last: Zellij takes the last, as for `tab-bar`.
        let read = Config::from_kdl(&mine, None).unwrap();
        let alias = read.plugins.aliases.get("status-bar").unwrap();
        assert_eq!(
            alias.location,
            RunPluginLocation::Zellij(zellij_utils::data::PluginTag::new("compact-bar")),
            "{mine}"
        );

        let setting = |text: &str| {
            StatusBarSetting::from_settings(
                &crate::settings::PerthSettings::from_kdl_text(text).unwrap(),
            )
        };
        assert_eq!(setting("").0, StatusBarSetting { light: true });
        assert_eq!(
            setting("perth { status_bar { light false; }; }").0,
            StatusBarSetting { light: false }
        );
        let (_, problems) = setting("perth {\n status_bar { light 1; lite true; }\n}");
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn composed_file_is_small() {
        let tmp = tempfile::tempdir().unwrap();
        let resolved = resolve(&sources(tmp.path())).unwrap();
        let composed = std::fs::read_to_string(&resolved.materialized_file).unwrap();
        // Zellij's defaults are not repeated: they are what makes parsing it slow.
        assert!(
            composed.len() < 4096,
            "{} bytes:\n{composed}",
            composed.len()
        );
    }

    /// perth-core is told the mode a client starts in, which it switches a client to when a
    /// late permission grant dropped the mode the client's bars were sent.
    #[test]
    fn perth_core_is_told_the_users_default_mode() {
        let plugins = PluginFiles {
            perth_core: Some(PathBuf::from("/c/plugins/perth-core-1.wasm")),
            ..Default::default()
        };
        use zellij_utils::input::layout::RunPluginOrAlias;
        let core_config = |user: &str| {
            let user: KdlDocument = user.parse().unwrap();
            let text = compose(
                Some(&user),
                &plugins,
                true,
                &BTreeMap::new(),
                Path::new("/l"),
            )
            .unwrap();
            let read = Config::from_kdl(&text, None).unwrap();
            read.background_plugins
                .iter()
                .find_map(|p| match p {
                    RunPluginOrAlias::RunPlugin(run)
                        if matches!(run.location, RunPluginLocation::File(_)) =>
                    {
                        Some(run.configuration.inner().clone())
                    }
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no perth-core in load_plugins:\n{text}"))
        };
        assert_eq!(
            core_config("default_mode \"locked\"\n")
                .get("default_mode")
                .map(String::as_str),
            Some("locked")
        );
        assert_eq!(core_config("pane_frames false\n").get("default_mode"), None);
    }

    #[test]
    fn broken_user_file_names_file_line_and_column() {
        let tmp = tempfile::tempdir().unwrap();
        let src = sources(tmp.path());
        std::fs::create_dir_all(tmp.path().join("user")).unwrap();
        let file = tmp.path().join("user/config.kdl");
        std::fs::write(&file, "pane_frames true\nkeybinds {\n  normal {\n    bind \"Alt x\" { NoSuchAction; }\n  }\n}\n").unwrap();
        let err = resolve(&src).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(&format!("{}:4:", file.display())),
            "{message}"
        );
        assert!(message.contains("NoSuchAction"), "{message}");
    }

    #[test]
    fn kdl_syntax_error_is_located() {
        let tmp = tempfile::tempdir().unwrap();
        let src = sources(tmp.path());
        std::fs::create_dir_all(tmp.path().join("user")).unwrap();
        let file = tmp.path().join("user/config.kdl");
        std::fs::write(
            &file,
            "pane_frames true\nui {\n  pane_frames {\n    rounded_corners \"true\n",
        )
        .unwrap();
        let message = resolve(&src).unwrap_err().to_string();
        assert!(message.contains(&file.display().to_string()), "{message}");
        assert!(message.contains("invalid configuration in"), "{message}");
    }

    /// Returns the one-line error and the report for a user file holding `text`.
    fn user_file_error(text: &str) -> (PathBuf, String, String) {
        let tmp = tempfile::tempdir().unwrap();
        let src = sources(tmp.path());
        std::fs::create_dir_all(tmp.path().join("user")).unwrap();
        let file = tmp.path().join("user/config.kdl");
        std::fs::write(&file, text).unwrap();
        let err = resolve(&src).unwrap_err();
        (file, err.to_string(), err.report())
    }

    #[test]
    fn kdl_syntax_errors_say_what_the_parser_found() {
        let (file, message, report) = user_file_error(
            "pane_frames true\nui {\n  pane_frames {\n    rounded_corners true\n  }\n",
        );
        assert_eq!(
            message,
            format!(
                "invalid configuration in {}:2:4: KDL syntax error: Expected closing '}}' in \
                 node children block; fix the file or move it aside",
                file.display()
            )
        );
        assert!(
            report.starts_with(&format!("perth: {message}\n")),
            "{report}"
        );
        assert!(
            report.contains("ui {") && report.contains("the block opened here is not closed"),
            "{report}"
        );

        let (file, message, report) = user_file_error("pane_frames true\nui } {\n");
        assert_eq!(
            message,
            format!(
                "invalid configuration in {}:2:1: KDL syntax error: Expected valid node \
                 terminator, found `}}`; fix the file or move it aside",
                file.display()
            )
        );
        assert!(
            report.contains("Nodes can only be terminated by `;` or a valid line ending."),
            "{report}"
        );

        let (file, message, _) = user_file_error("keybinds {\n}\n}\n");
        assert_eq!(
            message,
            format!(
                "invalid configuration in {}:3:1: KDL syntax error: unexpected `}}`; fix the \
                 file or move it aside",
                file.display()
            )
        );
    }

    #[test]
    fn layout_files_get_the_parsers_message() {
        let tmp = tempfile::tempdir().unwrap();
        let src = sources(tmp.path());
        let layout_dir = tmp.path().join("materialized");
        std::fs::create_dir_all(tmp.path().join("user/layouts")).unwrap();
        std::fs::create_dir_all(&layout_dir).unwrap();
        let mine = tmp.path().join("user/layouts/mine.kdl");
        std::fs::write(
            &mine,
            "layout {\n    tab name=\"a\" {\n        pane\n    }\n",
        )
        .unwrap();
        std::fs::write(layout_dir.join("mine.kdl"), "layout {\n}\n").unwrap();
        // A name finds the user's own file, not perth's copy of it; a path is taken as is.
        let found = layout_file(Path::new("mine"), &src, &layout_dir).unwrap();
        assert_eq!(found, mine);
        assert_eq!(layout_file(&mine, &src, &layout_dir), Some(mine.clone()));
        assert_eq!(layout_file(Path::new("compact"), &src, &layout_dir), None);
        let err = check_layout_syntax(&found).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid layout in {}:1:8: KDL syntax error: Expected closing '}}' in node \
                 children block; fix the file",
                mine.display()
            )
        );
        assert!(check_layout_syntax(&layout_dir.join("mine.kdl")).is_ok());
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let mut src = sources(tmp.path());
        src.explicit_file = Some(tmp.path().join("nope.kdl"));
        assert!(matches!(resolve(&src), Err(ConfigLoadError::Missing(_))));
    }

    #[test]
    fn user_layouts_shadow_builtin_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let src = sources(tmp.path());
        std::fs::create_dir_all(tmp.path().join("user/layouts")).unwrap();
        std::fs::write(
            tmp.path().join("user/layouts/workspace.kdl"),
            "layout { pane; }\n",
        )
        .unwrap();
        let resolved = resolve(&src).unwrap();
        let text = std::fs::read_to_string(resolved.layout_dir.join("workspace.kdl")).unwrap();
        assert_eq!(text, "layout { pane; }\n");
    }

    #[test]
    fn every_plugin_asks_for_permissions_zellij_knows() {
        let tmp = tempfile::tempdir().unwrap();
        let plugins = PluginFiles::materialize(tmp.path()).unwrap();
        for (plugin, _, names) in plugins.all() {
            let types = permission_types(names).unwrap();
            assert_eq!(types.len(), names.len(), "{}", plugin.name);
        }
        let unknown = permission_types(&["ReadApplicationState", "ReadMinds"]).unwrap_err();
        assert!(unknown.to_string().contains("ReadMinds"), "{unknown}");
    }

    #[test]
    fn the_readme_block_is_valid() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("perth {\n    notifications")
            .expect("README shows the block");
        let end = start + readme[start..].find("\n}\n").expect("block end") + 3;
        let settings = crate::settings::PerthSettings::from_kdl_text(&readme[start..end]).unwrap();
        assert!(settings.section("animation").is_present());
        assert_eq!(settings_problems(&settings), Vec::<String>::new());
        let bad =
            crate::settings::PerthSettings::from_kdl_text("perth {\n  colours { }\n}\n").unwrap();
        assert_eq!(settings_problems(&bad).len(), 1);
        let bad = crate::settings::PerthSettings::from_kdl_text(
            "perth {\n  persistence {\n    flush_interval_ms 1\n    colour \"red\"\n  }\n}\n",
        )
        .unwrap();
        let found = settings_problems(&bad);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("colour"), "{found:?}");
    }

    #[test]
    fn pregrant_keeps_other_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("permissions.kdl");
        let mut other = PermissionCache::from_path_or_default(Some(cache.clone()));
        other.cache("/other.wasm".into(), vec![PermissionType::RunCommands]);
        other.write_to_file().unwrap();
        pregrant_permissions(
            Some(cache.clone()),
            &[
                (
                    Path::new("/x/perth-core.wasm"),
                    bridge_protocol::permissions::PERTH_CORE,
                ),
                (
                    Path::new("/x/zdrive-snapshot.wasm"),
                    bridge_protocol::permissions::ZDRIVE_SNAPSHOT,
                ),
            ],
        )
        .unwrap();
        let back = PermissionCache::from_path_or_default(Some(cache));
        let key = RunPluginLocation::File("/x/perth-core.wasm".into()).to_string();
        let core = permission_types(bridge_protocol::permissions::PERTH_CORE).unwrap();
        assert!(back.check_permissions(key, &core));
        let key = RunPluginLocation::File("/x/zdrive-snapshot.wasm".into()).to_string();
        let snapshot = permission_types(bridge_protocol::permissions::ZDRIVE_SNAPSHOT).unwrap();
        assert!(back.check_permissions(key, &snapshot));
        assert!(back.check_permissions("/other.wasm".into(), &vec![PermissionType::RunCommands]));
    }
}
