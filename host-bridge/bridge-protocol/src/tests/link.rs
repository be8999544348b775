//! The wire format: exact JSON both ways and rejection of malformed payloads.

use crate::link::{
    decode_line, decode_op, encode_line, encode_op, Ev, Line, Op, PaneState, Snapshot, TabState,
};

#[test]
fn decodes_the_documented_requests() {
    assert_eq!(
        decode_op(r#"{"op":"hello","version":1}"#).unwrap(),
        Op::Hello {
            version: 1,
            session: None
        }
    );
    assert_eq!(
        decode_op(r#"{"op":"ping","seq":42}"#).unwrap(),
        Op::Ping { seq: 42 }
    );
    assert_eq!(decode_op(r#"{"op":"get_state"}"#).unwrap(), Op::GetState);
}

#[test]
fn decoding_tolerates_whitespace_and_unknown_fields() {
    // `zellij pipe` fed from stdin sends each line with its newline.
    assert_eq!(
        decode_op("  {\"op\":\"ping\",\"seq\":1,\"future\":[1,2]}\n").unwrap(),
        Op::Ping { seq: 1 }
    );
}

#[test]
fn requests_round_trip() {
    for op in [
        Op::Hello {
            version: 1,
            session: None,
        },
        Op::Ping { seq: u64::MAX },
        Op::GetState,
    ] {
        assert_eq!(decode_op(&encode_op(&op)).unwrap(), op);
    }
    insta::assert_snapshot!(encode_op(&Op::GetState), @r#"{"op":"get_state"}"#);
}

#[test]
fn rejects_malformed_requests() {
    for payload in [
        "",
        "not json",
        "[]",
        "{}",
        r#"{"op":"launch_missiles"}"#,
        r#"{"op":"ping"}"#,
        r#"{"op":"ping","seq":-1}"#,
        r#"{"op":"ping","seq":"1"}"#,
        r#"{"op":"hello","version":1.5}"#,
        r#"{"op":"hello","version":1}{"op":"ping","seq":1}"#,
        r#"{"OP":"hello","version":1}"#,
        "\u{0}",
    ] {
        let error = decode_op(payload).expect_err(payload);
        assert!(
            error
                .to_string()
                .starts_with("malformed perth::link message: "),
            "{payload:?}: {error}"
        );
    }
}

#[test]
fn encodes_lines_one_object_per_line() {
    let hello = Line {
        ev: Ev::Hello {
            version: 1,
            permissions_granted: true,
        },
        plugin_id: Some(7),
        client_id: Some(1),
    };
    insta::assert_snapshot!(
        encode_line(&hello),
        @r#"{"ev":"hello","version":1,"permissions_granted":true,"plugin_id":7,"client_id":1}"#
    );
    assert!(encode_line(&hello).ends_with("}\n"));
    assert_eq!(encode_line(&hello).matches('\n').count(), 1);

    let pong = Line {
        ev: Ev::Pong { seq: 3 },
        plugin_id: None,
        client_id: None,
    };
    insta::assert_snapshot!(encode_line(&pong), @r#"{"ev":"pong","seq":3}"#);

    let error = Line {
        ev: Ev::Error {
            message: "line one\nline \"two\"".to_owned(),
        },
        plugin_id: None,
        client_id: Some(2),
    };
    // A newline inside a message is escaped, so a line is always one event.
    insta::assert_snapshot!(
        encode_line(&error),
        @r#"{"ev":"error","message":"line one\nline \"two\"","client_id":2}"#
    );
    assert_eq!(encode_line(&error).matches('\n').count(), 1);
}

fn full_state() -> Snapshot {
    Snapshot {
        tabs: vec![TabState {
            position: 0,
            name: "main".to_owned(),
            active: true,
            tab_id: 4,
            is_fullscreen_active: false,
            are_floating_panes_visible: true,
        }],
        panes: vec![PaneState {
            id: 2,
            is_plugin: false,
            title: "vim".to_owned(),
            tab_position: 0,
            is_focused: true,
            is_floating: false,
            is_suspended: false,
            exited: true,
            x: 0,
            y: 1,
            cols: 80,
            rows: 23,
            content_x: 1,
            content_y: 2,
            content_cols: 78,
            content_rows: 21,
            is_fullscreen: false,
            is_selectable: true,
            exit_status: Some(1),
            terminal_command: Some("cargo test".to_owned()),
            plugin_url: None,
        }],
        mode: "locked".to_owned(),
    }
}

#[test]
fn encodes_state_with_every_documented_field() {
    let line = Line {
        ev: Ev::State(full_state()),
        plugin_id: Some(7),
        client_id: Some(1),
    };
    insta::assert_snapshot!(encode_line(&line), @r#"{"ev":"state","tabs":[{"position":0,"name":"main","active":true,"tab_id":4,"is_fullscreen_active":false,"are_floating_panes_visible":true}],"panes":[{"id":2,"is_plugin":false,"title":"vim","tab_position":0,"is_focused":true,"is_floating":false,"is_suspended":false,"exited":true,"x":0,"y":1,"cols":80,"rows":23,"content_x":1,"content_y":2,"content_cols":78,"content_rows":21,"is_fullscreen":false,"is_selectable":true,"exit_status":1,"terminal_command":"cargo test"}],"mode":"locked","plugin_id":7,"client_id":1}"#);
}

#[test]
fn lines_round_trip() {
    for line in [
        Line {
            ev: Ev::State(full_state()),
            plugin_id: Some(7),
            client_id: Some(1),
        },
        Line {
            ev: Ev::State(Snapshot::default()),
            plugin_id: None,
            client_id: None,
        },
        Line {
            ev: Ev::Hello {
                version: 1,
                permissions_granted: false,
            },
            plugin_id: Some(u32::MAX),
            client_id: Some(u16::MAX),
        },
        Line {
            ev: Ev::Pong { seq: u64::MAX },
            plugin_id: None,
            client_id: Some(3),
        },
        Line {
            ev: Ev::Error {
                message: "é\u{1F980}\t".to_owned(),
            },
            plugin_id: Some(1),
            client_id: None,
        },
    ] {
        assert_eq!(decode_line(&encode_line(&line)).unwrap(), line);
    }
}

#[test]
fn decodes_the_minimal_documented_state() {
    // Only the fields the first draft of the protocol named; the later ones default.
    let line = decode_line(
        r#"{"ev":"state","tabs":[{"position":0,"name":"t","active":true}],"panes":[{"id":1,"is_plugin":false,"title":"sh","tab_position":0,"is_focused":true,"is_floating":false,"is_suspended":false,"exited":false,"x":0,"y":0,"cols":10,"rows":5}],"mode":"normal"}"#,
    )
    .unwrap();
    let Ev::State(state) = line.ev else {
        panic!("not a state: {line:?}");
    };
    assert_eq!(state.tabs[0].tab_id, 0);
    assert_eq!(state.panes[0].cols, 10);
    assert_eq!(state.panes[0].exit_status, None);
    assert_eq!(state.mode, "normal");
}
