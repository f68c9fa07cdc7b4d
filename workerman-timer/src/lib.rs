//! Timers for workerman-rs (Workerman's `Timer` class).
//!
//! This crate is reserved for `Timer::add`, one-shot timers, `Timer::del` and
//! `Timer::del_all` on tokio time. It exposes nothing yet: until it does,
//! use `tokio::time::interval` inside `on_worker_start`.
