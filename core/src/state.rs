//! The loop state machine: one atomic word whose every change follows one transition table.
//!
//! # Ground rules
//!
//! - The numbering is stable and part of the contract (it matches the Go original, whose tests
//!   and serialized states pin it): Awake = 0, Terminated = 1, Sleeping = 2, Running = 4,
//!   Terminating = 5.
//! - There is no plain store. Every change is a compare-and-swap through [`StateCell::transition`]
//!   (or the two helpers built on it), checked against [`LoopState::may_transition`] first, so:
//!   Running and Sleeping change only by CAS (a plain store of Sleeping can never overwrite
//!   Terminating); identity transitions are rejected (two concurrent `close`/`shutdown` calls
//!   cannot both win Terminating, so only one runs cleanup); Terminated is absorbing.
//! - Who may take which edge: the loop thread takes Awake → Running, Running ⇄ Sleeping and
//!   Terminating → Terminated; any thread may take {Awake, Running, Sleeping} → Terminating.
//!
//! The transition table, as code ([`LoopState::may_transition`]) and as the table in
//! `proofs/state.md`:
//!
//! | from \ to | Awake | Terminated | Sleeping | Running | Terminating |
//! |---|---|---|---|---|---|
//! | Awake | – | – | – | run starts | shutdown/close before run |
//! | Terminated | – | – | – | – | – |
//! | Sleeping | – | – | – | woken | shutdown/close while asleep |
//! | Running | – | – | sleep decision | – | shutdown/close while running |
//! | Terminating | – | cleanup done | – | – | – |

use core::fmt;

use crate::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// The lifecycle state of an event loop. The discriminants are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LoopState {
    /// Created, not yet running; accepts work.
    Awake = 0,
    /// Finished: no work is accepted or run. Absorbing.
    Terminated = 1,
    /// Parked, waiting for work or the next timer deadline; accepts work.
    Sleeping = 2,
    /// Running a tick; accepts work.
    Running = 4,
    /// Shutting down (draining, or discarding after `close`); new work is refused.
    Terminating = 5,
}

impl LoopState {
    /// Every state, in discriminant order.
    pub const ALL: [LoopState; 5] = [
        LoopState::Awake,
        LoopState::Terminated,
        LoopState::Sleeping,
        LoopState::Running,
        LoopState::Terminating,
    ];

    /// The state with this stable value, if any.
    pub const fn from_value(value: u8) -> Option<LoopState> {
        match value {
            0 => Some(LoopState::Awake),
            1 => Some(LoopState::Terminated),
            2 => Some(LoopState::Sleeping),
            4 => Some(LoopState::Running),
            5 => Some(LoopState::Terminating),
            _ => None,
        }
    }

    /// The stable value of this state.
    pub const fn value(self) -> u8 {
        self as u8
    }

    /// The transition table: whether `self → to` is an edge. Identity is never an edge.
    pub const fn may_transition(self, to: LoopState) -> bool {
        use LoopState::*;
        matches!(
            (self, to),
            (Awake, Running)
                | (Awake, Terminating)
                | (Running, Sleeping)
                | (Running, Terminating)
                | (Sleeping, Running)
                | (Sleeping, Terminating)
                | (Terminating, Terminated)
        )
    }

    /// Whether new work is admitted in this state (Awake, Running, Sleeping).
    pub const fn accepts_work(self) -> bool {
        matches!(
            self,
            LoopState::Awake | LoopState::Running | LoopState::Sleeping
        )
    }

    /// Whether the loop has begun or finished terminating.
    pub const fn is_terminal(self) -> bool {
        matches!(self, LoopState::Terminating | LoopState::Terminated)
    }

    /// The state's name.
    pub const fn name(self) -> &'static str {
        match self {
            LoopState::Awake => "Awake",
            LoopState::Terminated => "Terminated",
            LoopState::Sleeping => "Sleeping",
            LoopState::Running => "Running",
            LoopState::Terminating => "Terminating",
        }
    }
}

impl fmt::Display for LoopState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of [`StateCell::transition`].
#[must_use = "a transition can lose a race or be forbidden; the caller must act on which"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The cell held `from` and now holds `to`.
    Done,
    /// The edge is allowed but the cell did not hold `from`: it held `actual`, which is left.
    Lost {
        /// The state the cell held instead.
        actual: LoopState,
    },
    /// `from → to` is not an edge of the table (identity included); nothing was attempted.
    Forbidden,
}

impl Transition {
    /// Whether the transition happened.
    pub const fn is_done(self) -> bool {
        matches!(self, Transition::Done)
    }
}

/// The outcome of [`StateCell::begin_termination`].
#[must_use = "exactly one caller wins termination and must see to cleanup"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginTermination {
    /// This call moved the loop from `from` to Terminating: it owns starting the cleanup.
    Won {
        /// The state before (Awake, Running or Sleeping).
        from: LoopState,
    },
    /// Another call already did (the state is Terminating or Terminated).
    AlreadyTerminal(LoopState),
}

/// The atomic state word. No plain store is exposed.
pub struct StateCell {
    word: AtomicUsize,
}

impl StateCell {
    /// A cell in the Awake state.
    pub fn new() -> Self {
        Self {
            word: AtomicUsize::new(LoopState::Awake as usize),
        }
    }

    /// The current state.
    ///
    /// SeqCst: the wake protocol's producers read the state after publishing work and a SeqCst
    /// fence; see `proofs/wake.md`. (Other callers could use Acquire; one ordering keeps the
    /// protocol's argument local.)
    #[inline]
    pub fn load(&self) -> LoopState {
        decode(self.word.load(SeqCst))
    }

    /// Moves `from → to` if that is an edge of the table and the cell holds `from`.
    ///
    /// SeqCst: the Running → Sleeping CAS is the loop's "publish Sleeping" step of the wake
    /// protocol (it pairs with producers' SeqCst fence + load); the Terminating edges order the
    /// admission close before the drain. See the ordering table in `proofs/state.md`.
    #[inline]
    pub fn transition(&self, from: LoopState, to: LoopState) -> Transition {
        if !from.may_transition(to) {
            return Transition::Forbidden;
        }
        match self
            .word
            .compare_exchange(from as usize, to as usize, SeqCst, SeqCst)
        {
            Ok(_) => Transition::Done,
            Err(actual) => Transition::Lost {
                actual: decode(actual),
            },
        }
    }

    /// Moves any accepting state (Awake, Running, Sleeping) to Terminating. Exactly one call
    /// over the cell's lifetime returns [`BeginTermination::Won`].
    pub fn begin_termination(&self) -> BeginTermination {
        let mut current = self.load();
        loop {
            if current.is_terminal() {
                return BeginTermination::AlreadyTerminal(current);
            }
            match self.transition(current, LoopState::Terminating) {
                Transition::Done => return BeginTermination::Won { from: current },
                Transition::Lost { actual } => current = actual,
                Transition::Forbidden => {
                    unreachable!("every accepting state may move to Terminating")
                }
            }
        }
    }
}

impl Default for StateCell {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for StateCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StateCell").field(&self.load()).finish()
    }
}

#[inline]
fn decode(word: usize) -> LoopState {
    match LoopState::from_value(word as u8) {
        Some(state) if word <= u8::MAX as usize => state,
        _ => unreachable!("state word holds {word}, which no transition writes"),
    }
}

#[cfg(not(loom))]
static_assertions::assert_impl_all!(StateCell: Send, Sync);

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod tests {
    use super::*;
    use LoopState::*;

    /// The edges of the table, written out independently of `may_transition`.
    const EDGES: [(LoopState, LoopState); 7] = [
        (Awake, Running),
        (Awake, Terminating),
        (Running, Sleeping),
        (Running, Terminating),
        (Sleeping, Running),
        (Sleeping, Terminating),
        (Terminating, Terminated),
    ];

    /// A cell holding `state`, reached through allowed edges only.
    fn cell_in(state: LoopState) -> StateCell {
        let cell = StateCell::new();
        let path: &[LoopState] = match state {
            Awake => &[],
            Running => &[Running],
            Sleeping => &[Running, Sleeping],
            Terminating => &[Terminating],
            Terminated => &[Terminating, Terminated],
        };
        let mut at = Awake;
        for &next in path {
            assert_eq!(cell.transition(at, next), Transition::Done);
            at = next;
        }
        assert_eq!(cell.load(), state);
        cell
    }

    #[test]
    fn stable_numbering() {
        assert_eq!(
            [Awake, Terminated, Sleeping, Running, Terminating].map(LoopState::value),
            [0, 1, 2, 4, 5]
        );
        for s in LoopState::ALL {
            assert_eq!(LoopState::from_value(s.value()), Some(s));
        }
        for v in [3u8, 6, 7, 255] {
            assert_eq!(LoopState::from_value(v), None);
        }
    }

    /// One check per ordered pair (25): every allowed edge succeeds from its source state and
    /// every other pair is forbidden without touching the cell.
    #[test]
    fn every_edge_allowed_and_forbidden() {
        for from in LoopState::ALL {
            for to in LoopState::ALL {
                let allowed = EDGES.contains(&(from, to));
                assert_eq!(from.may_transition(to), allowed, "{from} -> {to}");
                let cell = cell_in(from);
                let result = cell.transition(from, to);
                if allowed {
                    assert_eq!(result, Transition::Done, "{from} -> {to}");
                    assert_eq!(cell.load(), to);
                } else {
                    assert_eq!(result, Transition::Forbidden, "{from} -> {to}");
                    assert_eq!(cell.load(), from, "a forbidden transition changed the cell");
                }
            }
        }
    }

    #[test]
    fn allowed_edge_from_the_wrong_state_loses() {
        for (from, to) in EDGES {
            for actual in LoopState::ALL.into_iter().filter(|&s| s != from) {
                let cell = cell_in(actual);
                assert_eq!(
                    cell.transition(from, to),
                    Transition::Lost { actual },
                    "{from} -> {to} while {actual}"
                );
                assert!(!Transition::Lost { actual }.is_done());
                assert_eq!(cell.load(), actual);
            }
        }
    }

    #[test]
    fn identity_is_rejected_and_terminated_is_absorbing() {
        for s in LoopState::ALL {
            assert_eq!(cell_in(s).transition(s, s), Transition::Forbidden);
            assert!(!Transition::Forbidden.is_done());
            assert!(!Terminated.may_transition(s));
        }
    }

    #[test]
    fn exactly_one_termination_winner() {
        for start in [Awake, Running, Sleeping] {
            let cell = cell_in(start);
            assert_eq!(
                cell.begin_termination(),
                BeginTermination::Won { from: start }
            );
            assert_eq!(
                cell.begin_termination(),
                BeginTermination::AlreadyTerminal(Terminating)
            );
            assert!(cell.transition(Terminating, Terminated).is_done());
            assert_eq!(
                cell.begin_termination(),
                BeginTermination::AlreadyTerminal(Terminated)
            );
        }
    }

    #[test]
    fn predicates_and_names() {
        assert_eq!(
            LoopState::ALL.map(LoopState::accepts_work),
            [true, false, true, true, false]
        );
        assert_eq!(
            LoopState::ALL.map(LoopState::is_terminal),
            [false, true, false, false, true]
        );
        assert_eq!(
            alloc::format!("{Sleeping} {:?}", cell_in(Running)),
            "Sleeping StateCell(Running)"
        );
    }
}
