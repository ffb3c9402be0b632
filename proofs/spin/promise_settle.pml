/*
 * promise_settle.pml -- promise settlement racing reaction registration: the settlement cell
 * (core/src/promise/cell.rs: SettleCell::settle, register, outcome; proofs/promise.md P1-P2,
 * labels S1-S5, R0-R2, O1 are promise.md's).
 *
 * Configuration: NSET = 2 settlers with different outcomes race NREG = 2 registrars that register
 * PER = 2 reactions each, and read outcome() after each registration. The `state` word (list head
 * | two-bit tag) is two Promela variables that every step reads or writes together, as one word.
 * The settler's `schedule` appends each batch to a log (the loop's microtask queue, FIFO); a
 * registrar that gets its reaction back appends it itself. Nodes are numbered 1..NREG*PER; `nxt`
 * is the node's `next` pointer.
 *
 * Granularity: one step per atomic operation on `state` (load, CAS, swap) and per plain access to
 * the outcome slot or to a node's `next` field. Reversing and handing out a batch the settler took
 * (it owns those nodes) is one d_step. compare_exchange_weak (S1, R2) may fail spuriously in the
 * safety run (-DWEAK_CAS), which loom never does.
 *
 * Memory model: sequentially consistent interleavings only. The Rust code publishes the outcome
 * with S3's Release swap and the nodes with R2's Release CAS, read by Acquire; under SC every
 * write is visible to every later step, so this model checks the protocol's logic (who owns what,
 * which word each CAS and swap can see), and loom checks that the Release/Acquire pairs carry the
 * data (promise.md §5, §7).
 *
 * Safety: exactly one settler wins; only the winner writes the outcome, once; whoever sees the tag
 * PUBLISHED or SETTLED (outcome(), a registrar handed back its reaction) sees the winner's
 * outcome; at the end every reaction was handed out exactly once, each registrar's reactions in
 * registration order, and the word is SETTLED with an empty list.
 * Liveness (weak fairness): `settles`: every settle and register call returns.
 *
 * Seeded defects: DEFECT_PLAIN_SETTLE (S5 is a plain store of SETTLED instead of the CAS
 * PUBLISHED -> SETTLED: a registration between S3 and S5 is lost; promise-handler-lost-on-settle),
 * DEFECT_TWO_SETTLERS (S1 does not check for an earlier claim; promise-two-settlers-win),
 * DEFECT_PUBLISH_BEFORE_WRITE (S3 before S2: PUBLISHED without the outcome).
 */

#define NSET 2
#define NREG 2
#define PER  2
#define NR   (NREG * PER)

#define PENDING   0
#define CLAIMED   1
#define PUBLISHED 2
#define SETTLED   3

/* SettleCell::state = head | tag (one word) */
byte head = 0;
byte tag = PENDING;
byte nxt[NR + 1];                   /* node i's `next` (0 = null) */
byte outcome = 0;                   /* the outcome slot: 0 = uninitialised, settler i writes 10 + i */

/* ghosts */
byte winner = 0;                    /* 10 + the settler whose S1 succeeded */
byte wins = 0;
byte handed[NR + 1];                /* times node i was handed out */
byte order[NR + 1];                 /* position of node i in the schedule log */
byte logpos = 0;
byte ended = 0;

inline hand_out(n) {
    assert(handed[n] == 0);
    handed[n]++; logpos++; order[n] = logpos
}

proctype Settler(byte i) {
    byte ch, ct, list, n, rev, nx;
    bool won = false, fin;
    /* S1: claim (cell.rs:303-317) */
    d_step { ch = head; ct = tag };                               /* Relaxed load: a guess */
    do
#ifndef DEFECT_TWO_SETTLERS
    :: ct != PENDING -> break                                     /* another settler claimed: Err(o) */
#endif
    :: else ->
        atomic {                                                  /* CAS_weak tag PENDING -> CLAIMED */
            if
#ifdef DEFECT_TWO_SETTLERS
            :: true -> tag = CLAIMED; won = true; wins++; winner = 10 + i
#else
            :: head == ch && tag == ct -> tag = CLAIMED; won = true; wins++; winner = 10 + i
#ifdef WEAK_CAS
            :: head == ch && tag == ct -> skip                    /* spurious failure */
#endif
            :: else -> ch = head; ct = tag
#endif
            fi
        };
        if
        :: won -> break
        :: else -> skip
        fi
    od;
    if
    :: !won -> goto out
    :: else -> skip
    fi;
#ifdef DEFECT_PUBLISH_BEFORE_WRITE
    d_step { list = head; head = 0; tag = PUBLISHED };            /* S3 before S2 */
    assert(outcome == 0); outcome = 10 + i;                       /* S2 */
#else
    assert(outcome == 0); outcome = 10 + i;                       /* S2: the only write */
    d_step {                                                      /* S3: swap(PUBLISHED) */
        list = head;
#ifndef DEFECT_TWO_SETTLERS
        assert(tag == CLAIMED);                                   /* only the claimer publishes */
#endif
        head = 0; tag = PUBLISHED
    };
#endif
    do
    :: d_step {                                                   /* S4: reverse, schedule */
           rev = 0; n = list;
           do
           :: n != 0 -> nx = nxt[n]; nxt[n] = rev; rev = n; n = nx
           :: else -> break
           od;
           n = rev;
           do
           :: n != 0 -> hand_out(n); n = nxt[n]
           :: else -> break
           od;
           list = 0; rev = 0; nx = 0
       };
#ifdef DEFECT_PLAIN_SETTLE
       d_step { head = 0; tag = SETTLED };                        /* a plain store of SETTLED */
       break
#else
       atomic {                                                   /* S5: CAS PUBLISHED -> SETTLED */
           if
           :: head == 0 && tag == PUBLISHED -> tag = SETTLED; fin = true
           :: else -> fin = false
           fi
       };
       if
       :: fin -> break
       :: else -> d_step { list = head; head = 0; tag = PUBLISHED }   /* swap: take the newcomers */
       fi
#endif
    od;
out:
    ended++
}

proctype Registrar(byte j) {
    byte k = 0, node, ch, ct, t;
    bool ok;
    do
    :: k < PER ->
        node = j * PER + k + 1;
        d_step { ch = head; ct = tag };                           /* R0: Relaxed load */
        do
        :: ch == 0 && ct == SETTLED ->                            /* the word is SETTLED */
            assert(tag == SETTLED);                               /* Acquire re-load: final */
            assert(outcome != 0 && outcome == winner);            /* the outcome is there */
            d_step { hand_out(node) };                            /* Err(reaction): schedule it */
            break
        :: else ->
            nxt[node] = ch;                                       /* R1: link in front */
            atomic {                                              /* R2: CAS_weak, keeps the tag */
                if
                :: head == ch && tag == ct -> head = node; ok = true
#ifdef WEAK_CAS
                :: head == ch && tag == ct -> ok = false          /* spurious failure */
#endif
                :: else -> ch = head; ct = tag; ok = false
                fi
            };
            if
            :: ok -> break
            :: else -> skip
            fi
        od;
        t = tag;                                                  /* O1: outcome() */
        if
        :: t == PUBLISHED || t == SETTLED -> assert(outcome != 0 && outcome == winner)
        :: else -> skip
        fi;
        k++
    :: else -> break
    od;
    ended++
}

proctype Final() {
    byte n, j;
    (ended == NSET + NREG);
    d_step {
        assert(wins == 1);                                        /* exactly one settler won */
        assert(outcome == winner);
        assert(head == 0 && tag == SETTLED);                      /* I3: SETTLED, empty list */
        n = 1;
        do
        :: n <= NR -> assert(handed[n] == 1); n++                 /* P1: exactly once */
        :: else -> break
        od;
        j = 0;
        do
        :: j < NREG ->                                            /* registration order */
            n = 1;
            do
            :: n < PER -> assert(order[j * PER + n] < order[j * PER + n + 1]); n++
            :: else -> break
            od;
            j++
        :: else -> break
        od
    }
}

init {
    byte i;
    atomic {
        i = 0;
        do
        :: i < NSET -> run Settler(i); i++
        :: else -> break
        od;
        i = 0;
        do
        :: i < NREG -> run Registrar(i); i++
        :: else -> break
        od;
        run Final()
    }
}

#ifdef LIVE
ltl settles { <> (ended == NSET + NREG) }
#endif
