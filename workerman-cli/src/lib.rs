//! The command line of workerman-rs (`start [-d] | stop [-g] | restart |
//! reload [-g] | status [-d] | connections`).
//!
//! This crate is reserved for the argument parser and the client of a
//! running master's control socket. It exposes nothing yet: until it does,
//! programs run their workers in the foreground with `Server::run`.
