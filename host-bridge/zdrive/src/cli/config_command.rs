//! `zdrive config ...`: show, get and set the configuration's keys.

use anyhow::Result;
use serde_json::{json, Value};

use zdrive::config::Config;

use super::args::ConfigAction;
use super::{Output, Resolved};

/// Where snapshots would go, for `config show`: provider, model, endpoint, key source.
pub(super) fn llm_json(r: &Resolved) -> Value {
    let s = r.llm_settings();
    let key_source = match s.kind.key_env() {
        None => "not needed".to_owned(),
        Some(var) if r.env_api_keys.iter().any(|(k, _)| *k == var) => format!("from {var}"),
        Some(var) if s.api_key.is_some() => format!("from the file ({var} overrides it)"),
        Some(var) => format!("missing: set {var} or llm.api_key"),
    };
    let note = if s.is_local() {
        Some(format!(
            "{} at {} runs on this machine: pane context stays local (consent is still asked)",
            s.kind.as_str(),
            s.base_url
        ))
    } else if r.config.llm_consent {
        None
    } else {
        Some("no consent yet: nothing is sent until: zdrive config consent --grant".to_owned())
    };
    json!({
        "provider": s.kind.as_str(),
        "model": s.model,
        "endpoint": s.endpoint(),
        "local": s.is_local(),
        "key_source": key_source,
        "consent": r.config.llm_consent,
        "note": note,
    })
}

pub(super) fn config_command(r: Resolved, action: ConfigAction) -> Result<Output> {
    let path = r.config_path.clone();
    match action {
        ConfigAction::Show => {
            let (store, url) = r.active_store().unwrap_or(("redis", None));
            let location = match url {
                Some(u) => zdrive::config::mask_url(u),
                None => r.database_path.display().to_string(),
            };
            // What the URL asks for; `zdrive doctor`-style live checks connect, this does not.
            let transport = url.map(redis_conn::transport_of);
            let data = json!({
                "path": path.display().to_string(),
                "active_store": store,
                "store_location": location,
                "store_encrypted": transport.map(|t| t.encrypted),
                "store_verified": transport.map(|t| t.verified_key()),
                "outbox": r.database_path.display().to_string(),
                "config": r.config.masked(),
                "llm": llm_json(&r),
            });
            let connection = transport.map(|t| format!(", {t}")).unwrap_or_default();
            let mut text = format!(
                "# {}\nactive store: {store} ({location}{connection})\noutbox: {}\n",
                path.display(),
                r.database_path.display()
            );
            text.push_str(&format!(
                "snapshots go to: {} ({}), key {}\n",
                data["llm"]["endpoint"].as_str().unwrap_or_default(),
                data["llm"]["model"].as_str().unwrap_or_default(),
                data["llm"]["key_source"].as_str().unwrap_or_default(),
            ));
            if let Some(note) = data["llm"]["note"].as_str() {
                text.push_str(&format!("note: {note}\n"));
            }
            if let Some(obj) = data["config"].as_object() {
                for (k, v) in obj {
                    text.push_str(&format!(
                        "{k} = {}\n",
                        if v.is_null() {
                            "(unset)".to_owned()
                        } else {
                            v.to_string()
                        }
                    ));
                }
            }
            Ok(Output { data, text })
        }
        ConfigAction::Get { key } => {
            let value = r.config.get(&key)?;
            let text = match &value {
                Value::Null => "(unset)\n".to_owned(),
                Value::String(s) => format!("{s}\n"),
                other => format!("{other}\n"),
            };
            Ok(Output {
                data: json!({ "key": key, "value": value }),
                text,
            })
        }
        ConfigAction::Set { key, value } => {
            // The file alone, without environment overrides, is what gets written back.
            let mut config = Config::load(&path)?;
            config.set(&key, &value)?;
            config.save(&path)?;
            let shown = if key == "llm.api_key" && !value.is_empty() {
                "***".to_owned()
            } else if key.ends_with("_url") {
                zdrive::config::mask_url(&value)
            } else {
                value
            };
            Ok(Output {
                data: json!({ "key": key, "value": shown, "path": path.display().to_string() }),
                text: format!("{key} = {shown} (written to {})\n", path.display()),
            })
        }
        ConfigAction::Consent { grant, .. } => {
            let mut config = Config::load(&path)?;
            config.llm_consent = grant;
            config.save(&path)?;
            Ok(Output {
                data: json!({ "llm_consent": grant }),
                text: if grant {
                    "consent granted: redacted pane context may be sent to the configured LLM\n"
                        .into()
                } else {
                    "consent revoked: nothing will be sent to an LLM\n".into()
                },
            })
        }
    }
}
