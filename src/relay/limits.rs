//! Every limit the relay enforces, in one place:
//! - at the handshake, per address ([`AddressGuard`]): a cap on connections that have not
//!   finished their handshake yet, and a cool-down for an address that keeps guessing the join
//!   code, with a relay-wide budget of wrong codes on top. The same wrong code again from one
//!   address (a page or app retrying a code that has changed) is no new guess and counts once.
//!   The tables forget an address once it has nothing left to count, and
//!   [`AddressGuard::prune`] runs on a schedule;
//! - at the handshake ([`Slot`]): at most `max_clients` WebSockets at once, and at most
//!   `max_per_address` from one address;
//! - per connection ([`RateLimit`]): messages per second and bytes per second, each with a
//!   burst;
//! - for the log ([`LogThrottle`]): one line per address and interval for refusals and
//!   rate-limited frames, with a count, instead of one line each;
//! - for `accept` ([`Backoff`]): a failing listener is retried after 10 ms, doubling to 1 s.
//!
//! "Address" means the IPv4 address, or the /64 prefix of an IPv6 address ([`address_key`]):
//! one machine on an IPv6 network usually has a whole /64 to pick addresses from.
//!
//! The slow-reader cut-off lives with the outbox it watches (`outbox.rs`).
//!
//! Try it: `cargo test --lib relay::limits::`.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::RelayConfig;
use super::state::Shared;

/// One token bucket: `burst` tokens at most, refilled at `rate` per second.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
        }
    }

    fn refill(&mut self, elapsed_secs: f64) {
        self.tokens = (self.tokens + elapsed_secs * self.rate).min(self.burst);
    }

    /// Whether `cost` tokens are there; a cost above the burst costs the whole burst, so a
    /// single large frame is never refused for ever.
    fn has(&self, cost: f64) -> bool {
        self.rate <= 0.0 || self.tokens >= cost.min(self.burst)
    }

    fn take(&mut self, cost: f64) {
        if self.rate > 0.0 {
            self.tokens -= cost.min(self.burst);
        }
    }
}

/// A client's rate limit: messages per second with a burst, and bytes per second with a
/// burst. A message passes only when both buckets have room; a refused message costs nothing.
#[derive(Debug)]
pub(super) struct RateLimit {
    messages: Bucket,
    bytes: Bucket,
    last: tokio::time::Instant,
}

impl RateLimit {
    /// Full buckets from the relay's config; a rate of zero (or less) switches that bucket off.
    pub(super) fn new(config: &RelayConfig) -> Self {
        Self {
            messages: Bucket::new(config.rate_per_sec, f64::from(config.rate_burst.max(1))),
            bytes: Bucket::new(
                config.rate_bytes_per_sec as f64,
                config.rate_bytes_burst.max(1) as f64,
            ),
            last: tokio::time::Instant::now(),
        }
    }

    /// Takes one message of `bytes` bytes if both buckets have room for it.
    pub(super) fn allow(&mut self, bytes: usize) -> bool {
        let now = tokio::time::Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.messages.refill(elapsed);
        self.bytes.refill(elapsed);
        let cost = bytes as f64;
        if self.messages.has(1.0) && self.bytes.has(cost) {
            self.messages.take(1.0);
            self.bytes.take(cost);
            true
        } else {
            false
        }
    }
}

/// Why the handshake found no place for a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NoSlot {
    /// The relay has `max_clients` connections.
    Full,
    /// This address has `max_per_address` live connections.
    PerAddress,
}

/// One of the relay's `max_clients` places, and one of its address's `max_per_address`,
/// given back when dropped.
pub(super) struct Slot {
    shared: Arc<Shared>,
    key: IpAddr,
}

impl Slot {
    /// A place for a client from `ip`, if the address and the relay have room. A client that
    /// will get a `welcome` (`listed`) also needs fewer than `max_listed_clients` connected.
    pub(super) fn take(shared: &Arc<Shared>, ip: IpAddr, listed: bool) -> Result<Self, NoSlot> {
        let key = address_key(ip);
        if !shared.guard.add_live(key, shared.config.max_per_address) {
            return Err(NoSlot::PerAddress);
        }
        let max = most_clients(&shared.config, listed);
        let taken = shared
            .live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            });
        if taken.is_err() {
            shared.guard.remove_live(key);
            return Err(NoSlot::Full);
        }
        Ok(Self {
            shared: Arc::clone(shared),
            key,
        })
    }
}

impl Slot {
    /// Whether [`Slot::take`] would find a place for `ip` now, without taking one.
    pub(super) fn room_for(shared: &Shared, ip: IpAddr, listed: bool) -> Result<(), NoSlot> {
        let per_address = shared.config.max_per_address;
        if per_address > 0 && shared.guard.live_count(address_key(ip)) >= per_address {
            Err(NoSlot::PerAddress)
        } else if shared.live.load(Ordering::Acquire) >= most_clients(&shared.config, listed) {
            Err(NoSlot::Full)
        } else {
            Ok(())
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.guard.remove_live(self.key);
        self.shared.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How many clients may be connected for one more to join: `max_clients`, and for a client
/// whose `welcome` lists everyone, `max_listed_clients` too.
fn most_clients(config: &RelayConfig, listed: bool) -> usize {
    if listed {
        config.max_clients.min(config.max_listed_clients)
    } else {
        config.max_clients
    }
}

/// The key per-address limits count under: an IPv4 address (IPv4-mapped IPv6 included) as
/// it is, an IPv6 address by its /64 prefix.
pub(super) fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Wrong join codes in a row from one address that start its cool-down.
pub(super) const MAX_WRONG_CODES: u32 = 5;
/// Wrong codes from one address further apart than this do not count as "in a row".
pub(super) const GUESS_WINDOW: Duration = Duration::from_secs(60);
/// How long a wrong code waits for its answer while the relay-wide budget is spent.
pub(super) const BUDGET_PENALTY: Duration = Duration::from_secs(1);
/// Most addresses the wrong-code table tracks; beyond it only the relay-wide budget counts.
const MAX_TRACKED: usize = 65_536;
/// Most distinct wrong codes remembered per address (as keyed hashes) to recognise a repeat.
const MAX_REMEMBERED: usize = 8;

/// A wrong secret from a handshake: a join code (or none), or a host key.
#[derive(Clone, Copy, Debug, Hash)]
pub(super) enum Guess<'a> {
    /// The `code` parameter, if there was one.
    JoinCode(Option<&'a str>),
    /// The `host` parameter.
    HostKey(&'a str),
}

/// Wrong codes from one address since its last right one.
#[derive(Debug)]
struct Guesses {
    /// Distinct wrong codes in a row, each within [`GUESS_WINDOW`] of the one before.
    in_a_row: u32,
    /// The latest wrong code that counted.
    last: Instant,
    /// End of the cool-down, once one started.
    blocked_until: Option<Instant>,
    /// Keyed hashes of the wrong codes that counted, newest last, at most [`MAX_REMEMBERED`].
    tried: VecDeque<u64>,
}

impl Guesses {
    fn new(now: Instant) -> Self {
        Self {
            in_a_row: 0,
            last: now,
            blocked_until: None,
            tried: VecDeque::new(),
        }
    }

    /// Whether the window since the last counted guess, or the cool-down, is over.
    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.last) >= GUESS_WINDOW
            || self.blocked_until.is_some_and(|until| now >= until)
    }

    fn remember(&mut self, hash: u64) {
        if self.tried.len() == MAX_REMEMBERED {
            self.tried.pop_front();
        }
        self.tried.push_back(hash);
    }
}

/// Wrong join codes: per address, and for the relay as a whole.
#[derive(Debug)]
struct Codes {
    per_address: HashMap<IpAddr, Guesses>,
    /// Start of the current minute of the relay-wide budget.
    budget_since: Option<Instant>,
    /// Wrong codes in that minute, from anywhere.
    budget_used: u32,
}

/// What a wrong join code set off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WrongCode {
    /// Counted; nothing more.
    Counted,
    /// The same wrong code as one this address already tried: not counted again.
    Repeated,
    /// This address starts its cool-down now.
    CoolDown,
    /// The relay-wide budget is spent: the answer waits [`BUDGET_PENALTY`]. `first` is true
    /// for the first wrong code of the episode (log it once).
    OverBudget {
        /// The first one over the budget this minute.
        first: bool,
    },
}

/// Counts per remote address (see [`address_key`]).
#[derive(Debug)]
pub(super) struct AddressGuard {
    /// TCP connections still in their HTTP phase, per address.
    pending: Mutex<HashMap<IpAddr, u32>>,
    /// Live WebSocket connections, per address.
    live: Mutex<HashMap<IpAddr, u32>>,
    /// Wrong join codes.
    codes: Mutex<Codes>,
    /// Wrong codes in a row that start an address's cool-down.
    max_wrong: u32,
    /// How long the cool-down lasts.
    cooldown: Duration,
    /// Wrong codes per minute from anywhere before every wrong code waits (0 = no budget).
    budget: u32,
    /// Keys the hashes of remembered wrong codes, so the table holds no code itself.
    hasher: RandomState,
}

impl Default for AddressGuard {
    fn default() -> Self {
        Self::new(&RelayConfig::default())
    }
}

/// A connection counted as pending; uncounted when dropped.
pub(super) struct Pending<'a> {
    guard: &'a AddressGuard,
    key: IpAddr,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        decrement(&self.guard.pending, self.key);
    }
}

fn decrement(table: &Mutex<HashMap<IpAddr, u32>>, key: IpAddr) {
    let mut table = table.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(n) = table.get_mut(&key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            table.remove(&key);
        }
    }
}

impl AddressGuard {
    /// The guard for a relay with `config`'s join-code limits.
    pub(super) fn new(config: &RelayConfig) -> Self {
        Self {
            pending: Mutex::default(),
            live: Mutex::default(),
            codes: Mutex::new(Codes {
                per_address: HashMap::new(),
                budget_since: None,
                budget_used: 0,
            }),
            max_wrong: config.wrong_codes_per_address.max(1),
            cooldown: config.code_cooldown,
            budget: config.wrong_code_budget,
            hasher: RandomState::new(),
        }
    }

    /// Counts a new connection from `ip`, unless its address already has `max` pending.
    pub(super) fn admit(&self, ip: IpAddr, max: u32) -> Option<Pending<'_>> {
        let key = address_key(ip);
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        // Look before inserting: a refused address must not leave an entry behind.
        if pending.get(&key).is_some_and(|n| *n >= max) || max == 0 {
            return None;
        }
        *pending.entry(key).or_insert(0) += 1;
        Some(Pending { guard: self, key })
    }

    /// Counts a live connection under `key` unless it has `max` (0 = no limit).
    fn add_live(&self, key: IpAddr, max: u32) -> bool {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let n = live.entry(key).or_insert(0);
        if max > 0 && *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn live_count(&self, key: IpAddr) -> u32 {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.get(&key).copied().unwrap_or(0)
    }

    fn remove_live(&self, key: IpAddr) {
        decrement(&self.live, key);
    }

    /// Whether `ip`'s address is cooling down after too many wrong join codes.
    pub(super) fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        codes
            .per_address
            .get(&address_key(ip))
            .and_then(|g| g.blocked_until)
            .is_some_and(|until| now < until)
    }

    /// Records a right join code from `ip`: its wrong codes in a row start again from zero,
    /// so one student's typos do not count against classmates behind the same NAT for long.
    pub(super) fn right_code(&self, ip: IpAddr, now: Instant) {
        let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        let key = address_key(ip);
        if codes
            .per_address
            .get(&key)
            .is_some_and(|g| g.blocked_until.is_none_or(|until| now >= until))
        {
            codes.per_address.remove(&key);
        }
    }

    /// Records a wrong join code (or host key) from `ip`. The same wrong code again within
    /// the address's current run of guesses is [`WrongCode::Repeated`] and counts for nothing:
    /// it tells a guesser nothing new, and a student whose page retries a code the host has
    /// since changed must not lock out classmates behind the same address.
    pub(super) fn wrong_code(&self, ip: IpAddr, guess: Guess<'_>, now: Instant) -> WrongCode {
        let hash = self.hasher.hash_one(guess);
        let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        let key = address_key(ip);
        if codes
            .per_address
            .get(&key)
            .is_some_and(|g| !g.expired(now) && g.tried.contains(&hash))
        {
            return WrongCode::Repeated;
        }
        let over = self.spend_budget(&mut codes, now);
        let tracked = codes.per_address.len();
        let g = match codes.per_address.get_mut(&key) {
            Some(g) => g,
            None if tracked < MAX_TRACKED => codes
                .per_address
                .entry(key)
                .or_insert_with(|| Guesses::new(now)),
            None => return over.unwrap_or(WrongCode::Counted),
        };
        if g.expired(now) {
            *g = Guesses::new(now);
        }
        g.in_a_row += 1;
        g.last = now;
        g.remember(hash);
        let mut verdict = WrongCode::Counted;
        if g.in_a_row >= self.max_wrong && g.blocked_until.is_none() {
            g.blocked_until = Some(now + self.cooldown);
            verdict = WrongCode::CoolDown;
        }
        over.unwrap_or(verdict)
    }

    /// Counts one wrong code against the relay-wide budget; `Some` once it is spent.
    fn spend_budget(&self, codes: &mut Codes, now: Instant) -> Option<WrongCode> {
        if self.budget == 0 {
            return None;
        }
        if codes
            .budget_since
            .is_none_or(|since| now.duration_since(since) >= GUESS_WINDOW)
        {
            codes.budget_since = Some(now);
            codes.budget_used = 0;
        }
        codes.budget_used = codes.budget_used.saturating_add(1);
        (codes.budget_used > self.budget).then_some(WrongCode::OverBudget {
            first: codes.budget_used == self.budget + 1,
        })
    }

    /// Forgets addresses with nothing left to count. The relay calls it on a schedule, so a
    /// flood of wrong codes never pays for a sweep of the table.
    pub(super) fn prune(&self, now: Instant) {
        let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        codes.per_address.retain(|_, g| match g.blocked_until {
            Some(until) => now < until,
            None => now.duration_since(g.last) < GUESS_WINDOW,
        });
    }

    /// Addresses in the wrong-code table (for tests).
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.codes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .per_address
            .len()
    }
}

/// Log lines about one kind of event, at most one per key and interval. The first event of an
/// interval is logged at once; the others are counted and reported by [`LogThrottle::flush`].
#[derive(Debug)]
pub(super) struct LogThrottle {
    interval: Duration,
    /// Per key: when its interval started, and the events since not logged.
    seen: Mutex<HashMap<String, (Instant, u64)>>,
}

/// Most keys a [`LogThrottle`] tracks; events for others are counted under one key.
const MAX_LOG_KEYS: usize = 4_096;
/// The key events are counted under once the table is full.
const OTHER_KEY: &str = "other addresses";

impl LogThrottle {
    /// A throttle allowing one line per key every `interval`.
    pub(super) fn new(interval: Duration) -> Self {
        Self {
            interval,
            seen: Mutex::default(),
        }
    }

    /// Whether to log this event now. Otherwise it is counted for the next summary.
    pub(super) fn note(&self, key: &str, now: Instant) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let key = if seen.contains_key(key) || seen.len() < MAX_LOG_KEYS {
            key
        } else {
            OTHER_KEY
        };
        match seen.get_mut(key) {
            Some((since, count)) if now.duration_since(*since) < self.interval => {
                *count += 1;
                false
            }
            Some(_) | None => {
                // A new interval: the caller logs this one; a count not flushed yet is kept
                // for the next summary.
                let leftover = seen.get(key).map_or(0, |(_, count)| *count);
                seen.insert(key.to_owned(), (now, leftover));
                true
            }
        }
    }

    /// The keys whose interval is over, with the events not logged in it; forgets them.
    pub(super) fn flush(&self, now: Instant) -> Vec<(String, u64)> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        seen.retain(|key, (since, count)| {
            if now.duration_since(*since) < self.interval {
                return true;
            }
            if *count > 0 {
                out.push((key.clone(), *count));
            }
            false
        });
        out.sort();
        out
    }
}

/// Waits between failed `accept`s: 10 ms, doubling up to 1 s, back to the start on success.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    /// Failures in the current episode.
    failures: u32,
}

/// The first wait after a failed `accept`.
pub(super) const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest wait.
pub(super) const BACKOFF_MAX: Duration = Duration::from_secs(1);

impl Backoff {
    /// Records a failure; returns how long to wait, and whether it began an episode (log it).
    pub(super) fn failed(&mut self) -> (Duration, bool) {
        let first = self.failures == 0;
        let wait = BACKOFF_MIN
            .saturating_mul(1u32 << self.failures.min(7))
            .min(BACKOFF_MAX);
        self.failures = self.failures.saturating_add(1);
        (wait, first)
    }

    /// Records a success; returns the failures of the episode it ended, if there was one.
    pub(super) fn succeeded(&mut self) -> Option<u32> {
        let failures = std::mem::take(&mut self.failures);
        (failures > 0).then_some(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(max_wrong: u32, cooldown: Duration, budget: u32) -> AddressGuard {
        AddressGuard::new(&RelayConfig {
            wrong_codes_per_address: max_wrong,
            code_cooldown: cooldown,
            wrong_code_budget: budget,
            ..RelayConfig::default()
        })
    }

    /// Wrong join code number `n` from `ip`.
    fn wrong(guard: &AddressGuard, ip: IpAddr, n: u32, now: Instant) -> WrongCode {
        guard.wrong_code(ip, Guess::JoinCode(Some(&format!("{n:04}"))), now)
    }

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
    fn ipv6_addresses_count_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(address_key(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn wrong_codes_from_one_64_share_a_cool_down() {
        let guard = guard(MAX_WRONG_CODES, Duration::from_secs(30), 0);
        let t0 = Instant::now();
        for i in 0..MAX_WRONG_CODES {
            // Each guess from a different address of the same /64.
            let ip: IpAddr = format!("2001:db8::{:x}", i + 1).parse().unwrap();
            wrong(&guard, ip, i, t0);
        }
        assert!(guard.blocked("2001:db8::ffff".parse().unwrap(), t0));
        assert!(!guard.blocked("2001:db8:0:1::1".parse().unwrap(), t0));
    }

    #[test]
    fn wrong_codes_cool_down_then_expire() {
        let cooldown = Duration::from_secs(30);
        let guard = guard(MAX_WRONG_CODES, cooldown, 0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_WRONG_CODES - 1 {
            assert_eq!(wrong(&guard, ip, i, t0), WrongCode::Counted);
        }
        assert!(!guard.blocked(ip, t0));
        assert_eq!(wrong(&guard, ip, 99, t0), WrongCode::CoolDown);
        assert!(guard.blocked(ip, t0 + cooldown / 2));
        assert!(!guard.blocked(ip, t0 + cooldown));
    }

    #[test]
    fn a_right_code_starts_the_count_again() {
        let guard = guard(MAX_WRONG_CODES, Duration::from_secs(30), 0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_WRONG_CODES - 1 {
            wrong(&guard, ip, i, t0);
        }
        guard.right_code(ip, t0);
        for i in 10..10 + MAX_WRONG_CODES - 1 {
            wrong(&guard, ip, i, t0);
        }
        assert!(!guard.blocked(ip, t0), "typos on both sides of a success");
    }

    #[test]
    fn the_same_wrong_code_again_counts_once() {
        let guard = guard(MAX_WRONG_CODES, Duration::from_secs(30), 3);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert_eq!(wrong(&guard, ip, 1, t0), WrongCode::Counted);
        for _ in 0..100 {
            assert_eq!(wrong(&guard, ip, 1, t0), WrongCode::Repeated);
        }
        let none = Guess::JoinCode(None);
        assert_eq!(guard.wrong_code(ip, none, t0), WrongCode::Counted);
        assert_eq!(guard.wrong_code(ip, none, t0), WrongCode::Repeated);
        assert!(!guard.blocked(ip, t0));
        // Repeats spent nothing of the relay-wide budget (3): the third distinct code is
        // still within it, and other addresses repeat the same code as a guess of their own.
        assert_eq!(wrong(&guard, ip, 2, t0), WrongCode::Counted);
        assert_eq!(
            wrong(&guard, "10.0.0.2".parse().unwrap(), 1, t0),
            WrongCode::OverBudget { first: true }
        );
        // After the window the same code is a guess again.
        assert_eq!(wrong(&guard, ip, 1, t0 + GUESS_WINDOW), WrongCode::Counted);
    }

    #[test]
    fn distinct_wrong_codes_still_cool_down_among_repeats() {
        let guard = guard(MAX_WRONG_CODES, Duration::from_secs(30), 0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_WRONG_CODES - 1 {
            wrong(&guard, ip, i, t0);
            wrong(&guard, ip, i, t0);
        }
        assert!(!guard.blocked(ip, t0));
        assert_eq!(wrong(&guard, ip, 99, t0), WrongCode::CoolDown);
        assert!(guard.blocked(ip, t0));
    }

    #[test]
    fn the_relay_wide_budget_counts_every_address() {
        let guard = guard(MAX_WRONG_CODES, Duration::from_secs(30), 3);
        let t0 = Instant::now();
        let ip = |i: u8| IpAddr::from([10, 0, 0, i]);
        for i in 1..=3 {
            assert_eq!(wrong(&guard, ip(i), 0, t0), WrongCode::Counted);
        }
        assert_eq!(
            wrong(&guard, ip(4), 0, t0),
            WrongCode::OverBudget { first: true }
        );
        assert_eq!(
            wrong(&guard, ip(5), 0, t0),
            WrongCode::OverBudget { first: false }
        );
        // A new minute, a new budget.
        assert_eq!(
            wrong(&guard, ip(6), 0, t0 + GUESS_WINDOW),
            WrongCode::Counted
        );
    }

    #[test]
    fn prune_forgets_what_is_over() {
        let cooldown = Duration::from_secs(30);
        let guard = guard(2, cooldown, 0);
        let t0 = Instant::now();
        let blocked: IpAddr = "10.0.0.1".parse().unwrap();
        wrong(&guard, blocked, 1, t0);
        wrong(&guard, blocked, 2, t0);
        wrong(&guard, "10.0.0.2".parse().unwrap(), 1, t0);
        guard.prune(t0 + Duration::from_secs(1));
        assert_eq!(guard.tracked(), 2);
        guard.prune(t0 + GUESS_WINDOW);
        assert_eq!(guard.tracked(), 0);
    }

    #[test]
    fn log_throttle_logs_once_per_interval_and_counts_the_rest() {
        let throttle = LogThrottle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(throttle.note("a", t0));
        for _ in 0..1000 {
            assert!(!throttle.note("a", t0));
        }
        assert!(throttle.note("b", t0), "other keys have their own line");
        assert!(throttle.flush(t0 + Duration::from_secs(1)).is_empty());
        assert_eq!(
            throttle.flush(t0 + Duration::from_secs(10)),
            vec![("a".to_owned(), 1000)]
        );
        assert!(throttle.note("a", t0 + Duration::from_secs(11)));
    }

    #[test]
    fn backoff_doubles_to_a_second_and_resets() {
        let mut backoff = Backoff::default();
        assert_eq!(backoff.failed(), (BACKOFF_MIN, true));
        assert_eq!(backoff.failed(), (BACKOFF_MIN * 2, false));
        let mut last = Duration::ZERO;
        for _ in 0..20 {
            last = backoff.failed().0;
        }
        assert_eq!(last, BACKOFF_MAX);
        assert_eq!(backoff.succeeded(), Some(22));
        assert_eq!(backoff.succeeded(), None);
        assert_eq!(backoff.failed(), (BACKOFF_MIN, true));
    }
}
