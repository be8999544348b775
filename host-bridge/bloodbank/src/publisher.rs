//! The AMQP side: one connection and one confirm-mode channel to the `bloodbank.workspace` topic exchange.

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use store::OutboxRow;

/// The topic exchange every event goes to (DESIGN.md D6).
pub const EXCHANGE: &str = "bloodbank.workspace";
/// The AMQP content type of a structured-mode CloudEvent.
pub const CONTENT_TYPE: &str = "application/cloudevents+json";
/// AMQP delivery mode 2: the broker writes the message to disk on durable queues.
const PERSISTENT: u8 = 2;

/// Why publishing failed; the rows stay in the outbox and are retried.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The TLS handshake with the broker failed; the message says which way and what to set.
    #[error("TLS to the AMQP broker at {at} failed: {}; {}", problem.what(), tls_advice(problem))]
    Tls {
        /// The broker URL without its password.
        at: String,
        /// Which way TLS failed.
        problem: conn_tls::TlsProblem,
    },
    /// No connection to the broker could be made.
    #[error("cannot reach the AMQP broker at {at}: {reason}; start RabbitMQ or fix amqp_url (events wait in the outbox)")]
    Connect {
        /// The broker URL without its password.
        at: String,
        /// What went wrong.
        reason: String,
    },
    /// The broker or the connection failed while publishing.
    #[error("publishing to {exchange} failed: {source}")]
    Publish {
        /// The exchange.
        exchange: String,
        /// What lapin said.
        #[source]
        source: lapin::Error,
    },
    /// The broker refused a message.
    #[error("the broker refused event {event_id} (nack)")]
    Nacked {
        /// The refused event.
        event_id: String,
    },
    /// The broker did not confirm in time.
    #[error("the broker did not confirm event {event_id} within {timeout:?}")]
    ConfirmTimeout {
        /// The first unconfirmed event.
        event_id: String,
        /// How long we waited.
        timeout: Duration,
    },
}

/// A confirm-mode channel to the broker, with the exchange declared.
pub struct Publisher {
    connection: Connection,
    channel: Channel,
    exchange: String,
    confirm_timeout: Duration,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("exchange", &self.exchange)
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Returns `url` with any password replaced by `***`.
pub fn redact_amqp_url(url: &str) -> String {
    conn_tls::redact_url(url, "amqp_url")
}

/// Returns what to set for a TLS failure of a broker connection.
fn tls_advice(problem: &conn_tls::TlsProblem) -> &'static str {
    use conn_tls::TlsProblem;
    match problem {
        TlsProblem::UnknownCa => "add ?cacertfile=PATH to amqp_url (or set the AMQP CA file setting) with the CA that signed the broker's certificate",
        TlsProblem::WrongHost => "put a host name the broker's certificate names in amqp_url",
        TlsProblem::ServerWithoutTls => "point amqps:// at the broker's TLS listener (listeners.ssl, usually port 5671), or use amqp:// for a broker without TLS",
        TlsProblem::ClientCertificate => "the broker wants a client certificate it trusts (ssl_options.fail_if_no_peer_cert): add ?certfile=PATH&keyfile=PATH to amqp_url",
        TlsProblem::Other(_) => "check the broker's certificate and amqp_url's cacertfile, and for a broker that wants client certificates its certfile and keyfile",
    }
}

/// Returns `url` with `cacertfile=PATH` added (RabbitMQ's URI query parameter for the CA), for
/// a CA file given as a setting of its own; `url` unchanged when `ca_file` is `None` or the URL
/// names one already.
pub fn with_ca_file(url: &str, ca_file: Option<&std::path::Path>) -> String {
    let Some(ca_file) = ca_file else {
        return url.to_owned();
    };
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.query_pairs().any(|(k, _)| k == "cacertfile") => {
            parsed
                .query_pairs_mut()
                .append_pair("cacertfile", &ca_file.to_string_lossy());
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Returns how a connection to `url` is secured: `amqps://` is TLS verified against the CA and
/// the host name (`connect_amqp` always verifies both).
pub fn amqp_transport_of(url: &str) -> conn_tls::Transport {
    if url.starts_with("amqps:") {
        conn_tls::Transport {
            encrypted: true,
            verified: conn_tls::Verification::CaAndHost,
        }
    } else {
        conn_tls::Transport::PLAIN
    }
}

/// Why [`connect_amqp`] failed.
#[derive(Debug)]
pub enum AmqpConnectError {
    /// The TLS handshake failed this way.
    Tls(conn_tls::TlsProblem),
    /// Anything else, in words (without the URL's password).
    Other(String),
}

/// The TLS settings an `amqps://` URL carries as RabbitMQ's URI query parameters.
const TLS_PARAMETERS: [&str; 3] = ["cacertfile", "certfile", "keyfile"];

/// Connects to the broker at `url` (`amqp://` or `amqps://`). An `amqps://` connection is made
/// with the workspace's own TLS configuration from RabbitMQ's URI query parameters:
/// `cacertfile` (the CA that signed the broker's certificate, trusted instead of the system's
/// store), `certfile` and `keyfile` (a client certificate for a broker that asks for one,
/// `ssl_options.fail_if_no_peer_cert`).
pub async fn connect_amqp(
    url: &str,
    properties: ConnectionProperties,
) -> Result<Connection, AmqpConnectError> {
    let password = conn_tls::UrlSecret::of(url);
    let scrub = |text: String| password.scrub(text);
    let mut tls = std::collections::HashMap::new();
    let mut uri = url.to_owned();
    if let Ok(mut parsed) = url::Url::parse(url) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs
            .iter()
            .any(|(k, _)| TLS_PARAMETERS.contains(&k.as_str()))
        {
            let (ours, rest): (Vec<_>, Vec<_>) = pairs
                .into_iter()
                .partition(|(k, _)| TLS_PARAMETERS.contains(&k.as_str()));
            tls.extend(ours.into_iter().filter(|(_, v)| !v.is_empty()));
            if rest.is_empty() {
                parsed.set_query(None);
            } else {
                parsed.query_pairs_mut().clear().extend_pairs(rest);
            }
            uri = parsed.to_string();
        }
    }
    let uri: lapin::uri::AMQPUri = uri.parse().map_err(|e: String| {
        AmqpConnectError::Other(format!(
            "invalid amqp_url {}: {}",
            redact_amqp_url(url),
            scrub(e)
        ))
    })?;
    let amqps = uri.scheme == lapin::uri::AMQPScheme::AMQPS;
    let connected = if amqps {
        let roots = match tls.get("cacertfile") {
            Some(path) => conn_tls::Roots::File(path.into()),
            None => conn_tls::Roots::System,
        };
        let identity = match (tls.get("certfile"), tls.get("keyfile")) {
            (Some(cert), Some(key)) => Some(conn_tls::ClientIdentity {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None) => None,
            _ => {
                return Err(AmqpConnectError::Other(
                    "certfile and keyfile in amqp_url go together: give both or neither".into(),
                ))
            }
        };
        let config = conn_tls::client_config(
            &roots,
            conn_tls::ServerCheck::ChainAndHost,
            identity.as_ref(),
        )
        .map_err(|e| {
            AmqpConnectError::Other(format!(
                "{e}; fix cacertfile, certfile or keyfile in amqp_url"
            ))
        })?;
        let connector = lapin::tcp::RustlsConnector::from(config);
        // lapin's connector signature, not ours to shrink.
        #[allow(clippy::result_large_err)]
        let connect = Box::new(move |uri: &lapin::uri::AMQPUri| connect_rustls(uri, &connector));
        Connection::connector(uri, connect, properties).await
    } else {
        Connection::connect_uri(uri, properties).await
    };
    connected.map_err(|e| {
        let problem = conn_tls::tls_problem(&e)
            .or_else(|| conn_tls::tls_problem_in_text(&format!("{e:?}")))
            .or_else(|| {
                ended_after_handshake(&e).then(|| {
                    conn_tls::TlsProblem::Other(
                "the broker ended the connection right after the TLS handshake, as RabbitMQ \
                 does when it wants a client certificate it was not given or does not trust"
                    .to_owned(),
            )
                })
            });
        match problem {
            Some(problem) if amqps => AmqpConnectError::Tls(problem),
            _ => AmqpConnectError::Other(scrub(e.to_string())),
        }
    })
}

/// Connects to the broker `uri` names and makes the TLS handshake with `connector`, as lapin's
/// own connector does (blocking, on lapin's thread for it, then non-blocking).
// The error type is lapin's `HandshakeResult`, not ours to shrink.
#[allow(clippy::result_large_err)]
fn connect_rustls(
    uri: &lapin::uri::AMQPUri,
    connector: &lapin::tcp::RustlsConnector,
) -> lapin::tcp::HandshakeResult {
    let host = uri.authority.host.as_str();
    let port = uri.authority.port;
    let tcp = match conn_tls::loopback_addrs(host, port) {
        Some(loopback) => lapin::tcp::TcpStream::connect(&loopback[..])?,
        None => lapin::tcp::TcpStream::connect((host, port))?,
    };
    let stream = tcp.into_rustls(connector, host)?;
    stream.set_nonblocking(true)?;
    Ok(stream)
}

/// Returns whether `e` is the connection ending under lapin's first write or read: with TLS
/// 1.3 a broker refuses a client certificate after the client's side of the handshake is
/// done, and its alert is never read.
fn ended_after_handshake(e: &lapin::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e,
        lapin::Error::IOError(io) if matches!(
            io.kind(),
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof
        )
    )
}

/// Returns the connection properties every Bloodbank connection uses: lapin on the current
/// tokio runtime, named `name` in the broker's connection list.
pub fn connection_properties(name: &str) -> ConnectionProperties {
    ConnectionProperties::default()
        .with_connection_name(name.into())
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio)
}

/// Declares `exchange` as Bloodbank's durable topic exchange on `channel` (idempotent).
pub async fn declare_exchange(channel: &Channel, exchange: &str) -> Result<(), lapin::Error> {
    channel
        .exchange_declare(
            exchange,
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
}

impl Publisher {
    /// Connects to `url`, opens a channel in confirm mode and declares `exchange` (durable topic).
    ///
    /// Must run inside a tokio runtime: lapin's I/O runs on it.
    pub async fn connect(
        url: &str,
        exchange: &str,
        connect_timeout: Duration,
        confirm_timeout: Duration,
    ) -> Result<Self, PublishError> {
        let connect_error = |reason: String| PublishError::Connect {
            at: redact_amqp_url(url),
            reason,
        };
        let properties = connection_properties("perth-bloodbank");
        let setup = async {
            let connection = connect_amqp(url, properties).await.map_err(|e| match e {
                AmqpConnectError::Tls(problem) => PublishError::Tls {
                    at: redact_amqp_url(url),
                    problem,
                },
                AmqpConnectError::Other(reason) => connect_error(reason),
            })?;
            let channel_setup = async {
                let channel = connection.create_channel().await?;
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await?;
                declare_exchange(&channel, exchange).await?;
                Ok::<_, lapin::Error>(channel)
            };
            let channel = channel_setup
                .await
                .map_err(|e| connect_error(e.to_string()))?;
            Ok::<_, PublishError>((connection, channel))
        };
        let (connection, channel) = tokio::time::timeout(connect_timeout, setup)
            .await
            .map_err(|_| connect_error(format!("no answer within {connect_timeout:?}")))??;
        Ok(Self {
            connection,
            channel,
            exchange: exchange.to_owned(),
            confirm_timeout,
        })
    }

    /// Returns true while the connection and channel are open.
    pub fn is_connected(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }

    /// Publishes `rows` in order and waits for the broker's confirms.
    ///
    /// Returns how many rows, from the first, the broker confirmed, and the error that
    /// stopped it if not all were. Rows after the first failure may still have reached the
    /// broker; publishing them again is a redelivery consumers dedupe by id.
    pub async fn publish(&self, rows: &[OutboxRow]) -> (usize, Option<PublishError>) {
        let mut confirms = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in rows {
            let properties = BasicProperties::default()
                .with_content_type(CONTENT_TYPE.into())
                .with_delivery_mode(PERSISTENT)
                .with_message_id(row.event_id.as_str().into())
                .with_type(row.event_type.as_str().into())
                .with_timestamp(row.created_at.timestamp().try_into().unwrap_or(0));
            match self
                .channel
                .basic_publish(
                    &self.exchange,
                    &row.event_type,
                    BasicPublishOptions::default(),
                    row.payload.as_bytes(),
                    properties,
                )
                .await
            {
                Ok(confirm) => confirms.push(confirm),
                Err(source) => {
                    failure = Some(self.publish_error(source));
                    break;
                }
            }
        }
        let mut confirmed = 0;
        for (row, confirm) in rows.iter().zip(confirms) {
            match tokio::time::timeout(self.confirm_timeout, confirm).await {
                Ok(Ok(Confirmation::Ack(_) | Confirmation::NotRequested)) => confirmed += 1,
                Ok(Ok(Confirmation::Nack(_))) => {
                    return (
                        confirmed,
                        Some(PublishError::Nacked {
                            event_id: row.event_id.clone(),
                        }),
                    )
                }
                Ok(Err(source)) => return (confirmed, Some(self.publish_error(source))),
                Err(_) => {
                    return (
                        confirmed,
                        Some(PublishError::ConfirmTimeout {
                            event_id: row.event_id.clone(),
                            timeout: self.confirm_timeout,
                        }),
                    )
                }
            }
        }
        (confirmed, failure)
    }

    fn publish_error(&self, source: lapin::Error) -> PublishError {
        PublishError::Publish {
            exchange: self.exchange.clone(),
            source,
        }
    }

    /// Closes the channel and the connection.
    ///
    /// Bounded in time: a broker that went away cannot hold the pump here.
    pub async fn close(self) {
        let close = async {
            let _ = self.channel.close(200, "bye").await;
            let _ = self.connection.close(200, "bye").await;
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
    }
}

#[cfg(test)]
mod tests {
    use super::redact_amqp_url;

    #[test]
    fn a_ca_file_setting_joins_the_url_once() {
        let path = std::path::Path::new("/etc/ca.pem");
        assert_eq!(
            super::with_ca_file("amqps://bb:pw@mq:5671/%2f", Some(path)),
            "amqps://bb:pw@mq:5671/%2f?cacertfile=%2Fetc%2Fca.pem"
        );
        let named = "amqps://mq/%2f?cacertfile=/x.pem";
        assert_eq!(super::with_ca_file(named, Some(path)), named);
        assert_eq!(super::with_ca_file(named, None), named);
    }

    #[test]
    fn amqp_urls_lose_their_password() {
        assert_eq!(
            redact_amqp_url("amqp://bb:s3cret@mq:5672/%2f"),
            "amqp://bb:***@mq:5672/%2f"
        );
        assert_eq!(redact_amqp_url("amqp://mq:5672"), "amqp://mq:5672");
        assert_eq!(redact_amqp_url("::"), "<unparsable amqp_url>");
    }
}
