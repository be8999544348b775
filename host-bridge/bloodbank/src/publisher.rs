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
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparsable amqp_url>".to_owned(),
    }
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
            let connection = Connection::connect(url, properties).await?;
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            declare_exchange(&channel, exchange).await?;
            Ok::<_, lapin::Error>((connection, channel))
        };
        let (connection, channel) = tokio::time::timeout(connect_timeout, setup)
            .await
            .map_err(|_| connect_error(format!("no answer within {connect_timeout:?}")))?
            .map_err(|e| connect_error(e.to_string()))?;
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
    fn amqp_urls_lose_their_password() {
        assert_eq!(
            redact_amqp_url("amqp://bb:s3cret@mq:5672/%2f"),
            "amqp://bb:***@mq:5672/%2f"
        );
        assert_eq!(redact_amqp_url("amqp://mq:5672"), "amqp://mq:5672");
        assert_eq!(redact_amqp_url("::"), "<unparsable amqp_url>");
    }
}
