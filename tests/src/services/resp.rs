//! A minimal blocking Redis (RESP2) client, enough to probe and seed a test server.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A reply from Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RespValue {
    /// `+OK`
    Simple(String),
    /// `-ERR ...`
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$3\r\nfoo`, or `$-1` (nil) as `None`.
    Bulk(Option<Vec<u8>>),
    /// `*2 ...`, or `*-1` (nil) as `None`.
    Array(Option<Vec<RespValue>>),
}

impl RespValue {
    /// Returns the text of a simple string or a UTF-8 bulk string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            RespValue::Simple(s) => Some(s),
            RespValue::Bulk(Some(bytes)) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }
}

/// Error talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum RespError {
    /// Connecting, writing or reading failed.
    #[error("redis I/O on {addr}")]
    Io {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The server sent something that is not RESP2.
    #[error("redis on {addr} sent malformed RESP: {detail}")]
    Protocol { addr: SocketAddr, detail: String },
}

/// A connection to one Redis server.
pub struct RespClient {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RespClient {
    /// Connects to `127.0.0.1:port`; connecting, reading and writing each give up after `timeout`.
    pub fn connect(port: u16, timeout: Duration) -> Result<Self, RespError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let io = |source| RespError::Io { addr, source };
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        stream.set_write_timeout(Some(timeout)).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let writer = stream.try_clone().map_err(io)?;
        Ok(Self {
            addr,
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one command (`["SET", "k", "v"]`) and returns its reply; a Redis error is `Ok(RespValue::Error(..))`.
    pub fn command(&mut self, args: &[&str]) -> Result<RespValue, RespError> {
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        let addr = self.addr;
        self.writer
            .write_all(&request)
            .map_err(|source| RespError::Io { addr, source })?;
        self.read_value()
    }

    fn read_value(&mut self) -> Result<RespValue, RespError> {
        let line = self.read_line()?;
        let (kind, rest) = line.split_at(1.min(line.len()));
        match kind {
            "+" => Ok(RespValue::Simple(rest.to_owned())),
            "-" => Ok(RespValue::Error(rest.to_owned())),
            ":" => Ok(RespValue::Integer(self.parse_int(rest)?)),
            "$" => {
                let len = self.parse_int(rest)?;
                if len < 0 {
                    return Ok(RespValue::Bulk(None));
                }
                let mut data = vec![0; len as usize + 2];
                self.reader
                    .read_exact(&mut data)
                    .map_err(|source| RespError::Io {
                        addr: self.addr,
                        source,
                    })?;
                data.truncate(len as usize);
                Ok(RespValue::Bulk(Some(data)))
            }
            "*" => {
                let len = self.parse_int(rest)?;
                if len < 0 {
                    return Ok(RespValue::Array(None));
                }
                let items = (0..len)
                    .map(|_| self.read_value())
                    .collect::<Result<_, _>>()?;
                Ok(RespValue::Array(Some(items)))
            }
            _ => Err(self.protocol(format!("unexpected reply line {line:?}"))),
        }
    }

    fn read_line(&mut self) -> Result<String, RespError> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|source| RespError::Io {
                addr: self.addr,
                source,
            })?;
        if n == 0 {
            return Err(self.protocol("connection closed".to_owned()));
        }
        match line.strip_suffix("\r\n") {
            Some(body) => Ok(body.to_owned()),
            None => Err(self.protocol(format!("reply line without CRLF: {line:?}"))),
        }
    }

    fn parse_int(&self, text: &str) -> Result<i64, RespError> {
        text.parse()
            .map_err(|_| self.protocol(format!("bad integer {text:?}")))
    }

    fn protocol(&self, detail: String) -> RespError {
        RespError::Protocol {
            addr: self.addr,
            detail,
        }
    }
}
