/*
 * wake.pml -- the sleep/wake protocol between producers and the loop, with a graceful shutdown
 * (core/src/driver/mod.rs: drive_entered, tick, begin_sleep, sleep, finish;
 *  core/src/driver/handle.rs: admit, wake_after_publish, unpark_once, terminate;
 *  core/src/state.rs: the state word; proofs/wake.md W1-W2, labels W1.x / W2.x / T3-T6 are its).
 *
 * Configuration: the loop, NPROD = 2 producers submitting one task each, one terminator that
 * calls `shutdown` either at any moment (racing the submissions and the loop's sleep decisions)
 * or only once both tasks have run (so a lost wake-up cannot be rescued by the termination's own
 * wake-up: it leaves every process blocked). Tasks run nothing; the loop arms no timer, so every
 * park is untimed.
 *
 * Abstractions: the task ring is abstracted to what the wake protocol reads of it: a claim
 * (refused once the ring is closed: `tail`'s CLAIM/CLOSED word), a separate publish (PR9), a
 * consumer `head`; `is_ready` = the head slot is published (IR2), `try_pop` = value / Pending
 * (claimed, unpublished) / Closed / Empty. The overflow path (IR3: `spilled`) is not modelled here:
 * it plays the same role as the publish (ring.md §7; the ring itself is ring_spill.pml). The
 * bounded spin before sleeping (W2.0) only returns early and is omitted, as in the loom models.
 * `run_until_idle` and `close` are not modelled (loom: driver_b, driver_c). The Parker is a
 * token: unpark sets it, park waits for it and consumes it; in the liveness run park may also
 * return spuriously (std's park may).
 *
 * Memory model: SPIN interleaves the steps in one global order (sequential consistency). The
 * SeqCst fences F_p (W1.2) and F_j (W2.3) are therefore no-ops here: every execution SPIN explores
 * already satisfies what Lemma D derives from them. The defects that remove a fence
 * (wake-producer-no-fence, wake-loop-no-fence) cannot even be written here: they lose a wake-up
 * only through a store-buffering reordering, which no SC interleaving has -- loom's part
 * (wake.md §7). Moving the token's clear after the CAS (wake-clear-after-publish) loses a
 * *producer's* wake-up only by store buffering too, but it also lets the clear erase a
 * terminator's T5, and that is an SC interleaving: DEFECT_CLEAR_AFTER_PUBLISH below.
 *
 * Safety (assertions + invalid end states): each accepted task runs exactly once, a refused one
 * never; producer unparks <= sleeps (W2); every CAS finds an expected state (Running/Sleeping
 * change only by CAS, Terminated only from Terminating); the loop never stays parked while every
 * other process has ended (a lost wake-up is an invalid end state).
 * Liveness (weak fairness): `terminates`: the loop reaches Terminated; `tasks_run`: every
 * accepted task eventually runs.
 *
 * Seeded defects: DEFECT_NO_RECHECK (no R_j: park right after publishing Sleeping),
 * DEFECT_NO_DEDUP (every producer that sees Sleeping unparks), DEFECT_PLAIN_STORE_SLEEPING (the
 * Go original's plain store of Sleeping), DEFECT_TERMINATE_NO_WAKE (a terminator that wins from
 * Sleeping does not wake the loop), DEFECT_CLEAR_AFTER_PUBLISH (W2.1 after W2.2).
 */

#define NPROD 2

/* LoopState, stable numbering (state.rs) */
#define AWAKE       0
#define TERMINATED  1
#define SLEEPING    2
#define RUNNING     4
#define TERMINATING 5

#define P_VAL     1
#define P_EMPTY   2
#define P_PENDING 3
#define P_CLOSED  4

byte state = AWAKE;
bool wake_pending = false;
bool token = false;                 /* the Parker's token */
byte sleeps = 0, unparks = 0;       /* LoopStats: counted at the clear / at a winning swap */

/* the task ring, abstracted */
byte rtail = 0;
bool rclosed = false;
bool published[NPROD];
byte owner[NPROD];                  /* which producer's task has ring index i */

/* ghosts */
bool accepted[NPROD];
bool refused[NPROD];
byte ran[NPROD];
byte ran_total = 0;
bool parked = false;                /* the loop is inside park() */
byte ended = 0;                     /* processes that reached their end */

inline run_task(i) {
    d_step {
        assert(accepted[owner[i]] && ran[owner[i]] == 0);         /* exactly once */
        ran[owner[i]]++; ran_total++
    }
}

/* Consumer::try_pop on the abstract ring */
inline try_pop(r) {
    if
    :: head < rtail && published[head] -> run_task(head); head++; r = P_VAL
    :: else ->
        if
        :: atomic { rtail != head -> r = P_PENDING }
        :: atomic { rtail == head && rclosed -> r = P_CLOSED }
        :: atomic { rtail == head && !rclosed -> r = P_EMPTY }
        fi
    fi
}

proctype Loop() {
    byte head = 0, r, tickran;
    bool ok;

    /* enter (mod.rs:486): Awake -> Running; lost to Terminating: finish */
    atomic {
        if
        :: state == AWAKE -> state = RUNNING
        :: state == TERMINATING -> skip
        :: else -> assert(false)
        fi
    };
drive:                                                            /* drive_entered (mod.rs:462) */
    do
    :: state == TERMINATING -> break                              /* D1 */
    :: else ->
        /* tick (mod.rs:509): tasks, each followed by a check for Terminating */
        tickran = 0;
        do
        :: try_pop(r);
           if
           :: r == P_VAL ->
               tickran++;
               if
               :: state == TERMINATING -> break
               :: else -> skip
               fi
           :: else -> break
           fi
        od;
        if
        :: tickran > 0 -> goto drive
        :: else -> skip
        fi;
        if                                                        /* has_ready_work, no fence */
        :: head < rtail && published[head] -> goto drive
        :: else -> skip
        fi;
        /* sleep(None) (mod.rs:600); begin_sleep (mod.rs:571) */
#ifndef DEFECT_CLEAR_AFTER_PUBLISH
        d_step { wake_pending = false; sleeps++ };                /* W2.1: clear_j (swap), count */
#endif
#ifdef DEFECT_PLAIN_STORE_SLEEPING
        state = SLEEPING; ok = true;                              /* the Go original's Store */
#else
        atomic {                                                  /* W2.2: C_j, CAS Running -> Sleeping */
            if
            :: state == RUNNING -> state = SLEEPING; ok = true
            :: state == TERMINATING -> ok = false
            :: else -> assert(false)
            fi
        };
#endif
#ifdef DEFECT_CLEAR_AFTER_PUBLISH
        d_step { wake_pending = false; sleeps++ };                /* the clear after C_j */
#endif
        if
        :: !ok -> goto drive                                      /* lost to Terminating */
        :: else -> skip
        fi;
        /* W2.3: fence(SeqCst) -- a no-op under SC */
#ifdef DEFECT_NO_RECHECK
        if
        :: true ->
#else
        if
        :: head < rtail && published[head] -> skip                /* W2.4: R_j finds work */
        :: else ->
#endif
            do                                                    /* W2.5 */
            :: wake_pending -> break
            :: else ->
                parked = true;
#ifdef LIVE
                if
                :: atomic { token -> token = false }              /* park: consume the token */
                :: true -> skip                                   /* a spurious return */
                fi;
#else
                atomic { token -> token = false };                /* park: consume the token */
#endif
                parked = false
            od
        fi;
        atomic {                                                  /* W2.6: CAS Sleeping -> Running */
            if
            :: state == SLEEPING -> state = RUNNING
            :: state == TERMINATING -> skip
            :: else -> assert(false)
            fi
        }
    od;
    /* finish (mod.rs:671): drain until the ring reports Closed (Pending: yield and retry) */
    do
    :: try_pop(r);
       if
       :: r == P_CLOSED -> break
       :: else -> skip
       fi
    od;
    atomic { assert(state == TERMINATING); state = TERMINATED }   /* the one cleanup */
    ended++
}

proctype Producer(byte p) {
    byte idx, s;
    bool acc, old;
    /* admit (handle.rs:192): ring.push, then wake_after_publish */
    atomic {                                                      /* the claim (PR7), or refused */
        if
        :: rclosed -> acc = false; refused[p] = true
        :: else -> idx = rtail; owner[idx] = p; rtail++; acc = true; accepted[p] = true
        fi
    };
    if
    :: acc ->
        published[idx] = true;                                    /* W1.1: the publish (PR9) */
        /* W1.2: fence(SeqCst) -- a no-op under SC */
        s = state;                                                /* W1.3: L_p */
        if
        :: s == SLEEPING ->                                       /* W1.4: unpark_once */
#ifdef DEFECT_NO_DEDUP
            d_step { wake_pending = true; unparks++ };
            token = true
#else
            d_step { old = wake_pending; wake_pending = true; if :: !old -> unparks++ :: else fi };
            if
            :: !old -> token = true                               /* parker.unpark() */
            :: else -> skip
            fi
#endif
        :: else -> skip
        fi;
        assert(unparks <= sleeps)                                 /* W2 */
    :: else -> skip
    fi;
    ended++
}

proctype Terminator() {
    byte cur;
    bool won = false;
    if
    :: true -> skip                                               /* race everything */
    :: true -> (ran_total == NPROD)                               /* shut down after both tasks ran */
    fi;
    /* terminate(false) (handle.rs:221) */
    rclosed = true;                                               /* close the rings first */
    cur = state;                                                  /* begin_termination (state.rs:201) */
    do
    :: cur == TERMINATING || cur == TERMINATED -> break
    :: else ->
        atomic {                                                  /* T3: CAS cur -> Terminating */
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
    assert(won);                                                  /* the only terminator wins */
#ifndef DEFECT_TERMINATE_NO_WAKE
    if
    :: cur == SLEEPING ->
        wake_pending = true;                                      /* T5 */
        token = true                                              /* T6: unconditional unpark */
    :: else -> skip
    fi;
#endif
    ended++
}

/* the final check, once every other process has ended */
proctype Final() {
    byte i;
    (ended == NPROD + 2);
    d_step {
        i = 0;
        do
        :: i < NPROD ->
            assert(accepted[i] != refused[i]);
            assert(ran[i] == (accepted[i] -> 1 : 0));             /* accepted ran once, refused never */
            i++
        :: else -> break
        od;
        assert(unparks <= sleeps)
    }
}

init {
    byte i;
    atomic {
        run Loop();
        i = 0;
        do
        :: i < NPROD -> run Producer(i); i++
        :: else -> break
        od;
        run Terminator();
        run Final()
    }
}

#ifdef LIVE
ltl terminates { <> (state == TERMINATED) }
ltl tasks_run  { [] ((accepted[0] -> <> (ran[0] == 1)) && (accepted[1] -> <> (ran[1] == 1))) }
#endif
