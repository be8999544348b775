//! The request state machine: ids, deadlines, retries on refused connections, decoding.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bridge_protocol::{
    ErrorBody, Request, RequestEnvelope, RequestId, Response, ResponseEnvelope, RPC_PATH,
};

use crate::config::BridgeConfig;

/// The context key that carries our request id through `web_request`.
const CONTEXT_ID: &str = "bridge_request_id";
/// The context key that tells our results apart from other web requests of the plugin.
const CONTEXT_MARK: &str = "bridge_client";

/// Something the host must do for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// `web_request(url, POST, headers, body, context)`.
    Send {
        url: String,
        headers: BTreeMap<String, String>,
        body: Vec<u8>,
        context: BTreeMap<String, String>,
    },
    /// Call [`BridgeClient::on_timer`] after this long (`set_timeout`).
    WakeAfter(Duration),
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    #[error("host-bridge is not reachable ({0}); perth restarts it, try again shortly")]
    Unreachable(String),
    #[error("host-bridge did not answer within {0:?}")]
    Timeout(Duration),
    #[error("host-bridge refused the request: {0}")]
    Refused(ErrorBody),
    #[error("host-bridge answered HTTP {status} with an unreadable body: {detail}")]
    Decode { status: u16, detail: String },
}

impl BridgeError {
    /// Returns what a user should read: for a refusal, the bridge's message and its hint
    /// (`zdrive may not ... (grant consent with: ...)`), without the kind.
    pub fn user_message(&self) -> String {
        match self {
            BridgeError::Refused(body) => match &body.hint {
                Some(hint) => format!("{} ({hint})", body.message),
                None => body.message.clone(),
            },
            other => other.to_string(),
        }
    }
}

/// A finished request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub id: RequestId,
    pub result: Result<Response, BridgeError>,
}

#[derive(Debug)]
struct InFlight {
    body: Vec<u8>,
    deadline: Instant,
    timeout: Duration,
    retry_at: Option<Instant>,
    attempts: u32,
    last_error: Option<String>,
}

/// The client. One per plugin.
#[derive(Debug)]
pub struct BridgeClient {
    config: BridgeConfig,
    next_id: RequestId,
    in_flight: BTreeMap<RequestId, InFlight>,
    /// When the one timer this client asked for fires, if one is pending: a request's deadline
    /// or retry later than it needs no timer of its own (each timer is a call into the plugin,
    /// and under load every request asking for one doubled the plugin's work per request).
    wake_at: Option<Instant>,
}

/// A timer that fires this close before its time counts as fired: the host's clock and the
/// plugin's may differ by a little, and a wake taken as still pending would never be re-armed.
const WAKE_SLACK: Duration = Duration::from_millis(20);

impl BridgeClient {
    /// Returns a client for the bridge described by `config`.
    pub fn new(config: BridgeConfig) -> Self {
        BridgeClient {
            config,
            next_id: 1,
            in_flight: BTreeMap::new(),
            wake_at: None,
        }
    }

    /// Returns how many requests are waiting for an answer.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Starts a request; returns its id and what the host must do.
    pub fn request(&mut self, body: Request, now: Instant) -> (RequestId, Vec<Effect>) {
        let timeout = self.config.timeout;
        self.request_with_timeout(body, timeout, now)
    }

    /// Starts a request that may take `timeout` (retries included) instead of the configured
    /// time: one the bridge needs long for, such as a snapshot that waits on an LLM.
    pub fn request_with_timeout(
        &mut self,
        body: Request,
        timeout: Duration,
        now: Instant,
    ) -> (RequestId, Vec<Effect>) {
        let id = self.next_id;
        self.next_id += 1;
        let envelope = RequestEnvelope { id, body };
        // Serializing protocol types cannot fail: plain structs and enums with string keys.
        let bytes = serde_json::to_vec(&envelope).unwrap_or_default();
        self.in_flight.insert(
            id,
            InFlight {
                body: bytes,
                deadline: now + timeout,
                timeout,
                retry_at: None,
                attempts: 1,
                last_error: None,
            },
        );
        let mut effects = vec![self.send_effect(id)];
        effects.extend(self.wake_by(now + timeout, now));
        (id, effects)
    }

    /// Asks for a timer at `at`, unless one is pending that fires no later.
    fn wake_by(&mut self, at: Instant, now: Instant) -> Option<Effect> {
        if self.wake_at.is_some_and(|pending| pending <= at) {
            return None;
        }
        self.wake_at = Some(at);
        Some(Effect::WakeAfter(at.saturating_duration_since(now)))
    }

    fn send_effect(&self, id: RequestId) -> Effect {
        let mut headers = BTreeMap::new();
        headers.insert(
            "Authorization".to_string(),
            format!("Bearer {}", self.config.token),
        );
        headers.insert("Content-Type".to_string(), "application/json".to_string());
        let mut context = BTreeMap::new();
        context.insert(CONTEXT_ID.to_string(), id.to_string());
        context.insert(CONTEXT_MARK.to_string(), "1".to_string());
        Effect::Send {
            url: format!("{}{}", self.config.url, RPC_PATH),
            headers,
            body: self
                .in_flight
                .get(&id)
                .map(|f| f.body.clone())
                .unwrap_or_default(),
            context,
        }
    }

    /// Returns whether a `WebRequestResult` belongs to this client.
    pub fn owns(context: &BTreeMap<String, String>) -> bool {
        context.contains_key(CONTEXT_MARK)
    }

    /// Handles a `WebRequestResult`. Returns the completion (if the request is finished) and
    /// effects (a retry).
    pub fn on_web_result(
        &mut self,
        status: u16,
        headers: &BTreeMap<String, String>,
        body: &[u8],
        context: &BTreeMap<String, String>,
        now: Instant,
    ) -> (Option<Completion>, Vec<Effect>) {
        let Some(id) = context.get(CONTEXT_ID).and_then(|s| s.parse().ok()) else {
            return (None, vec![]);
        };
        let Some(flight) = self.in_flight.get_mut(&id) else {
            // Already timed out; a late answer is dropped.
            return (None, vec![]);
        };
        // Zellij reports a failed connection as status 400 with no headers and the error
        // text as body; the bridge's own answers always carry headers.
        if status == 400 && headers.is_empty() {
            let text = String::from_utf8_lossy(body).into_owned();
            let retry_at = now + self.config.retry_delay;
            if retry_at < flight.deadline {
                flight.retry_at = Some(retry_at);
                flight.attempts += 1;
                flight.last_error = Some(text);
                return (None, self.wake_by(retry_at, now).into_iter().collect());
            }
            self.in_flight.remove(&id);
            return (
                Some(Completion {
                    id,
                    result: Err(BridgeError::Unreachable(text)),
                }),
                vec![],
            );
        }
        self.in_flight.remove(&id);
        let result = match serde_json::from_slice::<ResponseEnvelope>(body) {
            Ok(envelope) => envelope.into_result().map_err(BridgeError::Refused),
            Err(e) => Err(BridgeError::Decode {
                status,
                detail: e.to_string(),
            }),
        };
        (Some(Completion { id, result }), vec![])
    }

    /// Handles a timer tick: sends due retries and fails requests past their deadline.
    pub fn on_timer(&mut self, now: Instant) -> (Vec<Completion>, Vec<Effect>) {
        let mut done = Vec::new();
        let mut effects = Vec::new();
        let expired: Vec<RequestId> = self
            .in_flight
            .iter()
            .filter(|(_, f)| now >= f.deadline)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(flight) = self.in_flight.remove(&id) {
                let error = match flight.last_error {
                    Some(e) => BridgeError::Unreachable(e),
                    None => BridgeError::Timeout(flight.timeout),
                };
                done.push(Completion {
                    id,
                    result: Err(error),
                });
            }
        }
        let due: Vec<RequestId> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.retry_at.is_some_and(|t| now >= t))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(flight) = self.in_flight.get_mut(&id) {
                flight.retry_at = None;
            }
            effects.push(self.send_effect(id));
        }
        if self.wake_at.is_some_and(|at| now + WAKE_SLACK >= at) {
            self.wake_at = None;
        }
        let next = self
            .in_flight
            .values()
            .map(|f| f.retry_at.unwrap_or(f.deadline).min(f.deadline))
            .min();
        if let Some(at) = next {
            effects.extend(self.wake_by(at, now));
        }
        (done, effects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge_protocol::ErrorKind;

    fn client() -> BridgeClient {
        BridgeClient::new(BridgeConfig {
            url: "http://127.0.0.1:4000".into(),
            token: "tok".into(),
            timeout: Duration::from_secs(2),
            retry_delay: Duration::from_millis(250),
        })
    }

    fn sent(
        effects: &[Effect],
    ) -> (
        String,
        BTreeMap<String, String>,
        Vec<u8>,
        BTreeMap<String, String>,
    ) {
        effects
            .iter()
            .find_map(|e| match e {
                Effect::Send {
                    url,
                    headers,
                    body,
                    context,
                } => Some((url.clone(), headers.clone(), body.clone(), context.clone())),
                _ => None,
            })
            .expect("a send effect")
    }

    fn json_headers() -> BTreeMap<String, String> {
        BTreeMap::from([("content-type".to_string(), "application/json".to_string())])
    }

    #[test]
    fn request_carries_token_id_and_envelope() {
        let mut c = client();
        let now = Instant::now();
        let (id, effects) = c.request(Request::Ping, now);
        let (url, headers, body, context) = sent(&effects);
        assert_eq!(url, "http://127.0.0.1:4000/v1/rpc");
        assert_eq!(headers["Authorization"], "Bearer tok");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            format!(r#"{{"id":{id},"body":{{"type":"ping"}}}}"#)
        );
        assert!(BridgeClient::owns(&context));
        assert!(effects.contains(&Effect::WakeAfter(Duration::from_secs(2))));
    }

    #[test]
    fn answer_completes_with_decoded_response() {
        let mut c = client();
        let now = Instant::now();
        let (id, effects) = c.request(Request::Ping, now);
        let (_, _, _, context) = sent(&effects);
        let body = serde_json::to_vec(&ResponseEnvelope::ok(id, Response::Pong { server_time: 5 }))
            .unwrap();
        let (done, more) = c.on_web_result(200, &json_headers(), &body, &context, now);
        assert!(more.is_empty());
        assert_eq!(
            done,
            Some(Completion {
                id,
                result: Ok(Response::Pong { server_time: 5 })
            })
        );
        assert_eq!(c.in_flight(), 0);
    }

    #[test]
    fn errors_travel_as_data() {
        let mut c = client();
        let now = Instant::now();
        let (id, effects) = c.request(Request::Ping, now);
        let (_, _, _, context) = sent(&effects);
        let err = ErrorBody::new(ErrorKind::Unauthorized, "bad token");
        let body = serde_json::to_vec(&ResponseEnvelope::error(Some(id), err.clone())).unwrap();
        let (done, _) = c.on_web_result(401, &json_headers(), &body, &context, now);
        assert_eq!(done.unwrap().result, Err(BridgeError::Refused(err)));
    }

    #[test]
    fn refused_connection_is_retried_until_the_bridge_is_back() {
        let mut c = client();
        let t0 = Instant::now();
        let (id, effects) = c.request(Request::Ping, t0);
        let (_, _, _, context) = sent(&effects);
        let (done, more) =
            c.on_web_result(400, &BTreeMap::new(), b"Connection refused", &context, t0);
        assert!(done.is_none());
        assert_eq!(more, vec![Effect::WakeAfter(Duration::from_millis(250))]);
        // Not yet due: nothing happens.
        let (done, more) = c.on_timer(t0 + Duration::from_millis(100));
        assert!(done.is_empty() && more.is_empty());
        // Due: the same request goes out again.
        let (done, more) = c.on_timer(t0 + Duration::from_millis(300));
        assert!(done.is_empty());
        let (_, _, body, _) = sent(&more);
        assert!(String::from_utf8(body)
            .unwrap()
            .contains(&format!("\"id\":{id}")));
        let ok = serde_json::to_vec(&ResponseEnvelope::ok(id, Response::Pong { server_time: 1 }))
            .unwrap();
        let (done, _) = c.on_web_result(200, &json_headers(), &ok, &context, t0);
        assert!(done.unwrap().result.is_ok());
    }

    #[test]
    fn deadline_fails_the_request_and_late_answers_are_dropped() {
        let mut c = client();
        let t0 = Instant::now();
        let (id, effects) = c.request(Request::Ping, t0);
        let (_, _, _, context) = sent(&effects);
        let (done, _) = c.on_timer(t0 + Duration::from_secs(3));
        assert_eq!(
            done,
            vec![Completion {
                id,
                result: Err(BridgeError::Timeout(Duration::from_secs(2)))
            }]
        );
        let ok = serde_json::to_vec(&ResponseEnvelope::ok(id, Response::Pong { server_time: 1 }))
            .unwrap();
        let (late, _) = c.on_web_result(200, &json_headers(), &ok, &context, t0);
        assert!(late.is_none());
    }

    #[test]
    fn a_long_request_has_its_own_deadline() {
        let mut c = client();
        let t0 = Instant::now();
        let (id, effects) = c.request_with_timeout(Request::Ping, Duration::from_secs(200), t0);
        assert!(effects.contains(&Effect::WakeAfter(Duration::from_secs(200))));
        let (short, _) = c.request(Request::Ping, t0);
        let (done, _) = c.on_timer(t0 + Duration::from_secs(3));
        assert_eq!(done.iter().map(|d| d.id).collect::<Vec<_>>(), [short]);
        let (done, _) = c.on_timer(t0 + Duration::from_secs(201));
        assert_eq!(
            done,
            vec![Completion {
                id,
                result: Err(BridgeError::Timeout(Duration::from_secs(200)))
            }]
        );
    }

    #[test]
    fn requests_share_one_pending_timer_and_the_next_deadline_is_rearmed() {
        let mut c = client();
        let t0 = Instant::now();
        let (first, effects) = c.request(Request::Ping, t0);
        assert!(effects.contains(&Effect::WakeAfter(Duration::from_secs(2))));
        // A request whose deadline comes after the pending timer asks for no timer of its own.
        let t1 = t0 + Duration::from_millis(500);
        let (second, effects) = c.request(Request::Ping, t1);
        assert!(!effects.iter().any(|e| matches!(e, Effect::WakeAfter(_))));
        // The timer fires at the first deadline: the first request fails, and the client asks
        // to be woken at the second's.
        let (done, effects) = c.on_timer(t0 + Duration::from_secs(2));
        assert_eq!(done.iter().map(|d| d.id).collect::<Vec<_>>(), [first]);
        assert_eq!(effects, vec![Effect::WakeAfter(Duration::from_millis(500))]);
        let (done, effects) = c.on_timer(t1 + Duration::from_secs(2));
        assert_eq!(done.iter().map(|d| d.id).collect::<Vec<_>>(), [second]);
        assert!(effects.is_empty());
        // A timer that fires a hair early by the plugin's clock still counts.
        let t2 = t1 + Duration::from_secs(3);
        let (third, _) = c.request(Request::Ping, t2);
        let (done, effects) = c.on_timer(t2 + Duration::from_secs(2) - Duration::from_millis(5));
        assert!(done.is_empty());
        assert_eq!(effects, vec![Effect::WakeAfter(Duration::from_millis(5))]);
        let (done, _) = c.on_timer(t2 + Duration::from_secs(2));
        assert_eq!(done.iter().map(|d| d.id).collect::<Vec<_>>(), [third]);
    }

    #[test]
    fn refusals_read_as_message_and_hint() {
        let refused = BridgeError::Refused(
            ErrorBody::new(ErrorKind::BadRequest, "no consent").with_hint("press c"),
        );
        assert_eq!(refused.user_message(), "no consent (press c)");
        let plain = BridgeError::Refused(ErrorBody::new(ErrorKind::Internal, "boom"));
        assert_eq!(plain.user_message(), "boom");
        assert_eq!(
            BridgeError::Timeout(Duration::from_secs(1)).user_message(),
            "host-bridge did not answer within 1s"
        );
    }

    #[test]
    fn unreachable_until_deadline_reports_the_transport_error() {
        let mut c = client();
        let t0 = Instant::now();
        let (id, effects) = c.request(Request::Ping, t0);
        let (_, _, _, context) = sent(&effects);
        c.on_web_result(400, &BTreeMap::new(), b"Connection refused", &context, t0);
        let (done, _) = c.on_timer(t0 + Duration::from_secs(3));
        assert_eq!(
            done,
            vec![Completion {
                id,
                result: Err(BridgeError::Unreachable("Connection refused".into()))
            }]
        );
    }

    #[test]
    fn garbage_answer_is_a_decode_error() {
        let mut c = client();
        let now = Instant::now();
        let (_, effects) = c.request(Request::Ping, now);
        let (_, _, _, context) = sent(&effects);
        let (done, _) = c.on_web_result(502, &json_headers(), b"<html>", &context, now);
        assert!(matches!(
            done.unwrap().result,
            Err(BridgeError::Decode { status: 502, .. })
        ));
    }

    #[test]
    fn foreign_results_are_ignored() {
        let mut c = client();
        let (done, more) = c.on_web_result(
            200,
            &json_headers(),
            b"{}",
            &BTreeMap::new(),
            Instant::now(),
        );
        assert!(done.is_none() && more.is_empty());
    }
}
