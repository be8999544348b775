//! The look of a notification at a moment: colour, stripes, blink phase.
//!
//! Every animation is quantised (a pulse has a fixed number of brightness steps, the stripes
//! move a whole cell at a time), so consecutive frames are often identical and the overlay
//! then emits nothing for them.

use std::time::Duration;

use super::bus::Style;

/// A colour as red, green, blue.
pub type Rgb = (u8, u8, u8);

/// How a style moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Animation {
    /// A steady colour.
    Steady,
    /// Brightness rises and falls.
    Pulse,
    /// The colour comes up from grey, then stays.
    FadeIn,
    /// The border is on half of each second.
    Blink,
}

impl std::str::FromStr for Animation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "steady" | "none" => Ok(Animation::Steady),
            "pulse" => Ok(Animation::Pulse),
            "fade-in" | "fade_in" | "fade" => Ok(Animation::FadeIn),
            "blink" => Ok(Animation::Blink),
            other => Err(format!(
                "unknown animation '{other}'; use steady, pulse, fade-in or blink"
            )),
        }
    }
}

/// Colour and animation of one style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub color: Rgb,
    pub animation: Animation,
}

/// The animation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AnimSettings {
    /// Whether anything moves; when off every style is steady and has no stripes.
    pub enabled: bool,
    /// The highest frame rate.
    pub fps: u32,
    /// Stripes on notifications nobody has seen for long yet.
    pub candycane: bool,
    /// How long a notification is unacknowledged once it is drawn.
    pub ack_after: Duration,
    /// Looks by style, in [`Style::ALL`] order.
    pub looks: [Look; 4],
}

impl Default for AnimSettings {
    fn default() -> Self {
        AnimSettings {
            enabled: true,
            fps: 60,
            candycane: true,
            ack_after: Duration::from_secs(10),
            looks: [
                Look {
                    color: (66, 165, 245),
                    animation: Animation::Steady,
                },
                Look {
                    color: (102, 187, 106),
                    animation: Animation::FadeIn,
                },
                Look {
                    color: (255, 202, 40),
                    animation: Animation::Blink,
                },
                Look {
                    color: (239, 83, 80),
                    animation: Animation::Pulse,
                },
            ],
        }
    }
}

impl AnimSettings {
    /// The look of a style.
    pub fn look(&self, style: Style) -> Look {
        self.looks[Style::ALL.iter().position(|s| *s == style).unwrap_or(0)]
    }
}

/// What a notified pane's border looks like in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    /// The border colour.
    pub color: Rgb,
    /// The label colour (the style's own colour, never dimmed).
    pub label: Rgb,
    /// Stripes: their colour and how far they have marched.
    pub stripes: Option<(Rgb, u32)>,
    /// Whether the border is drawn in this frame (blink's off phase leaves Zellij's border).
    pub border_on: bool,
}

/// The width of one stripe, in cells.
pub const STRIPE_WIDTH: usize = 3;
const PULSE_PERIOD: f64 = 1.6;
const PULSE_STEPS: f64 = 12.0;
const FADE_TIME: f64 = 0.8;
const STRIPE_SPEED: f64 = 10.0;

/// Returns the paint of a notification of `style`, `age` after it was first drawn, and
/// whether it changes over time (the engine stops ticking when nothing does).
pub fn paint(settings: &AnimSettings, style: Style, age: Duration) -> (Paint, bool) {
    let look = settings.look(style);
    let t = age.as_secs_f64();
    let mut paint = Paint {
        color: look.color,
        label: look.color,
        stripes: None,
        border_on: true,
    };
    if !settings.enabled {
        return (paint, false);
    }
    let mut moving = false;
    match look.animation {
        Animation::Steady => {}
        Animation::Pulse => {
            let level = 0.5 + 0.5 * (std::f64::consts::TAU * t / PULSE_PERIOD).cos();
            let level = (level * PULSE_STEPS).round() / PULSE_STEPS;
            paint.color = scale(look.color, 0.45 + 0.55 * level);
            moving = true;
        }
        Animation::FadeIn => {
            if t < FADE_TIME {
                let k = ((t / FADE_TIME) * PULSE_STEPS).floor() / PULSE_STEPS;
                paint.color = mix((110, 110, 110), look.color, k);
                moving = true;
            }
        }
        Animation::Blink => {
            paint.border_on = (t % 1.0) < 0.5;
            moving = true;
        }
    }
    if settings.candycane && age < settings.ack_after {
        let phase = (t * STRIPE_SPEED) as u32;
        paint.stripes = Some((mix(paint.color, (255, 255, 255), 0.6), phase));
        moving = true;
    }
    (paint, moving)
}

impl Paint {
    /// The border colour of the cell at (row, col).
    pub fn color_at(&self, row: usize, col: usize) -> Rgb {
        match self.stripes {
            Some((stripe, phase)) => {
                let diagonal = (row + col) as i64 - i64::from(phase);
                if diagonal.rem_euclid(2 * STRIPE_WIDTH as i64) >= STRIPE_WIDTH as i64 {
                    stripe
                } else {
                    self.color
                }
            }
            None => self.color,
        }
    }
}

fn scale(c: Rgb, k: f64) -> Rgb {
    let f = |v: u8| (f64::from(v) * k).round().clamp(0.0, 255.0) as u8;
    (f(c.0), f(c.1), f(c.2))
}

fn mix(a: Rgb, b: Rgb, k: f64) -> Rgb {
    let f = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * k).round() as u8;
    (f(a.0, b.0), f(a.1, b.1), f(a.2, b.2))
}

/// Reads `#rrggbb` or `#rgb`.
pub fn parse_hex(text: &str) -> Result<Rgb, String> {
    let hex = text.trim().trim_start_matches('#');
    let bad = || format!("'{text}' is not a colour; use #rrggbb");
    let v = |s: &str| u8::from_str_radix(s, 16).map_err(|_| bad());
    match hex.len() {
        6 => Ok((v(&hex[0..2])?, v(&hex[2..4])?, v(&hex[4..6])?)),
        3 => {
            let d = |i: usize| v(&hex[i..i + 1]).map(|x| x * 17);
            Ok((d(0)?, d(1)?, d(2)?))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulse_moves_and_is_quantised() {
        let s = AnimSettings {
            candycane: false,
            ..Default::default()
        };
        let (a, moving) = paint(&s, Style::Error, Duration::ZERO);
        assert!(moving);
        assert_eq!(a.color, (239, 83, 80));
        let (b, _) = paint(&s, Style::Error, Duration::from_millis(800));
        assert_ne!(a.color, b.color);
        let (c, _) = paint(&s, Style::Error, Duration::from_millis(801));
        assert_eq!(b.color, c.color, "one step lasts longer than a millisecond");
    }

    #[test]
    fn fade_in_settles_and_info_is_steady() {
        let s = AnimSettings {
            candycane: false,
            ..Default::default()
        };
        let (_, moving) = paint(&s, Style::Success, Duration::from_secs(2));
        assert!(!moving);
        let (p, moving) = paint(&s, Style::Info, Duration::ZERO);
        assert!(!moving);
        assert_eq!(p.color, s.look(Style::Info).color);
        let (off, _) = paint(&s, Style::Warning, Duration::from_millis(700));
        assert!(!off.border_on);
    }

    #[test]
    fn candycane_stripes_march_until_acknowledged() {
        let s = AnimSettings::default();
        let (p, moving) = paint(&s, Style::Info, Duration::ZERO);
        assert!(moving);
        let row: Vec<Rgb> = (0..12).map(|c| p.color_at(0, c)).collect();
        assert!(row.contains(&p.color) && row.iter().any(|c| *c != p.color));
        let (later, _) = paint(&s, Style::Info, Duration::from_millis(100));
        let moved: Vec<Rgb> = (0..12).map(|c| later.color_at(0, c)).collect();
        assert_ne!(row, moved);
        let (acked, moving) = paint(&s, Style::Info, Duration::from_secs(11));
        assert!(!moving && acked.stripes.is_none());
        let off = AnimSettings {
            enabled: false,
            ..Default::default()
        };
        assert!(!paint(&off, Style::Error, Duration::ZERO).1);
    }

    #[test]
    fn hex_colours() {
        assert_eq!(parse_hex("#ff0080").unwrap(), (255, 0, 128));
        assert_eq!(parse_hex("#f08").unwrap(), (255, 0, 136));
        assert!(parse_hex("red").is_err());
    }
}
