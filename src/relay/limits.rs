//! Every limit the relay enforces, in one place:
//! - at the handshake, per address ([`AddressGuard`]): a cap on connections that have not
//!   finished their handshake yet, and a cool-down for an address that keeps guessing the join
//!   code. Both tables forget an address once it has nothing left to count, so they stay small;
//! - at the handshake, for everyone ([`Slot`]): at most `max_clients` WebSockets at once;
//! - per connection ([`RateLimit`]): messages per second, with a burst.
//!
//! The slow-reader cut-off lives with the outbox it watches (`outbox.rs`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::state::Shared;

/// Token bucket: `burst` messages at once, refilled at `rate` per second.
pub(super) struct RateLimit {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: tokio::time::Instant,
}

impl RateLimit {
    /// A full bucket; a `rate` of zero or less means no limit.
    pub(super) fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate,
            burst,
            tokens: burst,
            last: tokio::time::Instant::now(),
        }
    }

    /// Takes a token if there is one.
    pub(super) fn allow(&mut self) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let now = tokio::time::Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One of the relay's `max_clients` places, given back when dropped.
pub(super) struct Slot(Arc<Shared>);

impl Slot {
    /// A place, if the relay is not full.
    pub(super) fn take(shared: &Arc<Shared>) -> Option<Self> {
        let max = shared.config.max_clients;
        shared
            .live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(Arc::clone(shared)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Wrong join codes allowed from one address within [`GUESS_WINDOW`].
pub(super) const MAX_WRONG_CODES: u32 = 5;
/// The window in which wrong codes are counted, and the cool-down once over the limit.
pub(super) const GUESS_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Guesses {
    count: u32,
    since: Instant,
}

/// Counts per remote address.
#[derive(Debug, Default)]
pub(super) struct AddressGuard {
    /// TCP connections still in their HTTP phase, per address.
    pending: Mutex<HashMap<IpAddr, u32>>,
    /// Wrong join codes, per address.
    guesses: Mutex<HashMap<IpAddr, Guesses>>,
}

/// A connection counted as pending; uncounted when dropped.
pub(super) struct Pending<'a> {
    guard: &'a AddressGuard,
    ip: IpAddr,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let mut pending = self
            .guard
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = pending.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                pending.remove(&self.ip);
            }
        }
    }
}

impl AddressGuard {
    /// Counts a new connection from `ip`, unless `ip` already has `max` pending.
    pub(super) fn admit(&self, ip: IpAddr, max: u32) -> Option<Pending<'_>> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let n = pending.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Pending { guard: self, ip })
    }

    /// Whether `ip` is cooling down after too many wrong join codes.
    pub(super) fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let mut guesses = self.guesses.lock().unwrap_or_else(PoisonError::into_inner);
        match guesses.get(&ip) {
            Some(g) if now.duration_since(g.since) >= GUESS_WINDOW => {
                guesses.remove(&ip);
                false
            }
            Some(g) => g.count >= MAX_WRONG_CODES,
            None => false,
        }
    }

    /// Records a wrong join code from `ip`.
    pub(super) fn wrong_code(&self, ip: IpAddr, now: Instant) {
        let mut guesses = self.guesses.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget stale addresses now and then so the table cannot grow without bound.
        if guesses.len() > 4096 {
            guesses.retain(|_, g| now.duration_since(g.since) < GUESS_WINDOW);
        }
        let g = guesses.entry(ip).or_insert(Guesses {
            count: 0,
            since: now,
        });
        if now.duration_since(g.since) >= GUESS_WINDOW {
            *g = Guesses {
                count: 0,
                since: now,
            };
        }
        g.count += 1;
        if g.count == MAX_WRONG_CODES {
            // The cool-down runs a full window from the last allowed guess.
            g.since = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_connections_are_capped_per_address() {
        let guard = AddressGuard::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = guard.admit(a, 2).unwrap();
        let _second = guard.admit(a, 2).unwrap();
        assert!(guard.admit(a, 2).is_none());
        assert!(
            guard.admit(b, 2).is_some(),
            "other addresses are not affected"
        );
        drop(first);
        assert!(guard.admit(a, 2).is_some());
    }

    #[test]
    fn wrong_codes_cool_down_then_expire() {
        let guard = AddressGuard::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..MAX_WRONG_CODES - 1 {
            guard.wrong_code(ip, t0);
        }
        assert!(!guard.blocked(ip, t0));
        guard.wrong_code(ip, t0);
        assert!(guard.blocked(ip, t0 + Duration::from_secs(30)));
        assert!(!guard.blocked(ip, t0 + GUESS_WINDOW));
    }
}
