//! The `notifications` and `animation` sections of the `perth { }` block.

use std::time::Duration;

use zellij_utils::data::PaletteColor;

use super::anim::{parse_hex, AnimSettings, Look, Rgb};
use super::bus::Style;
use crate::settings::PerthSettings;

/// Everything the notification engine reads from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySettings {
    /// History lines kept for `list-notifications`.
    pub history: usize,
    /// How long a notification raised on a focused pane stays.
    pub brief: Duration,
    /// Whether BEL raises a notification.
    pub bell: bool,
    /// Whether OSC 9 / 99 / 777 raise notifications.
    pub osc: bool,
    /// Whether command panes raise one when their command exits.
    pub command_exit: bool,
    pub animation: AnimSettings,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            history: 200,
            brief: Duration::from_millis(1500),
            bell: true,
            osc: true,
            command_exit: true,
            animation: AnimSettings::default(),
        }
    }
}

impl NotifySettings {
    /// Reads the settings; returns what it could not use (each naming the setting and line).
    pub fn from_settings(settings: &PerthSettings) -> (NotifySettings, Vec<String>) {
        let mut s = NotifySettings::default();
        let mut errors = Vec::new();
        let n = settings.section("notifications");
        errors.extend(n.unknown_keys(&["history", "brief_ms", "bell", "osc", "command_exit"]));
        if let Some(v) = ok(&mut errors, n.int("history", 0..=100_000)) {
            s.history = v as usize;
        }
        if let Some(v) = ok(&mut errors, n.int("brief_ms", 0..=600_000)) {
            s.brief = Duration::from_millis(v as u64);
        }
        let a = settings.section("animation");
        let fps = ok(&mut errors, a.int("fps", 1..=240));
        let ack = ok(&mut errors, a.int("ack_after_seconds", 0..=86_400));
        for (key, slot) in [
            ("bell", &mut s.bell),
            ("osc", &mut s.osc),
            ("command_exit", &mut s.command_exit),
        ] {
            match n.bool(key) {
                Ok(Some(v)) => *slot = v,
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        errors.extend(a.unknown_keys(&[
            "enabled",
            "fps",
            "candycane",
            "ack_after_seconds",
            "styles",
        ]));
        if let Some(v) = fps {
            s.animation.fps = v as u32;
        }
        if let Some(v) = ack {
            s.animation.ack_after = Duration::from_secs(v as u64);
        }
        for (key, slot) in [
            ("enabled", &mut s.animation.enabled),
            ("candycane", &mut s.animation.candycane),
        ] {
            match a.bool(key) {
                Ok(Some(v)) => *slot = v,
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        let styles = a.child("styles");
        errors.extend(styles.unknown_keys(&["error", "success", "warning", "info"]));
        for (i, style) in Style::ALL.iter().enumerate() {
            let block = styles.child(style.name());
            errors.extend(block.unknown_keys(&["color", "animation"]));
            let look: &mut Look = &mut s.animation.looks[i];
            match block.string("color") {
                Ok(Some(c)) => match parse_hex(&c) {
                    Ok(rgb) => look.color = rgb,
                    Err(e) => errors.push(format!("perth.animation.styles.{style}.color: {e}")),
                },
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
            match block.string("animation") {
                Ok(Some(name)) => match name.parse() {
                    Ok(anim) => look.animation = anim,
                    Err(e) => errors.push(format!("perth.animation.styles.{style}.animation: {e}")),
                },
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        (s, errors)
    }
}

impl NotifySettings {
    /// Takes the styles' colours from the theme the configuration selects (`theme "NAME"`,
    /// one of Zellij's built-in themes or a `themes { }` block of the file), where the `perth`
    /// block does not set them. Error is the theme's exit-code error colour, success its
    /// exit-code success colour, warning and info the yellow and blue a Zellij theme carries
    /// there (`exit_code_error` emphasis 0, `exit_code_success` emphasis 3). Without a theme,
    /// or with one Zellij does not know, perth's own colours stay.
    pub fn apply_theme(&mut self, settings: &PerthSettings) {
        let Some(colors) = theme_colors(settings.text()) else {
            return;
        };
        let styles = settings.section("animation").child("styles");
        for (i, style) in Style::ALL.iter().enumerate() {
            if matches!(styles.child(style.name()).string("color"), Ok(Some(_))) {
                continue;
            }
            self.animation.looks[i].color = colors[i];
        }
    }
}

/// The colours of the configured theme, in [`Style::ALL`] order.
fn theme_colors(config_text: &str) -> Option<[Rgb; 4]> {
    use zellij_utils::input::config::Config;
    let config = Config::from_kdl(config_text, None).ok()?;
    let name = config.options.theme.clone()?;
    let themes = zellij_utils::setup::get_default_themes().merge(config.themes.clone());
    let styling = themes.get_theme(&name)?.palette;
    let rgb = |c: PaletteColor| match c {
        PaletteColor::Rgb(rgb) => rgb,
        PaletteColor::EightBit(n) => xterm_256(n),
    };
    // Style::ALL is info, success, warning, error.
    Some([
        rgb(styling.exit_code_success.emphasis_3),
        rgb(styling.exit_code_success.base),
        rgb(styling.exit_code_error.emphasis_0),
        rgb(styling.exit_code_error.base),
    ])
}

/// The RGB value of an xterm 256-colour index.
fn xterm_256(n: u8) -> Rgb {
    const BASE: [Rgb; 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    match n {
        0..=15 => BASE[n as usize],
        16..=231 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            let i = n - 16;
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (n - 232) * 10;
            (v, v, v)
        }
    }
}

fn ok<T>(errors: &mut Vec<String>, r: Result<Option<T>, String>) -> Option<T> {
    r.unwrap_or_else(|e| {
        errors.push(e);
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::anim::Animation;

    #[test]
    fn a_theme_gives_the_styles_its_colours_unless_the_perth_block_sets_them() {
        let text = r##"
theme "mine"
themes {
    mine {
        fg 200 200 200
        bg 0 0 0
        black 0 0 0
        red 200 10 10
        green 10 200 10
        yellow 200 200 10
        blue 10 10 200
        magenta 200 10 200
        cyan 10 200 200
        white 255 255 255
        orange 255 128 0
    }
}
perth {
    animation {
        styles {
            success { color "#00ff00"; }
        }
    }
}
"##;
        let perth = PerthSettings::from_kdl_text(text).unwrap();
        let (mut s, errors) = NotifySettings::from_settings(&perth);
        assert!(errors.is_empty(), "{errors:?}");
        s.apply_theme(&perth);
        assert_eq!(s.animation.look(Style::Error).color, (200, 10, 10));
        assert_eq!(s.animation.look(Style::Warning).color, (200, 200, 10));
        assert_eq!(s.animation.look(Style::Info).color, (10, 10, 200));
        // Set in the perth block: kept.
        assert_eq!(s.animation.look(Style::Success).color, (0, 255, 0));

        // A built-in theme by name; an unknown one changes nothing.
        let builtin = PerthSettings::from_kdl_text("theme \"dracula\"\n").unwrap();
        let mut s = NotifySettings::default();
        s.apply_theme(&builtin);
        assert_ne!(s, NotifySettings::default());
        let unknown = PerthSettings::from_kdl_text("theme \"no-such\"\n").unwrap();
        let mut s = NotifySettings::default();
        s.apply_theme(&unknown);
        assert_eq!(s, NotifySettings::default());
    }

    #[test]
    fn eight_bit_colours_map_to_xterms_palette() {
        assert_eq!(xterm_256(1), (205, 0, 0));
        assert_eq!(xterm_256(16), (0, 0, 0));
        assert_eq!(xterm_256(196), (255, 0, 0));
        assert_eq!(xterm_256(231), (255, 255, 255));
        assert_eq!(xterm_256(244), (128, 128, 128));
    }

    #[test]
    fn reads_every_setting_and_reports_bad_ones() {
        let text = r##"
perth {
    notifications {
        history 5
        brief_ms 100
        bell false
        osc true
        command_exit false
    }
    animation {
        enabled true
        fps 30
        candycane false
        ack_after_seconds 3
        styles {
            error {
                color "#ff0000"
                animation "blink"
            }
            info {
                color "nope"
            }
        }
    }
}
"##;
        let (s, errors) =
            NotifySettings::from_settings(&PerthSettings::from_kdl_text(text).unwrap());
        assert_eq!(s.history, 5);
        assert!(!s.bell && s.osc && !s.command_exit);
        assert_eq!(s.animation.fps, 30);
        assert!(!s.animation.candycane);
        assert_eq!(s.animation.ack_after, Duration::from_secs(3));
        assert_eq!(s.animation.look(Style::Error).color, (255, 0, 0));
        assert_eq!(s.animation.look(Style::Error).animation, Animation::Blink);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("info.color"), "{errors:?}");
        let (_, errors) = NotifySettings::from_settings(
            &PerthSettings::from_kdl_text("perth {\n animation {\n fps 0\n speed 3\n }\n}\n")
                .unwrap(),
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
    }
}
