/*
 * timer_clear.pml -- a clear from another thread racing the timer's firing, with shutdown
 * (core/src/driver/timers.rs: Handle::clear_timer, ClearSlot/ClearReply/ClearTicket,
 *  Cx::apply_timer_request, clear_now, cancelled, run_timers, fire, drop_all_timers;
 *  core/src/driver/mod.rs: drive_entered, checkpoint, pop_remote_microtask, sleep, finish;
 *  proofs/timer.md T4, T7 (labels HC*, AP*, TP*, FI*, FN* are its), wake.md W1).
 *
 * Configuration: like the loom model timers_a_foreign_clear_races_firing. A timeout with zero
 * delay is armed before `run` (on a frozen clock it is due as soon as the loop looks). A clearer
 * thread sends a clear of it through the remote microtask ring and waits on its ticket. A stopper
 * thread calls `shutdown`, either at any moment (racing the clear and the firing) or once the
 * clear was answered (as in timers_a); after the shutdown returned, the clearer sends a second
 * clear of the same ID. The loop runs `run()` with no spin; with no timer armed it parks untimed.
 * With -DINTERVAL the timer is an interval instead (re-armed after each firing, behind the pass
 * mark; a clear while it fires answers Cancelled and its callback is dropped when the run ends).
 *
 * Abstractions: the remote microtask ring as in wake.pml (claim / publish / close; its FIFO and
 * close contract are ring_spill.pml's); the timer pool reduced to the one timer's status
 * (Armed, Firing, Fired, Cancelled, Dropped: pool.cancel gives Cancelled for Armed, Firing while it
 * fires, NotFound after); time not modelled (a due timer is fired by the next pass, the loop never
 * sleeps while it is armed); `close` (discard) not modelled; no loop-thread `Cx::clear_timer`.
 * ClearSlot's mutex and condvar: setting the answer is one atomic step that keeps the first
 * answer; `wait` blocks until an answer is set.
 *
 * Memory model: SC interleavings only (see wake.pml); the answer travels through the ClearSlot
 * mutex, the request through the ring (Release/Acquire), both modelled as plain SC steps.
 *
 * Safety: the clearer's answer is exactly one of Cancelled (the callback never ran, never runs
 * afterwards, and was dropped before the answer was visible), NotPending (the callback ran:
 * it was taken before the clear was decided), or Terminated (termination began: the rings were
 * closed; if the loop decided it, the callback never starts afterwards); fired + cancelled +
 * dropped = 1 and the callback is dropped exactly once; a clear sent after `shutdown` returned
 * answers Terminated; no process is left blocked (a lost wake-up, a clear never answered).
 * INTERVAL: Cancelled or Terminated, never NotPending; no firing starts after Cancelled; the
 * callback is dropped once, at the clear or when the current run ends; cancelled + dropped = 1.
 *
 * Finding 19 (timer.md §12, found with this model, fixed): a Terminated answer given to a clear
 * *refused at admission* (its push found the ring closed: `Shared::terminate` closes the rings
 * before its state CAS) did not stop the loop: a pass whose TP4 check came after that answer
 * still read Running and fired the timer. The model asserts in every run that no take is decided
 * after a Terminated answer; TP4 now also stops once the microtask ring is closed, as the code
 * does. -DDEFECT_PASS_IGNORES_CLOSED restores the old TP4, and SPIN finds the 40-step trail.
 * Liveness (weak fairness): `answered`: the loop terminates and both clears are answered.
 *
 * Seeded defects: DEFECT_ANSWER_EARLY (timer-clear-answers-early: the ticket says Cancelled as
 * soon as the request is pushed), DEFECT_CANCEL_UNCHECKED (the loop answers Cancelled without
 * checking whether the timer fired or is firing), DEFECT_PASS_IGNORES_TERMINATION (the pass takes
 * a due timer after termination began: TP4 without its termination checks), DEFECT_PASS_IGNORES_CLOSED
 * (finding 19: TP4 without its closed-ring check).
 */

/* LoopState */
#define AWAKE       0
#define TERMINATED  1
#define SLEEPING    2
#define RUNNING     4
#define TERMINATING 5
#define accepting(s) ((s) == AWAKE || (s) == RUNNING || (s) == SLEEPING)

/* the timer's status in the pool */
#define ARMED     1
#define FIRING    2
#define FIRED     3
#define CANCELLED 4
#define DROPPED   5

/* ClearOutcome; NONE = not answered yet */
#define NONE        0
#define A_CANCELLED 1
#define A_NOTPEND   2
#define A_TERM      3

#define P_VAL     1
#define P_EMPTY   2
#define P_PENDING 3
#define P_CLOSED  4

#define NCLEAR 2

byte state = AWAKE;
bool wake_pending = false;
bool token = false;
byte sleeps = 0, unparks = 0;

/* the remote microtask ring, abstracted; its items here are clear requests */
byte rtail = 0;
bool rclosed = false;
bool published[NCLEAR];
byte reqof[NCLEAR];                 /* which clear has ring index i */

/* the pool: one timer (a timeout, or with -DINTERVAL an interval), armed before run */
byte tstatus = ARMED;
bool cancel_while_firing = false;   /* Place::Firing { cancelled } */
bool rearmed = false;               /* re-armed in this pass: after the pass mark, not taken again */
/* each clear's ClearSlot */
byte answer[NCLEAR];

/* ghosts: LoopStats and the callback's ledger */
byte fired = 0, cancelled = 0, dropped = 0;
byte ran = 0;                       /* the callback started */
byte cb_drops = 0;                  /* the callback was dropped (or consumed by its run) */
bool clearer_answered = false, stopped = false;
bool refusal_answer[NCLEAR];        /* the answer came from a request refused at admission */
bool term_seen = false;             /* a Terminated answer was visible at the pass's last TP4 check */
byte ended = 0;

/* ClearSlot::set (timers.rs:154): the first answer wins */
inline set_answer(q, a) {
    atomic {
        if
        :: answer[q] == NONE -> answer[q] = a
        :: else -> skip
        fi
    }
}

/* Cx::apply_timer_request for a Clear (timers.rs:395-401): AP1, AP3 -> clear_now -> cancelled */
inline apply(q) {
    s = state;                                                    /* AP1 */
    if
    :: accepting(s) ->
        d_step {                                                  /* pool.cancel; drop_callback */
            if
#ifdef DEFECT_CANCEL_UNCHECKED
            :: true ->
                if
                :: tstatus == ARMED -> tstatus = CANCELLED; cancelled++; cb_drops++
                :: else -> skip
                fi;
                a = A_CANCELLED
#else
            :: tstatus == ARMED ->
                tstatus = CANCELLED; cancelled++; cb_drops++;     /* dropped before the answer */
                a = A_CANCELLED
            :: tstatus == FIRING && !cancel_while_firing ->       /* Cancel::Firing; the ID goes */
                cancel_while_firing = true;
#ifdef INTERVAL
                cancelled++; a = A_CANCELLED                      /* firing_interval: it stops */
#else
                a = A_NOTPEND                                     /* a timeout that is firing */
#endif
            :: else -> a = A_NOTPEND                              /* NotFound */
#endif
            fi
        }
    :: else -> a = A_TERM
    fi;
    set_answer(q, a)                                              /* ClearReply::send */
}

/* Cx::checkpoint (mod.rs:188) with pop_remote_microtask: apply every ready request */
inline checkpoint() {
    do
    :: if
       :: head < rtail && published[head] -> item = reqof[head]; head++
       :: else -> break                                           /* Empty, Pending or Closed */
       fi;
       apply(item)
    od;
    skip                                                          /* (break lands here) */
}

proctype Loop() {
    byte head = 0, item, s, a, rantick;
    bool ok;

    atomic {                                                      /* enter */
        if
        :: state == AWAKE -> state = RUNNING
        :: state == TERMINATING -> skip
        :: else -> assert(false)
        fi
    };
drive:
    do
    :: state == TERMINATING -> break                              /* D1 */
    :: else ->
        rantick = 0;
        checkpoint();                                             /* TP1 */
        rearmed = false;                                          /* TP3: the pass mark */
        do                                                        /* TP4-TP6 */
        :: tstatus != ARMED || rearmed -> break                   /* nothing due before the mark */
        :: else ->
            atomic {                                              /* TP4: termination stops the pass */
                if
#ifndef DEFECT_PASS_IGNORES_TERMINATION
                :: state == TERMINATING -> break
#ifndef DEFECT_PASS_IGNORES_CLOSED
                :: rclosed -> break                               /* admission closed: TR2 came */
#endif
#endif
                :: else -> term_seen = (answer[0] == A_TERM)
                fi
            };
            tstatus = FIRING;                                     /* TP5: take_due_before */
            d_step {                                              /* FI3: the callback runs */
                assert(answer[0] != A_CANCELLED);                 /* never after Cancelled */
                assert(answer[0] != A_TERM || refusal_answer[0]); /* never after the loop's Terminated */
                assert(!term_seen);                               /* nor in a take decided after a
                                                                     refusal's Terminated */
#ifdef INTERVAL
                ran = (ran < 2 -> ran + 1 : 2); fired = (fired < 2 -> fired + 1 : 2)
#else
                ran++; cb_drops++; fired++                        /* a timeout's FnOnce is consumed */
#endif
            };
            checkpoint();                                         /* FI5 */
            d_step {                                              /* FI8: finish */
#ifdef INTERVAL
                if
                :: cancel_while_firing -> tstatus = CANCELLED; cb_drops++   /* handed back, dropped */
                :: else -> tstatus = ARMED; rearmed = true        /* re-armed behind the mark */
                fi
#else
                tstatus = FIRED
#endif
            };
            rantick++
        od;
        checkpoint();                                             /* K3: the tick's last checkpoint */
        if
        :: rantick > 0 -> goto drive                              /* D2 */
        :: else -> skip
        fi;
        if
        :: head < rtail && published[head] -> goto drive          /* has_ready_work */
        :: else -> skip
        fi;
        if
        :: tstatus == ARMED -> goto drive                         /* D3-D4: due now */
        :: else -> skip
        fi;
        /* sleep(None): as wake.pml */
        d_step { wake_pending = false; sleeps++ };                /* W2.1 */
        atomic {                                                  /* W2.2 */
            if
            :: state == RUNNING -> state = SLEEPING; ok = true
            :: state == TERMINATING -> ok = false
            :: else -> assert(false)
            fi
        };
        if
        :: !ok -> goto drive
        :: else -> skip
        fi;
        if
        :: head < rtail && published[head] -> skip                /* W2.4: R_j */
        :: else ->
            do                                                    /* W2.5 */
            :: wake_pending -> break
            :: else ->
#ifdef LIVE
                if
                :: atomic { token -> token = false }
                :: true -> skip                                   /* spurious return */
                fi
#else
                atomic { token -> token = false }
#endif
            od
        fi;
        atomic {                                                  /* W2.6 */
            if
            :: state == SLEEPING -> state = RUNNING
            :: state == TERMINATING -> skip
            :: else -> assert(false)
            fi
        }
    od;
    /* finish (mod.rs:671) */
finish:
    skip;
    d_step {                                                      /* FN2: drop_all_timers */
        if
        :: tstatus == ARMED -> tstatus = DROPPED; dropped++; cb_drops++
        :: else -> skip
        fi
    };
    do                                                            /* FN3: drain until Closed */
    :: if
       :: head < rtail && published[head] -> item = reqof[head]; head++; apply(item)
       :: atomic { head == rtail && rclosed } -> break            /* Closed */
       :: else -> skip                                            /* Pending: yield */
       fi
    od;
    atomic { assert(state == TERMINATING); state = TERMINATED };  /* FN4 */
    ended++
}

/* Handle::clear_timer (timers.rs:567): push the request, wake the loop; refused -> Terminated */
inline send_clear(q) {
    atomic {
        if
        :: rclosed -> acc = false
        :: else -> idx = rtail; reqof[idx] = q; rtail++; acc = true
        fi
    };
    if
    :: acc ->
        published[idx] = true;                                    /* W1.1 */
        s = state;                                                /* W1.3 (fence W1.2: SC) */
        if
        :: s == SLEEPING ->
            d_step { old = wake_pending; wake_pending = true; if :: !old -> unparks++ :: else fi };
            if
            :: !old -> token = true
            :: else -> skip
            fi
        :: else -> skip
        fi
    :: else ->                                                    /* refused: ClearReply::drop */
        atomic {
            if
            :: answer[q] == NONE -> answer[q] = A_TERM; refusal_answer[q] = true
            :: else -> skip
            fi
        }
    fi
}

proctype Clearer() {
    byte idx, s, a;
    bool acc, old;
    send_clear(0);
#ifdef DEFECT_ANSWER_EARLY
    set_answer(0, A_CANCELLED);                                   /* answered before the loop decided */
#endif
    (answer[0] != NONE);                                          /* ClearTicket::wait (HC2) */
    a = answer[0];
    if
#ifdef INTERVAL
    :: a == A_CANCELLED -> assert(cb_drops == 1 || tstatus == FIRING)   /* dropped, or when this run ends */
    :: a == A_NOTPEND -> assert(false)                            /* a live interval is always found */
#else
    :: a == A_CANCELLED -> assert(ran == 0 && cb_drops == 1)      /* never ran; already dropped */
    :: a == A_NOTPEND -> assert(ran == 1)                         /* it fired (it was taken) */
#endif
    :: a == A_TERM -> assert(rclosed)                             /* termination had begun */
    fi;
    clearer_answered = true;
    (stopped);                                                    /* after `shutdown` returned */
    send_clear(1);
    (answer[1] != NONE);
    assert(answer[1] == A_TERM);                                  /* T7 */
    ended++
}

proctype Stopper() {
    byte cur;
    bool won = false;
    if
    :: true -> skip                                               /* race the clear and the firing */
    :: true -> (clearer_answered)                                 /* as timers_a: after the answer */
    fi;
    rclosed = true;                                               /* terminate: close the rings */
    cur = state;
    do
    :: cur == TERMINATING || cur == TERMINATED -> break
    :: else ->
        atomic {
            if
            :: state == cur -> state = TERMINATING; won = true
            :: else -> cur = state
            fi
        };
        if
        :: won -> break
        :: else -> skip
        fi
    od;
    assert(won);
    if
    :: cur == SLEEPING -> wake_pending = true; token = true       /* T5-T6 */
    :: else -> skip
    fi;
    stopped = true;
    ended++
}

proctype Final() {
    (ended == 3);
    d_step {
        assert(state == TERMINATED);
        assert(cb_drops == 1);                                    /* dropped exactly once */
        assert(ran == fired);
#ifdef INTERVAL
        assert(cancelled + dropped == 1);                         /* ends once: cleared or dropped */
        assert(answer[0] != A_CANCELLED || cancelled == 1);
#else
        assert(fired + cancelled + dropped == 1);                 /* exactly one fate */
        assert(answer[0] != A_CANCELLED || (cancelled == 1 && ran == 0));
        assert(answer[0] != A_NOTPEND || fired == 1);
#endif
        assert(answer[0] != A_TERM || cancelled == 0);
        assert(answer[1] == A_TERM);
        assert(unparks <= sleeps)
    }
}

init {
    atomic {
        run Loop();
        run Clearer();
        run Stopper();
        run Final()
    }
}

#ifdef LIVE
ltl answered { <> (state == TERMINATED && answer[0] != NONE && answer[1] != NONE) }
#endif
