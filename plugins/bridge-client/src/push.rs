//! Events host-bridge pushes to plugins as `zellij pipe` messages.

pub use bridge_protocol::{PushedEvent, PUSH_PIPE_NAME};

/// Decodes a pipe message if it is a host-bridge push; `None` for other pipes.
pub fn decode_push(
    pipe_name: &str,
    payload: Option<&str>,
) -> Option<Result<PushedEvent, serde_json::Error>> {
    (pipe_name == PUSH_PIPE_NAME).then(|| serde_json::from_str(payload.unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_only_bridge_pipes() {
        assert!(decode_push("other", Some("{}")).is_none());
        let ev = decode_push(PUSH_PIPE_NAME, Some(r#"{"topic":"t","data":{"a":1}}"#))
            .unwrap()
            .unwrap();
        assert_eq!(ev.topic, "t");
        assert!(decode_push(PUSH_PIPE_NAME, Some("nope")).unwrap().is_err());
        assert!(decode_push(PUSH_PIPE_NAME, None).unwrap().is_err());
    }
}
