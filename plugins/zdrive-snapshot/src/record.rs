//! A stored snapshot as the pane shows it, read leniently from the JSON host-bridge relays, and
//! the times it is labelled with.

use serde::Deserialize;

/// One snapshot record (zdrive's `SnapshotRecord`); fields it lacks read as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    /// When it was made, RFC 3339 in UTC.
    pub timestamp: String,
    /// `anthropic`, `openai` or `ollama`.
    pub provider: String,
    /// The model that wrote it.
    pub model: String,
    /// The summary, in markdown.
    pub summary: String,
    /// Bytes of context sent.
    pub context_bytes: u64,
    /// How long the provider took.
    pub duration_ms: u64,
}

impl Snapshot {
    /// Reads a record; `None` when it is not an object.
    pub fn from_json(value: &serde_json::Value) -> Option<Snapshot> {
        Snapshot::deserialize(value).ok()
    }

    /// Returns when it was made, in seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> Option<i64> {
        parse_rfc3339(&self.timestamp)
    }

    /// Returns the time as `2026-11-24 10:02 UTC` (or the text as stored when unreadable).
    pub fn when(&self) -> String {
        match self.unix_seconds() {
            Some(t) => format_utc(t),
            None => self.timestamp.clone(),
        }
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` into seconds since the Unix epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    let bytes = text.as_bytes();
    if separators.iter().any(|(at, c)| bytes.get(*at) != Some(c))
        || !matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours: i64 = rest.get(1..3)?.parse().ok()?;
            let minutes: i64 = rest.get(4..6)?.parse().ok()?;
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Returns the days from 1970-01-01 to the given date (proleptic Gregorian calendar).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Returns the date of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats seconds since the epoch as `2026-11-24 10:02 UTC` (a plugin does not know the
/// user's time zone).
pub fn format_utc(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

/// Says how long ago `then` was, at `now` (both in seconds): `just now`, `5 min ago`,
/// `3 h ago`, `2 days ago`.
pub fn age(then: i64, now: i64) -> String {
    let seconds = now - then;
    match seconds {
        ..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        86_400..=172_799 => "1 day ago".into(),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_stored_by_zdrive_and_with_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-24T10:02:00.123456Z"),
            Some(1_795_514_520)
        );
        assert_eq!(
            parse_rfc3339("2026-11-24T12:02:00+02:00"),
            parse_rfc3339("2026-11-24T10:02:00Z")
        );
        assert_eq!(parse_rfc3339("2024-02-29T23:59:59Z"), Some(1_709_251_199));
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-24T10:02:00",
            "2026-11-24T10:02:00+2",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_are_shown_in_utc_with_an_age() {
        assert_eq!(format_utc(1_795_514_520), "2026-11-24 10:02 UTC");
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(age(0, 30), "just now");
        assert_eq!(age(0, 150), "2 min ago");
        assert_eq!(age(0, 7200), "2 h ago");
        assert_eq!(age(0, 90_000), "1 day ago");
        assert_eq!(age(0, 300_000), "3 days ago");
    }

    #[test]
    fn records_read_leniently() {
        let record = serde_json::json!({
            "timestamp": "2026-11-24T10:02:00.000000Z",
            "provider": "ollama",
            "model": "llama3.2",
            "summary": "## x",
            "context_hash": "abc",
            "context_bytes": 10,
            "duration_ms": 900,
            "something_new": true,
        });
        let snapshot = Snapshot::from_json(&record).unwrap();
        assert_eq!(snapshot.when(), "2026-11-24 10:02 UTC");
        assert_eq!(snapshot.duration_ms, 900);
        assert_eq!(
            Snapshot::from_json(&serde_json::json!({"summary": "s"}))
                .unwrap()
                .summary,
            "s"
        );
        assert!(Snapshot::from_json(&serde_json::json!("text")).is_none());
    }
}
