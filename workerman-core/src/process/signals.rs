//! The one signal→action table of the process model, used by the master
//! and by every worker process alike: Workerman's mapping for `kill` and
//! systemd users (see the [module docs](super#signals)).

use std::task::Poll;

use tokio::signal::unix::{signal, Signal, SignalKind};

/// What a signal asks of a process (the master passes it on to its
/// workers; a worker acts on it for itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalAction {
    /// Stop (SIGINT, SIGTERM, SIGHUP; SIGQUIT gracefully).
    Stop {
        /// Let connections finish first (SIGQUIT), else close them.
        graceful: bool,
    },
    /// Reload (SIGUSR1; SIGUSR2 gracefully).
    Reload {
        /// Let connections finish first (SIGUSR2).
        graceful: bool,
    },
}

/// Every signal a process reacts to, and what it asks for.
pub const TABLE: [(SignalKind, SignalAction); 6] = [
    (
        SignalKind::interrupt(),
        SignalAction::Stop { graceful: false },
    ),
    (
        SignalKind::terminate(),
        SignalAction::Stop { graceful: false },
    ),
    (SignalKind::hangup(), SignalAction::Stop { graceful: false }),
    (SignalKind::quit(), SignalAction::Stop { graceful: true }),
    (
        SignalKind::user_defined1(),
        SignalAction::Reload { graceful: false },
    ),
    (
        SignalKind::user_defined2(),
        SignalAction::Reload { graceful: true },
    ),
];

/// The signals of [`TABLE`], listened to (from inside a tokio runtime).
#[derive(Debug)]
pub struct Signals(Vec<(Signal, SignalAction)>);

impl Signals {
    /// Starts listening; a signal that cannot be handled is logged and
    /// left out.
    pub fn listen() -> Self {
        let mut streams = Vec::with_capacity(TABLE.len());
        for (kind, action) in TABLE {
            match signal(kind) {
                Ok(s) => streams.push((s, action)),
                Err(e) => tracing::warn!(error = %e, ?action, "cannot handle a signal"),
            }
        }
        Signals(streams)
    }

    /// The next signal's action (never, if none could be handled).
    pub async fn next(&mut self) -> SignalAction {
        std::future::poll_fn(|cx| {
            for (s, action) in &mut self.0 {
                if let Poll::Ready(Some(())) = s.poll_recv(cx) {
                    return Poll::Ready(*action);
                }
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_signal_of_the_manual_has_one_action() {
        let kinds: Vec<i32> = TABLE.iter().map(|(k, _)| k.as_raw_value()).collect();
        let mut unique = kinds.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), kinds.len(), "a signal listed twice");
        let action = |k: SignalKind| TABLE.iter().find(|(t, _)| *t == k).map(|(_, a)| *a);
        assert_eq!(
            action(SignalKind::quit()),
            Some(SignalAction::Stop { graceful: true })
        );
        assert_eq!(
            action(SignalKind::user_defined2()),
            Some(SignalAction::Reload { graceful: true })
        );
    }

    /// A real signal to this process comes out as its action. (SIGUSR2:
    /// once listened to, tokio keeps a handler for it for the process's
    /// life, so the test process is not ended by it.)
    #[tokio::test]
    async fn a_signal_comes_out_as_its_action() {
        let mut signals = Signals::listen();
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGUSR2).expect("raise");
        let got = tokio::time::timeout(Duration::from_secs(10), signals.next())
            .await
            .expect("the signal arrives");
        assert_eq!(got, SignalAction::Reload { graceful: true });
    }
}
