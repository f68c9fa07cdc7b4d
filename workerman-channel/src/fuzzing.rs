//! Internal: the wire protocol's parsers and encoders for the fuzz targets
//! (`fuzz/` at the repository root). Only built with the `fuzzing`
//! feature; not part of the public API and not covered by semver.
//!
//! The types here mirror the crate-private ones field for field, so the
//! fuzz targets see exactly what the server and the client see.

use serde_json::value::RawValue;

use crate::wire;

/// What a client sends (mirror of the private `wire::Command`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `subscribe`.
    Subscribe {
        /// The channels.
        channels: Vec<String>,
    },
    /// `unsubscribe`.
    Unsubscribe {
        /// The channels.
        channels: Vec<String>,
    },
    /// `publish`: `data` is the raw JSON text as it came.
    Publish {
        /// The channels.
        channels: Vec<String>,
        /// The raw JSON of the published value.
        data: String,
    },
    /// `ping`.
    Ping {
        /// The id echoed by `pong`.
        id: u64,
    },
}

/// What the server sends (mirror of the private `wire::Reply`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// One published event; `data` is the raw JSON text as it came.
    Event {
        /// The channel.
        channel: String,
        /// The raw JSON of the published value.
        data: String,
    },
    /// The answer to `ping`.
    Pong {
        /// The ping's id.
        id: u64,
    },
}

/// What the server does with a frame body (`wire::parse_command`); the
/// error as its message.
pub fn parse_command(body: &[u8]) -> Result<Command, String> {
    Ok(
        match wire::parse_command(body).map_err(|e| e.to_string())? {
            wire::Command::Subscribe { channels } => Command::Subscribe { channels },
            wire::Command::Unsubscribe { channels } => Command::Unsubscribe { channels },
            wire::Command::Publish { channels, data } => Command::Publish {
                channels,
                data: data.get().to_owned(),
            },
            wire::Command::Ping { id } => Command::Ping { id },
        },
    )
}

/// What a client does with a frame body (`wire::parse_reply`); the error
/// as its message.
pub fn parse_reply(body: &[u8]) -> Result<Reply, String> {
    Ok(match wire::parse_reply(body).map_err(|e| e.to_string())? {
        wire::Reply::Event { channel, data } => Reply::Event {
            channel,
            data: data.get().to_owned(),
        },
        wire::Reply::Pong { id } => Reply::Pong { id },
    })
}

/// A `subscribe` (or `unsubscribe`) body, as the client writes it.
pub fn subscription(subscribe: bool, channels: &[&str]) -> Vec<u8> {
    wire::subscription(subscribe, channels)
}

/// A `publish` body for a value, as `ChannelClient::publish` writes it.
pub fn publish<T: serde::Serialize + ?Sized>(event: &str, data: &T) -> Result<Vec<u8>, String> {
    let data = wire::encode_data(data).map_err(|e| e.to_string())?;
    Ok(wire::publish(event, &data))
}

/// A `ping` body.
pub fn ping(id: u64) -> Vec<u8> {
    wire::ping(id)
}

/// A `pong` body.
pub fn pong(id: u64) -> Vec<u8> {
    wire::pong(id)
}

/// An `event` body as the server forwards it; `None` when `data` is not
/// valid JSON (the server only forwards data it parsed).
pub fn event(channel: &str, data: &str) -> Option<Vec<u8>> {
    let raw = RawValue::from_string(data.to_owned()).ok()?;
    Some(wire::event(channel, &raw))
}
