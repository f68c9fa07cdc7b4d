//! The bounded queue of publishes that could not be sent yet.

use std::collections::VecDeque;

/// One publish waiting for the link: the event name and the JSON of its
/// data.
#[derive(Debug, Clone)]
pub(crate) struct Publish {
    pub(crate) event: String,
    pub(crate) data: Vec<u8>,
}

impl Publish {
    fn size(&self) -> usize {
        self.event.len() + self.data.len()
    }
}

/// Publishes in order, bounded by count and by bytes. When a new one does
/// not fit, the oldest are dropped (and counted): while the link is down,
/// the freshest news is worth more than the stalest.
#[derive(Debug)]
pub(crate) struct Pending {
    queue: VecDeque<Publish>,
    bytes: usize,
    max_messages: usize,
    max_bytes: usize,
    /// Set when a drop happened since the queue was last empty: the
    /// warning is logged once per outage, not once per message.
    dropping: bool,
}

impl Pending {
    pub(crate) fn new(max_messages: usize, max_bytes: usize) -> Self {
        Pending {
            queue: VecDeque::new(),
            bytes: 0,
            max_messages: max_messages.max(1),
            max_bytes: max_bytes.max(1),
            dropping: false,
        }
    }

    /// Appends `p`, dropping the oldest entries until it fits; returns how
    /// many were dropped (`p` itself when it alone is over the byte limit).
    pub(crate) fn push(&mut self, p: Publish) -> u64 {
        if p.size() > self.max_bytes {
            self.note_drop(1, "a publish larger than the whole queue");
            return 1;
        }
        let mut dropped = 0;
        while self.queue.len() >= self.max_messages || self.bytes + p.size() > self.max_bytes {
            match self.queue.pop_front() {
                Some(old) => {
                    self.bytes -= old.size();
                    dropped += 1;
                }
                None => break,
            }
        }
        if dropped > 0 {
            self.note_drop(dropped, "the queue is full");
        }
        self.bytes += p.size();
        self.queue.push_back(p);
        dropped
    }

    fn note_drop(&mut self, n: u64, why: &'static str) {
        if !self.dropping {
            tracing::warn!(
                dropped = n,
                reason = why,
                max_messages = self.max_messages,
                max_bytes = self.max_bytes,
                "channel: dropping the oldest unsent publishes (the link is down or slow)"
            );
            self.dropping = true;
        } else {
            tracing::debug!(
                dropped = n,
                reason = why,
                "channel: dropped unsent publishes"
            );
        }
    }

    #[cfg(test)]
    /// The oldest entry, without removing it.
    pub(crate) fn front(&self) -> Option<&Publish> {
        self.queue.front()
    }

    /// Removes the oldest entry.
    pub(crate) fn pop(&mut self) -> Option<Publish> {
        let p = self.queue.pop_front()?;
        self.bytes -= p.size();
        if self.queue.is_empty() {
            self.dropping = false;
        }
        Some(p)
    }

    /// Puts an entry back at the front (a send that was refused).
    pub(crate) fn push_front(&mut self, p: Publish) {
        self.bytes += p.size();
        self.queue.push_front(p);
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(event: &str, n: usize) -> Publish {
        Publish {
            event: event.to_owned(),
            data: vec![b'1'; n],
        }
    }

    #[test]
    fn drops_the_oldest_by_count() {
        let mut q = Pending::new(3, 1 << 20);
        for i in 0..5 {
            let dropped = q.push(p(&i.to_string(), 1));
            assert_eq!(dropped, u64::from(i >= 3));
        }
        let left: Vec<_> = std::iter::from_fn(|| q.pop()).map(|p| p.event).collect();
        assert_eq!(left, ["2", "3", "4"]);
        assert!(q.is_empty());
    }

    #[test]
    fn drops_the_oldest_by_bytes() {
        // Each entry is 1 + 9 = 10 bytes; 25 bytes hold two.
        let mut q = Pending::new(100, 25);
        assert_eq!(q.push(p("a", 9)), 0);
        assert_eq!(q.push(p("b", 9)), 0);
        assert_eq!(q.push(p("c", 9)), 1);
        assert_eq!(q.len(), 2);
        assert_eq!(q.front().map(|p| p.event.as_str()), Some("b"));
        // One larger than the whole queue is itself dropped.
        assert_eq!(q.push(p("huge", 100)), 1);
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn push_front_restores_order_and_size() {
        let mut q = Pending::new(10, 100);
        q.push(p("a", 1));
        q.push(p("b", 1));
        let a = q.pop().unwrap();
        q.push_front(a);
        assert_eq!(q.pop().unwrap().event, "a");
        assert_eq!(q.pop().unwrap().event, "b");
        assert_eq!(q.bytes, 0);
    }
}
