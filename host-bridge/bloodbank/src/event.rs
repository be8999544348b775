//! The CloudEvents 1.0 structured-mode JSON envelope of every Bloodbank event.

use chrono::{DateTime, SecondsFormat, SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};

/// The CloudEvents version every event declares.
pub const SPEC_VERSION: &str = "1.0";
/// The content type of `data`.
pub const DATA_CONTENT_TYPE: &str = "application/json";

/// One Bloodbank event in CloudEvents 1.0 structured JSON.
///
/// `type` is also the AMQP routing key (`workspace.worktree.created`); `source` names the
/// emitter (`perth://HOST/iMi`); `subject` names what the event is about (a worktree, a pane).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Always [`SPEC_VERSION`].
    pub specversion: String,
    /// A unique id (UUID v7, so ids sort by creation time).
    pub id: String,
    /// The emitter, a URI reference.
    pub source: String,
    /// The event type, which is also the routing key.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened, RFC 3339 in UTC with milliseconds.
    #[serde(with = "rfc3339_millis")]
    pub time: DateTime<Utc>,
    /// What the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Always [`DATA_CONTENT_TYPE`].
    pub datacontenttype: String,
    /// The payload.
    pub data: serde_json::Value,
}

impl Event {
    /// Returns an event of `event_type` from `source` with a fresh id and the current time.
    pub fn new(
        source: impl Into<String>,
        event_type: impl Into<String>,
        data: serde_json::Value,
    ) -> Self {
        Self {
            specversion: SPEC_VERSION.to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            source: source.into(),
            event_type: event_type.into(),
            // Milliseconds are what the JSON carries; truncating keeps an event equal to its JSON.
            time: Utc::now().trunc_subsecs(3),
            subject: None,
            datacontenttype: DATA_CONTENT_TYPE.to_owned(),
            data,
        }
    }

    /// Returns the event with `subject` set.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Returns the event serialized as CloudEvents structured JSON.
    pub fn to_json(&self) -> String {
        // Serializing strings, a timestamp and a `serde_json::Value` cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Returns the outbox row that carries this event.
    pub fn to_outbox(&self) -> store::NewOutboxEvent {
        store::NewOutboxEvent {
            event_id: self.id.clone(),
            source: self.source.clone(),
            event_type: self.event_type.clone(),
            subject: self.subject.clone(),
            payload: self.to_json(),
            created_at: self.time,
        }
    }
}

/// Appends `event` to the outbox on `conn`: pass a [`store::Transaction`]'s `conn()` so the
/// event is stored exactly when the change it describes is.
pub async fn outbox_append(conn: store::Conn<'_>, event: &Event) -> Result<i64, store::Error> {
    store::outbox::append(conn, &event.to_outbox()).await
}

mod rfc3339_millis {
    use super::*;

    pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned() -> Event {
        Event {
            id: "0190f7a4-5b6c-7d8e-9f00-112233445566".to_owned(),
            time: DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678Z")
                .unwrap()
                .with_timezone(&Utc),
            ..Event::new(
                "perth://host/iMi",
                "workspace.worktree.created",
                serde_json::json!({"name": "feat-x", "branch": "feat/x"}),
            )
            .with_subject("feat-x")
        }
    }

    #[test]
    fn serializes_as_cloudevents_structured_json() {
        assert_eq!(
            pinned().to_json(),
            r#"{"specversion":"1.0","id":"0190f7a4-5b6c-7d8e-9f00-112233445566","source":"perth://host/iMi","type":"workspace.worktree.created","time":"2026-01-02T03:04:05.678Z","subject":"feat-x","datacontenttype":"application/json","data":{"branch":"feat/x","name":"feat-x"}}"#
        );
    }

    #[test]
    fn round_trips_and_omits_a_missing_subject() {
        let event = pinned();
        assert_eq!(
            serde_json::from_str::<Event>(&event.to_json()).unwrap(),
            event
        );
        let mut bare = pinned();
        bare.subject = None;
        assert!(!bare.to_json().contains("subject"));
        assert_eq!(
            serde_json::from_str::<Event>(&bare.to_json()).unwrap(),
            bare
        );
    }

    #[test]
    fn fresh_events_have_v7_ids_and_the_current_time() {
        let a = Event::new("perth://h/x", "workspace.x.y", serde_json::Value::Null);
        let b = Event::new("perth://h/x", "workspace.x.y", serde_json::Value::Null);
        let id = uuid::Uuid::parse_str(&a.id).unwrap();
        assert_eq!(id.get_version_num(), 7);
        assert_ne!(a.id, b.id);
        assert!((Utc::now() - a.time).num_seconds().abs() < 5);
    }

    #[test]
    fn the_outbox_row_carries_the_routing_fields() {
        let event = pinned();
        let row = event.to_outbox();
        assert_eq!(row.event_id, event.id);
        assert_eq!(row.event_type, "workspace.worktree.created");
        assert_eq!(row.source, "perth://host/iMi");
        assert_eq!(row.subject.as_deref(), Some("feat-x"));
        assert_eq!(row.payload, event.to_json());
    }
}
