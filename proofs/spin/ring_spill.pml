/*
 * ring_spill.pml -- the microtask ring's publish/consume protocol with overflow spill and close
 * (core/src/ring.rs; proofs/ring.md, claims R1-R4; labels PR*, PO*, C*, CR*, CT*, X* are ring.md's).
 *
 * Configuration: ring capacity CAP = 2, NPROD = 2 producers pushing NITEMS = 3 values each
 * (6 values for 2 slots: a full ring spills into the overflow, the ring has room again while the
 * overflow holds values, and a batch of two can sit in the stash while a later push of the same
 * producer lands in the ring -- R2 (iii), which needs at least five pushes), one consumer. The
 * consumer may, once, at any point, (a) close the ring and keep popping until Closed, or (b) drop
 * itself (close, then the last handle's drop drops what is left). Without either it drains until
 * the producers are done and a try_pop that started after that answers Empty.
 *
 * Granularity: one Promela step per atomic operation of ring.rs (a load, a store, a CAS, a
 * fetch_or, a lock acquire), and one step per plain access to a slot's value cell (so a read
 * before publish or a reuse before the move-out is an interleaving SPIN can reach). The
 * overflow mutex is a Promela lock; what it protects is read and written only under it.
 * Local computation (the consumer's stash, the per-producer bookkeeping) is grouped in d_steps.
 * Indices are not reduced modulo 2^(w-1): A1 of ring.md (no index wrap inside one push) holds.
 *
 * SPIN interleaves these steps in one global order: it explores sequentially consistent
 * executions only. The Rust code uses Relaxed/Acquire/Release; stale Relaxed reads and
 * reorderings that C11 allows are loom's part (proofs/ring.md §9), not this model's.
 *
 * Safety (assertions, checked in every state): per-producer FIFO, no duplication, no read of an
 * unpublished slot, no overwrite of an unconsumed slot, try_pop_slow loops at most twice (R3: no
 * spinning on a claimed slot), Closed only when every accepted value was popped, and on every
 * ending: popped (+ dropped) = accepted. PR7's compare_exchange_weak may fail spuriously
 * (-DWEAK_CAS, the safety run), which loom never does.
 * Liveness (ltl `drained`, weak fairness): the consumer always finishes (every accepted value is
 * popped or dropped with the ring).
 *
 * Seeded defects (spin -D...): DEFECT_READ_BEFORE_PUBLISH (CR2 trusts the claimed tail instead of
 * the stamp), DEFECT_RELEASE_BEFORE_TAKE (CR4 before CR3), DEFECT_BYPASS_OVERFLOW (no P1: a push
 * that happens after a spill may take the ring), DEFECT_NO_RECHECK_UNDER_LOCK (no CT2-CT3),
 * DEFECT_RING_BEFORE_STASH (C2 before C1: needs NITEMS >= 3, R2 (iii)).
 */

#define CAP     2
#define NPROD   2
#ifndef NITEMS
#define NITEMS  3
#endif
#define TOTAL   (NPROD * NITEMS)

/* push results */
#define R_OK      1
#define R_FULL    2
#define R_CLOSED  3
/* try_pop results */
#define P_VAL     1
#define P_EMPTY   2
#define P_PENDING 3
#define P_CLOSED  4

#define CONSUMER  9            /* lock owner id of the consumer */

/* Shared::producers: `tail` is one word, its index part and its CLOSED bit */
byte tail = 0;
bool tclosed = false;
bool spilled = false;
/* slots */
byte stamp[CAP];
byte val[CAP];                 /* 0 = no value in the cell */
/* overflow: Mutex<{queue, closed}> */
byte lock = 0;                 /* 0 = free, else the owner */
bool oclosed = false;
byte queue[TOTAL];
byte qlen = 0;

/* ghosts */
byte accepted = 0;             /* pushes whose claim CAS (PR7) or append (PO5) succeeded */
byte accepted_by[NPROD];
byte popped = 0;
byte dropped = 0;
byte nextk[NPROD];             /* the next sequence number expected from each producer */
byte done = 0;                 /* producers that returned from their last push */
bool consumer_finished = false;

/* a value is p * NITEMS + k + 1: producer p's k-th push */
inline check_pop(x) {
    d_step {
        assert(x >= 1 && x <= TOTAL);
        assert(((x - 1) % NITEMS) == nextk[(x - 1) / NITEMS]);   /* FIFO, no dup, no gap */
        nextk[(x - 1) / NITEMS]++;
        popped++
    }
}

inline lock_acquire(who) { atomic { lock == 0 -> lock = who } }
inline lock_release()    { lock = 0 }

/* Shared::push_ring (ring.rs:250): out = R_OK / R_FULL / R_CLOSED */
inline push_ring(v, out) {
    d_step { t = tail; tc = tclosed };                            /* PR1 */
    do
    :: tc -> out = R_CLOSED; break                                /* PR3 */
    :: else ->
        s = stamp[t % CAP];                                       /* PR4 */
        if
        :: t == s ->                                              /* PR6: lag 0 */
            atomic {                                              /* PR7: CAS_weak tail t -> t+1 */
                if
                :: tail == t && !tclosed ->
                    tail = t + 1; claimed = true;
                    accepted++; accepted_by[p]++
#ifdef WEAK_CAS
                :: tail == t && !tclosed -> claimed = false       /* spurious failure */
#endif
                :: else -> t = tail; tc = tclosed; claimed = false
                fi
            };
            if
            :: claimed ->
                assert(val[t % CAP] == 0);                        /* no reuse before consumed */
                val[t % CAP] = v;                                 /* PR8 */
                stamp[t % CAP] = t + 1;                           /* PR9: publish */
                out = R_OK; break
            :: else -> skip                                       /* PR10 */
            fi
        :: t > s && t - s <= CAP -> out = R_FULL; break           /* PR11 */
        :: else -> d_step { t = tail; tc = tclosed }              /* PR12: stale, reload */
        fi
    od
}

/* Shared::push_overflow (ring.rs:296): res = R_OK / R_CLOSED */
inline push_overflow(v, only, res) {
    do
    :: lock_acquire(p + 1);                                       /* PO1 */
       if
       :: oclosed -> lock_release(); res = R_CLOSED; break        /* PO2 */
       :: else -> skip
       fi;
       if
       :: only && !spilled ->                                     /* PO3 */
           lock_release();
           push_ring(v, out);                                     /* PO4 */
           if
           :: out == R_OK -> res = R_OK; break
           :: out == R_CLOSED -> res = R_CLOSED; break
           :: out == R_FULL -> only = false                       /* continue */
           fi
       :: else ->
           d_step { queue[qlen] = v; qlen++; accepted++; accepted_by[p]++ };   /* PO5 */
           spilled = true;                                        /* PO6 */
           lock_release(); res = R_OK; break
       fi
    od
}

/* Producer::push (ring.rs:351) */
inline push(v, res) {
#ifndef DEFECT_BYPASS_OVERFLOW
    if
    :: spilled -> only = true; push_overflow(v, only, res)       /* P1-P2 */
    :: else ->
#endif
        push_ring(v, out);                                        /* P3 */
        if
        :: out == R_OK -> res = R_OK
        :: out == R_FULL -> only = false; push_overflow(v, only, res)   /* P5 */
        :: out == R_CLOSED -> res = R_CLOSED                      /* P6 */
        fi
#ifndef DEFECT_BYPASS_OVERFLOW
    fi
#endif
}

proctype Producer(byte p) {
    byte k = 0, v, t, s, out, res;
    bool tc, claimed, only;
    do
    :: k < NITEMS ->
        v = p * NITEMS + k + 1;
        push(v, res);
        k++
    :: else -> break
    od;
    done++
}

/* Consumer::pop_ring (ring.rs:480) */
inline pop_ring(got, x) {
    if
#ifdef DEFECT_READ_BEFORE_PUBLISH
    :: tail > head ->                                             /* trusts the claim, not the stamp */
#else
    :: stamp[head % CAP] == head + 1 ->                           /* CR2 */
#endif
#ifdef DEFECT_RELEASE_BEFORE_TAKE
        stamp[head % CAP] = head + CAP;                           /* CR4 too early */
        d_step { x = val[head % CAP]; val[head % CAP] = 0 };      /* CR3 */
#else
        d_step { x = val[head % CAP]; val[head % CAP] = 0 };      /* CR3: move out */
        stamp[head % CAP] = head + CAP;                           /* CR4: release */
#endif
        assert(x != 0);                                           /* no read before publish */
        head++; got = true                                        /* CR5 */
    :: else -> got = false
    fi
}

/* pop_stash (ring.rs:428); the release_stash_if_idle memory hint (CS2-CM2) is not modelled */
inline pop_stash(x) {
    d_step { x = stash[shead]; shead++; slen-- }                  /* CS1 */
}

/* Consumer::try_pop (ring.rs:407) with try_pop_slow and take_overflow: r = P_* */
inline try_pop(r, x) {
#ifdef DEFECT_RING_BEFORE_STASH
    pop_ring(got, x);                                             /* C2 before C1 */
    if
    :: got -> r = P_VAL
    :: !got && slen > 0 -> pop_stash(x); r = P_VAL
    :: else ->
        if
        :: false -> skip
        :: else ->
#else
    if
    :: slen > 0 -> pop_stash(x); r = P_VAL                        /* C1 */
    :: else ->
        pop_ring(got, x);                                         /* C2 */
        if
        :: got -> r = P_VAL
        :: else ->
#endif
            if                                                    /* C3: inline Empty */
            :: tail == head && !tclosed ->
                if
                :: !spilled -> r = P_EMPTY; goto popped_out
                :: else -> skip
                fi
            :: else -> skip
            fi;
            iter = 0;
            do                                                    /* try_pop_slow */
            :: d_step { t = tail; tc = tclosed; iter++ };         /* C4 */
               assert(iter <= 2);                                 /* R3: no spinning */
               if
               :: t != head -> r = P_PENDING; break               /* C5 */
               :: else -> skip
               fi;
               if
               :: !spilled && !tc -> r = P_EMPTY; break           /* C6 */
               :: else -> skip
               fi;
               assert(slen == 0);                                 /* CT0 */
               lock_acquire(CONSUMER);                            /* CT1 */
#ifndef DEFECT_NO_RECHECK_UNDER_LOCK
               if
               :: tail != head ->                                 /* CT2-CT3: RingNotEmpty */
                   lock_release();
                   pop_ring(got, x);
                   if
                   :: got -> r = P_VAL; break
                   :: else -> skip                                /* continue */
                   fi
               :: else ->
#endif
                   if
                   :: qlen == 0 ->                                /* CT4: empty-find */
                       spilled = false;
                       if
                       :: oclosed -> r = P_CLOSED
                       :: else -> r = P_EMPTY                     /* never reached (ring.md §10.4) */
                       fi;
                       lock_release();
                       break
                   :: else ->                                     /* CT5: the batch take */
                       d_step {
                           assert(slen == 0);
                           shead = 0;
                           do
                           :: slen < qlen -> stash[slen] = queue[slen]; slen++
                           :: else -> break
                           od;
                           qlen = 0
                       };
                       spilled = false;
                       lock_release();
                       pop_stash(x); r = P_VAL; break
                   fi
#ifndef DEFECT_NO_RECHECK_UNDER_LOCK
               fi
#endif
            od
        fi
    fi;
popped_out: skip
}

/* Shared::close (ring.rs:323) */
inline close() {
    lock_acquire(CONSUMER);                                       /* X1 */
    oclosed = true;
    tclosed = true;                                               /* X2: fetch_or CLOSED */
    lock_release()                                                /* X3 */
}

proctype Consumer() {
    byte head = 0, t, x, r, i, d, iter;
    bool tc, got, closed_by_me = false;
    byte stash[TOTAL];
    byte shead = 0, slen = 0;
    do
    :: d = done;                       /* read before the pop: an Empty after it is quiescent */
       try_pop(r, x);
       if
       :: r == P_VAL -> check_pop(x)
       :: r == P_CLOSED ->                                        /* closed and drained (R4) */
           assert(closed_by_me && popped == accepted);
           break
       :: r == P_EMPTY && d == NPROD && !closed_by_me ->          /* quiescent Empty */
           assert(popped == accepted && qlen == 0 && slen == 0);
           break
       :: else -> skip                                            /* Pending; Empty while pushing */
       fi;
       if
       :: !closed_by_me -> close(); closed_by_me = true           /* Consumer::close, once */
       :: !closed_by_me ->                                        /* Consumer::drop (D1-D5) */
           close(); closed_by_me = true;                          /* D1; D2 final_head = head */
           (done == NPROD);                                       /* the last handle is released */
           d_step {
               i = head;                                          /* D3 */
               do
               :: i < tail ->                                     /* D4: published, unpopped */
                   assert(stamp[i % CAP] == i + 1 && val[i % CAP] != 0);
                   val[i % CAP] = 0; dropped++; i++
               :: else -> break
               od;
               dropped = dropped + qlen + slen;                   /* D5, and the stash */
               qlen = 0; slen = 0
           };
           assert(popped + dropped == accepted);
           break
       :: true -> skip
       fi
    od;
    consumer_finished = true
}

init {
    byte i;
    d_step {
        i = 0;
        do
        :: i < CAP -> stamp[i] = i; i++
        :: else -> break
        od
    };
    atomic {
        run Consumer();
        i = 0;
        do
        :: i < NPROD -> run Producer(i); i++
        :: else -> break
        od
    }
}

#ifdef LIVE
ltl drained { <> consumer_finished }
#endif
