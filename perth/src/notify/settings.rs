//! The `notifications` and `animation` sections of the `perth { }` block.

use std::time::Duration;

use super::anim::{parse_hex, AnimSettings, Look};
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
