/* The simulator's links, nodes and cluster operations from C: per-link loss (deterministic per
 * seed) and delay, delivery between two nodes or by count, held messages released newest
 * first, per-node election timeouts (at creation and at a restart), a memory log that loses
 * unsynced writes at a crash, joining, learners, removal, exit, leadership transfer, the
 * leader's per-follower progress, snapshots installed on a restarted and on a new node, and
 * the apply history across lifetimes. Runs under valgrind (make test-c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftengine.h"

static int passes, failures;
#define CHECK(cond) do { if (cond) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a == _b) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, #b, _a, _b); } } while (0)

#include "sim_counter.h"

/* The outcome's status, or 1 while pending. */
static int status_of(re_sim *sim, uint64_t rid) {
    int st = 0;
    return re_sim_outcome(sim, rid, &st, NULL, NULL) == 1 ? st : 1;
}

static void settle(re_sim *sim, int leader) {
    CHECK_EQ(re_sim_deliver_all(sim, 100000, NULL), 1);
    CHECK_EQ(re_sim_heartbeat(sim, leader), RE_OK);
    CHECK_EQ(re_sim_deliver_all(sim, 100000, NULL), 1);
}

/* Proposes `n` commands "1" at the leader, each settled. */
static void commands(re_sim *sim, int leader, int n) {
    for (int i = 0; i < n; i++) {
        uint64_t rid = propose(sim, leader, "1");
        settle(sim, leader);
        CHECK_EQ(status_of(sim, rid), RE_OK);
    }
}

static re_sim *elected(factory *f, uint64_t seed) {
    re_sim *sim = NULL;
    CHECK_EQ(re_sim_new(3, seed, 1, &counter_table, f, &sim), RE_OK);
    CHECK_EQ(re_sim_elect(sim, 1), RE_OK);
    CHECK_EQ(re_sim_leader(sim), 1);
    return sim;
}

static void finish(re_sim *sim, factory *f) {
    re_sim_free(sim);
    CHECK_EQ(f->destroyed, f->made);
}

static void test_arguments(void) {
    re_sim_options *o = NULL;
    CHECK_EQ(re_sim_options_new(0, 1, 1, &o), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "nodes 0") != NULL);
    CHECK_EQ(re_sim_options_new(3, 1, 1, &o), RE_OK);
    CHECK_EQ(re_sim_options_set_election_timeout(o, 1, 30, 20), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "election timeout 30-20") != NULL);
    CHECK_EQ(re_sim_options_set_election_timeout(o, 16, 10, 20), RE_EINVAL);
    CHECK_EQ(re_sim_options_set_election_timeout(o, 1, 0, 20), RE_EINVAL);
    CHECK_EQ(re_sim_options_set_election_timeout(NULL, 1, 10, 20), RE_EINVAL);
    CHECK_EQ(re_sim_new_with_options(NULL, &counter_table, NULL, NULL), RE_EINVAL);
    re_sim *sim = NULL;
    CHECK_EQ(re_sim_new_with_options(o, NULL, NULL, &sim), RE_EINVAL);
    re_sim_options_free(o);
    re_sim_options_free(NULL);

    factory f = {0};
    sim = elected(&f, 1);
    CHECK_EQ(re_sim_set_link_fault(sim, 1, 2, 1.5, 0), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "loss 1.5") != NULL);
    CHECK_EQ(re_sim_set_link_fault(sim, 1, 1, 0.5, 0), RE_EINVAL);
    CHECK_EQ(re_sim_set_link_fault(sim, 1, 4, 0.5, 0), RE_EINVAL);
    CHECK_EQ(re_sim_set_link_fault(sim, 1, 2, 0, 86400001), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "delay_ms") != NULL);
    CHECK_EQ(re_sim_release_held_in_order(sim, 0, 0, 1, 7, NULL), RE_EINVAL);
    CHECK_EQ(re_sim_deliver_between(sim, 2, 2, 10, NULL), RE_EINVAL);
    CHECK_EQ(re_sim_join(sim, 2, 2, 1, NULL), RE_EINVAL);
    CHECK_EQ(re_sim_transfer_leadership(sim, 1, 9, NULL), RE_EINVAL);
    CHECK_EQ(re_sim_membership(sim, 9, 1), -1);
    CHECK_EQ(re_sim_follower_progress(sim, 1, NULL, 4, NULL), RE_EINVAL);
    CHECK_EQ(re_sim_apply_history(sim, 1, NULL, NULL), RE_EINVAL);
    CHECK_EQ(re_sim_lifetime(sim, 0), 0);
    CHECK_EQ(re_sim_crash(sim, 3), RE_OK);
    CHECK_EQ(re_sim_take_snapshot(sim, 3, 0, NULL), RE_ESTOPPED);
    CHECK_EQ(re_sim_exit_cluster(sim, 3, NULL), RE_ESTOPPED);
    /* Spare nodes up to 15 in all, then no more. */
    int node = 0;
    for (int n = 4; n <= 15; n++) {
        CHECK_EQ(re_sim_add_node(sim, &node), RE_OK);
        CHECK_EQ(node, n);
    }
    CHECK_EQ(re_sim_node_count(sim), 15);
    CHECK_EQ(re_sim_add_node(sim, &node), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "15 nodes") != NULL);
    finish(sim, &f);
}

/* 100% loss on 1 -> 2: nothing crosses it while 1 -> 3 works and the cluster commits; once
 * cleared, node 2 catches up. */
static void test_total_loss_on_one_link(void) {
    factory f = {0};
    re_sim *sim = elected(&f, 5);
    uint64_t base = re_sim_last_index(sim, 1);
    size_t lost = re_sim_lost_count(sim);
    CHECK_EQ(re_sim_set_link_fault(sim, 1, 2, 1.0, 0), RE_OK);
    commands(sim, 1, 3);
    CHECK_EQ(re_sim_last_index(sim, 2), base);
    CHECK_EQ(re_sim_commit_index(sim, 3), base + 3);
    CHECK_EQ(f.current[3]->total, 3);
    CHECK_EQ(f.current[2]->total, 0);
    CHECK(re_sim_lost_count(sim) >= lost + 6);            /* 3 appends and 3 heartbeats to node 2 */
    CHECK_EQ(re_sim_set_link_fault(sim, 1, 2, 0, 0), RE_OK);
    settle(sim, 1);
    settle(sim, 1);
    CHECK_EQ(re_sim_commit_index(sim, 2), base + 3);
    CHECK_EQ(f.current[2]->total, 3);
    finish(sim, &f);
}

/* Which of 64 heartbeats over a 50% lossy link 1 -> 2 were lost, one bit each. */
static uint64_t loss_pattern(uint64_t seed) {
    factory f = {0};
    re_sim *sim = elected(&f, seed);
    CHECK_EQ(re_sim_set_link_fault(sim, 1, 2, 0.5, 0), RE_OK);
    uint64_t bits = 0;
    for (int i = 0; i < 64; i++) {
        size_t before = re_sim_lost_count(sim);
        CHECK_EQ(re_sim_heartbeat(sim, 1), RE_OK);
        CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
        size_t lost = re_sim_lost_count(sim) - before;
        CHECK(lost <= 1);
        if (lost) bits |= 1ull << i;
    }
    finish(sim, &f);
    return bits;
}

static int popcount64(uint64_t x) {
    int n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

static void test_loss_is_deterministic_per_seed(void) {
    uint64_t a = loss_pattern(7), again = loss_pattern(7), other = loss_pattern(8);
    CHECK(a == again);
    CHECK(a != other);
    CHECK(popcount64(a) > 8 && popcount64(a) < 56);      /* a share lost, not all or none */
}

/* A 5 ms delay on 1 -> 2: the append lands only once virtual time passes it. */
static void test_delay(void) {
    factory f = {0};
    re_sim *sim = elected(&f, 3);
    uint64_t base = re_sim_last_index(sim, 1);
    CHECK_EQ(re_sim_set_link_fault(sim, 1, 2, 0, 5), RE_OK);
    propose(sim, 1, "1");
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    CHECK_EQ(re_sim_last_index(sim, 2), base);
    CHECK_EQ(re_sim_last_index(sim, 3), base + 1);
    CHECK_EQ(re_sim_in_flight_count(sim), 1);
    CHECK_EQ(re_sim_advance(sim, 4), RE_OK);
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    CHECK_EQ(re_sim_last_index(sim, 2), base);
    CHECK_EQ(re_sim_advance(sim, 1), RE_OK);
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    CHECK_EQ(re_sim_last_index(sim, 2), base + 1);
    CHECK_EQ(re_sim_in_flight_count(sim), 0);
    /* Cleared: the next append arrives at once. */
    CHECK_EQ(re_sim_clear_link_faults(sim), RE_OK);
    propose(sim, 1, "1");
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    CHECK_EQ(re_sim_last_index(sim, 2), base + 2);
    finish(sim, &f);
}

/* Delivery between two nodes leaves the third's message waiting; delivery by count handles
 * exactly that many; held messages released newest first arrive out of order. */
static void test_selective_delivery(void) {
    factory f = {0};
    re_sim *sim = elected(&f, 9);
    uint64_t base = re_sim_last_index(sim, 1);
    uint64_t rid = propose(sim, 1, "1");
    size_t steps = 0;
    CHECK_EQ(re_sim_deliver_between(sim, 1, 2, 1000, &steps), RE_OK);
    CHECK_EQ(steps, 2);                                  /* the append at 2, its answer at 1 */
    CHECK_EQ(re_sim_last_index(sim, 2), base + 1);
    CHECK_EQ(re_sim_commit_index(sim, 1), base + 1);     /* 1 and 2 are a majority */
    CHECK_EQ(status_of(sim, rid), RE_OK);
    CHECK_EQ(re_sim_last_index(sim, 3), base);
    CHECK_EQ(re_sim_inbox_count(sim, 3), 1);             /* its append waits */
    size_t handled = 0;
    CHECK_EQ(re_sim_deliver_count(sim, 1, &handled), RE_OK);
    CHECK_EQ(handled, 1);
    CHECK_EQ(re_sim_last_index(sim, 3), base + 1);
    CHECK_EQ(re_sim_inbox_count(sim, 3), 0);
    CHECK_EQ(re_sim_deliver_count(sim, 100, &handled), RE_OK);
    CHECK_EQ(handled, 1);                                /* node 3's answer, then quiet */
    settle(sim, 1);

    /* Two appends to node 2 held; the newer one first finds a gap and adds nothing. */
    base = re_sim_last_index(sim, 1);
    CHECK_EQ(re_sim_hold(sim, 1, 2, 1), RE_OK);
    propose(sim, 1, "1");
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    propose(sim, 1, "1");
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    CHECK_EQ(re_sim_held_count(sim), 2);
    CHECK_EQ(re_sim_hold(sim, 1, 2, 0), RE_OK);
    size_t released = 0;
    CHECK_EQ(re_sim_release_held_in_order(sim, 1, 2, 1, RE_SIM_NEWEST_FIRST, &released), RE_OK);
    CHECK_EQ(released, 1);
    CHECK_EQ(re_sim_deliver(sim, 2, 0), 1);
    CHECK_EQ(re_sim_last_index(sim, 2), base);
    CHECK_EQ(re_sim_release_held_in_order(sim, 1, 2, 1, RE_SIM_OLDEST_FIRST, &released), RE_OK);
    CHECK_EQ(released, 1);
    CHECK_EQ(re_sim_deliver(sim, 2, 0), 1);
    CHECK_EQ(re_sim_last_index(sim, 2), base + 1);
    settle(sim, 1);
    CHECK_EQ(re_sim_last_index(sim, 2), base + 2);
    finish(sim, &f);
}

/* With timers on, the node with the short election timeout wins the first election; a spare
 * node gets the range the options gave its number. */
static void test_per_node_election_timeouts(void) {
    for (int fast = 1; fast <= 3; fast++) {
        factory f = {0};
        re_sim_options *o = NULL;
        CHECK_EQ(re_sim_options_new(3, 3, 1, &o), RE_OK);
        CHECK_EQ(re_sim_options_set_election_timeout(o, 0, 800, 900), RE_OK);
        CHECK_EQ(re_sim_options_set_election_timeout(o, fast, 20, 30), RE_OK);
        re_sim *sim = NULL;
        CHECK_EQ(re_sim_new_with_options(o, &counter_table, &f, &sim), RE_OK);
        re_sim_options_free(o);
        CHECK_EQ(re_sim_enable_timers(sim, 1), RE_OK);
        CHECK_EQ(re_sim_run(sim, 200), RE_OK);
        CHECK_EQ(re_sim_leader(sim), fast);
        CHECK_EQ(re_sim_term(sim, fast), 1);
        finish(sim, &f);
    }

    factory f = {0};
    re_sim_options *o = NULL;
    CHECK_EQ(re_sim_options_new(3, 4, 1, &o), RE_OK);
    CHECK_EQ(re_sim_options_set_election_timeout(o, 0, 800, 900), RE_OK);
    CHECK_EQ(re_sim_options_set_election_timeout(o, 1, 20, 30), RE_OK);
    CHECK_EQ(re_sim_options_set_election_timeout(o, 4, 40, 50), RE_OK);
    re_sim *sim = NULL;
    CHECK_EQ(re_sim_new_with_options(o, &counter_table, &f, &sim), RE_OK);
    re_sim_options_free(o);
    CHECK_EQ(re_sim_elect(sim, 1), RE_OK);
    int node = 0;
    uint64_t rid = 0;
    CHECK_EQ(re_sim_add_node(sim, &node), RE_OK);
    CHECK_EQ(re_sim_join(sim, node, 1, 1, &rid), RE_OK);
    settle(sim, 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    CHECK_EQ(re_sim_crash(sim, 1), RE_OK);                /* 4 times out long before 2 and 3 */
    CHECK_EQ(re_sim_enable_timers(sim, 1), RE_OK);
    CHECK_EQ(re_sim_run(sim, 300), RE_OK);
    CHECK_EQ(re_sim_leader(sim), 4);
    finish(sim, &f);
}

/* A follower whose syncs wait crashes: with lose-unsynced-writes its appended entry is gone at
 * the restart; with a plain memory log it stays. */
static void test_unsynced_writes_lost_at_crash(void) {
    for (int loses = 1; loses >= 0; loses--) {
        factory f = {0};
        re_sim_options *o = NULL;
        CHECK_EQ(re_sim_options_new(3, 2, 1, &o), RE_OK);
        CHECK_EQ(re_sim_options_set_lose_unsynced_writes(o, loses), RE_OK);
        re_sim *sim = NULL;
        CHECK_EQ(re_sim_new_with_options(o, &counter_table, &f, &sim), RE_OK);
        re_sim_options_free(o);
        CHECK_EQ(re_sim_elect(sim, 1), RE_OK);
        commands(sim, 1, 1);
        uint64_t base = re_sim_last_index(sim, 1);
        CHECK_EQ(re_sim_set_syncs_deferred(sim, 2, 1), RE_OK);
        propose(sim, 1, "2");
        CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
        CHECK_EQ(re_sim_last_index(sim, 2), base + 1);
        CHECK_EQ(re_sim_crash(sim, 2), RE_OK);
        CHECK_EQ(re_sim_restart(sim, 2), RE_OK);
        CHECK_EQ(re_sim_last_index(sim, 2), loses ? base : base + 1);
        CHECK_EQ(re_sim_set_syncs_deferred(sim, 2, 0), RE_OK);
        settle(sim, 1);
        CHECK_EQ(re_sim_last_index(sim, 2), base + 1);
        CHECK_EQ(f.current[2]->total, 3);
        finish(sim, &f);
    }

    /* Both followers' syncs wait: no acknowledgement, no commit, until one sync is done. */
    factory f = {0};
    re_sim *sim = elected(&f, 2);
    uint64_t base = re_sim_last_index(sim, 1);
    CHECK_EQ(re_sim_set_syncs_deferred(sim, 2, 1), RE_OK);
    CHECK_EQ(re_sim_set_syncs_deferred(sim, 3, 1), RE_OK);
    uint64_t rid = propose(sim, 1, "1");
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    CHECK_EQ(re_sim_last_index(sim, 2), base + 1);
    CHECK_EQ(re_sim_commit_index(sim, 1), base);
    CHECK_EQ(status_of(sim, rid), 1);
    CHECK_EQ(re_sim_finish_sync(sim, 2), RE_OK);
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    CHECK_EQ(re_sim_commit_index(sim, 1), base + 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    finish(sim, &f);
}

/* The runtime's sync thread: the leader commits on its followers' durable copies while its own
 * job has not run; a job's fdatasync and its completion are two steps. */
static void test_sync_jobs(void) {
    factory f = {0};
    re_sim *sim = elected(&f, 2);
    CHECK_EQ(re_sim_set_sync_placement(sim, 1, RE_SIM_SYNC_ALWAYS), RE_OK);
    CHECK_EQ(re_sim_set_sync_placement(sim, 2, RE_SIM_SYNC_ALWAYS), RE_OK);
    CHECK_EQ(re_sim_set_sync_placement(sim, 3, 7), RE_EINVAL);
    uint64_t base = re_sim_last_index(sim, 1);
    uint64_t rid = propose(sim, 1, "1");
    size_t in_flight = 9, ran = 9;
    CHECK_EQ(re_sim_sync_jobs(sim, 1, &in_flight, &ran), RE_OK);
    CHECK(in_flight == 1 && ran == 0);
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    /* Node 3 syncs inline and acknowledged; node 2's acknowledgement waits for its job. */
    CHECK_EQ(re_sim_last_index(sim, 2), base + 1);
    CHECK_EQ(status_of(sim, rid), 1);
    int done = 9;
    CHECK_EQ(re_sim_complete_sync_job(sim, 2, &done), RE_OK);
    CHECK_EQ(done, 0); /* not run yet */
    CHECK_EQ(re_sim_run_sync_job(sim, 2, &done), RE_OK);
    CHECK_EQ(done, 1);
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    CHECK_EQ(status_of(sim, rid), 1);
    CHECK_EQ(re_sim_complete_sync_job(sim, 2, &done), RE_OK);
    CHECK_EQ(done, 1);
    CHECK_EQ(re_sim_deliver_all(sim, 1000, NULL), 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    CHECK_EQ(re_sim_commit_index(sim, 1), base + 1);
    /* The leader's own job is still out, not run. */
    CHECK_EQ(re_sim_sync_jobs(sim, 1, &in_flight, &ran), RE_OK);
    CHECK(in_flight == 1 && ran == 0);
    CHECK_EQ(re_sim_run_sync_job(sim, 1, NULL), RE_OK);
    CHECK_EQ(re_sim_complete_sync_job(sim, 1, NULL), RE_OK);
    CHECK_EQ(re_sim_sync_jobs(sim, 1, &in_flight, NULL), RE_OK);
    CHECK_EQ(in_flight, 0);
    CHECK_EQ(re_sim_run_sync_job(sim, 1, &done), RE_OK);
    CHECK_EQ(done, 0);
    CHECK_EQ(re_sim_sync_jobs(sim, 9, NULL, NULL), RE_EINVAL);
    finish(sim, &f);
}

/* The command records of a node's history, as (index, first byte) in order. */
static size_t command_indexes(re_sim *sim, int node, int lifetime, uint64_t *out, size_t cap) {
    re_sim_apply_record *r = NULL;
    size_t n = 0, k = 0;
    CHECK_EQ(re_sim_apply_history(sim, node, &r, &n), RE_OK);
    for (size_t i = 0; i < n; i++)
        if (r[i].kind == RE_SIM_APPLY_COMMAND && (lifetime == 0 || r[i].lifetime == lifetime) && k < cap) out[k++] = r[i].index;
    free(r);
    return k;
}

static int same_indexes(const uint64_t *a, size_t na, const uint64_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* Join, learner, promotion, removal, exit, leadership transfer and progress. */
static void test_membership(void) {
    factory f = {0};
    re_sim *sim = elected(&f, 21);
    commands(sim, 1, 5);
    int n4 = 0;
    CHECK_EQ(re_sim_add_node(sim, &n4), RE_OK);
    CHECK_EQ(n4, 4);
    CHECK_EQ(f.created[4], 1);
    CHECK_EQ(re_sim_node_count(sim), 4);
    CHECK_EQ(re_sim_membership(sim, 1, 4), RE_SIM_NOT_MEMBER);
    uint64_t rid = 0;
    CHECK_EQ(re_sim_join(sim, 4, 1, 1, &rid), RE_OK);
    CHECK_EQ(re_sim_deliver_all(sim, 100000, NULL), 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    settle(sim, 1);
    CHECK_EQ(re_sim_membership(sim, 1, 4), RE_SIM_VOTER);
    CHECK_EQ(re_sim_membership(sim, 4, 4), RE_SIM_VOTER);
    CHECK_EQ(re_sim_applied_index(sim, 4), re_sim_applied_index(sim, 1));
    CHECK_EQ(f.current[4]->total, 5);
    /* The same applied history as the leader: the same commands at the same indexes. */
    uint64_t a[64], b[64];
    size_t na = command_indexes(sim, 1, 0, a, 64), nb = command_indexes(sim, 4, 0, b, 64);
    CHECK_EQ(na, 5);
    CHECK(same_indexes(a, na, b, nb));

    /* The leader's progress: nodes 2, 3 and 4, each caught up. */
    re_sim_progress p[8];
    size_t count = 0;
    CHECK_EQ(re_sim_follower_progress(sim, 1, p, 8, &count), RE_OK);
    CHECK_EQ(count, 3);
    for (size_t i = 0; i < count && i < 3; i++) {
        CHECK_EQ(p[i].node, (int)i + 2);
        CHECK_EQ(p[i].match, re_sim_last_index(sim, 1));
        CHECK_EQ(p[i].next, re_sim_last_index(sim, 1) + 1);
        CHECK_EQ(p[i].state, RE_SIM_REPLICATE);
        CHECK_EQ(p[i].inflight, 0);
    }
    memset(p, 0, sizeof p);
    CHECK_EQ(re_sim_follower_progress(sim, 1, p, 1, &count), RE_OK);
    CHECK_EQ(count, 3);
    CHECK_EQ(p[0].node, 2);
    CHECK_EQ(p[1].node, 0);                               /* beyond capacity: untouched */
    CHECK_EQ(re_sim_follower_progress(sim, 2, p, 8, &count), RE_OK);
    CHECK_EQ(count, 0);                                   /* not a leader */

    /* Four voters: with 2 and 3 down nothing commits. Node 2 removed, three voters remain and
     * 1 and 4 are a majority. */
    CHECK_EQ(re_sim_remove_server(sim, 1, 2, &rid), RE_OK);
    settle(sim, 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    CHECK_EQ(re_sim_membership(sim, 1, 2), RE_SIM_NOT_MEMBER);
    CHECK_EQ(re_sim_membership(sim, 4, 2), RE_SIM_NOT_MEMBER);
    CHECK_EQ(re_sim_crash(sim, 2), RE_OK);
    CHECK_EQ(re_sim_crash(sim, 3), RE_OK);
    uint64_t before = re_sim_commit_index(sim, 1);
    rid = propose(sim, 1, "10");
    settle(sim, 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    CHECK_EQ(re_sim_commit_index(sim, 1), before + 1);
    CHECK_EQ(re_sim_commit_index(sim, 4), before + 1);
    CHECK_EQ(f.current[4]->total, 15);
    CHECK_EQ(re_sim_restart(sim, 3), RE_OK);
    settle(sim, 1);
    CHECK_EQ(f.current[3]->total, 15);

    /* A learner: it receives the log but does not vote; then promoted; then it leaves. */
    int n5 = 0;
    CHECK_EQ(re_sim_add_node(sim, &n5), RE_OK);
    CHECK_EQ(re_sim_add_server(sim, 1, n5, 0, &rid), RE_OK);
    settle(sim, 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    CHECK_EQ(re_sim_membership(sim, 1, 5), RE_SIM_LEARNER);
    CHECK_EQ(f.current[5]->total, 15);
    CHECK_EQ(re_sim_add_server(sim, 1, n5, 1, &rid), RE_OK);
    settle(sim, 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    CHECK_EQ(re_sim_membership(sim, 1, 5), RE_SIM_VOTER);
    CHECK_EQ(re_sim_exit_cluster(sim, 5, &rid), RE_OK);
    settle(sim, 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    CHECK_EQ(re_sim_membership(sim, 1, 5), RE_SIM_NOT_MEMBER);

    /* Leadership transfer to node 4: it leads, the others follow it. */
    CHECK_EQ(re_sim_transfer_leadership(sim, 1, 4, &rid), RE_OK);
    CHECK_EQ(re_sim_deliver_all(sim, 100000, NULL), 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    CHECK_EQ(re_sim_leader(sim), 4);
    CHECK_EQ(re_sim_role(sim, 1), RE_ROLE_FOLLOWER);
    CHECK_EQ(re_sim_leader_of(sim, 3), 4);
    rid = propose(sim, 4, "1");
    settle(sim, 4);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    CHECK_EQ(f.current[1]->total, 16);
    /* A transfer asked of a follower is refused. */
    CHECK_EQ(re_sim_transfer_leadership(sim, 1, 3, &rid), RE_OK);
    CHECK_EQ(re_sim_deliver_all(sim, 100000, NULL), 1);
    CHECK_EQ(status_of(sim, rid), RE_ENOTLEADER);
    finish(sim, &f);
}

/* A snapshot brings up a follower that was down past it and a node added after it: each
 * machine is restored from it (restore called once) and the history shows the restore. */
static void test_snapshot_install(void) {
    factory f = {0};
    re_sim *sim = elected(&f, 31);
    commands(sim, 1, 4);
    CHECK_EQ(re_sim_crash(sim, 3), RE_OK);
    commands(sim, 1, 6);
    uint64_t idx = 0;
    CHECK_EQ(re_sim_take_snapshot(sim, 1, 0, &idx), RE_OK);
    CHECK_EQ(idx, re_sim_applied_index(sim, 1));
    CHECK_EQ(re_sim_take_snapshot(sim, 1, 0, &idx), RE_OK);
    CHECK_EQ(idx, 0);                                     /* nothing new to snapshot */
    idx = re_sim_applied_index(sim, 1);
    commands(sim, 1, 2);

    CHECK_EQ(re_sim_restart(sim, 3), RE_OK);
    settle(sim, 1);
    CHECK_EQ(re_sim_applied_index(sim, 3), re_sim_applied_index(sim, 1));
    CHECK_EQ(f.current[3]->restores, 1);
    CHECK_EQ(f.current[3]->total, 12);
    re_sim_apply_record *r = NULL;
    size_t n = 0;
    CHECK_EQ(re_sim_apply_history(sim, 3, &r, &n), RE_OK);
    int restores = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].kind != RE_SIM_APPLY_SNAPSHOT) continue;
        restores++;
        CHECK_EQ(r[i].lifetime, 2);
        CHECK_EQ(r[i].index, idx);
        CHECK(r[i].command == NULL && r[i].command_len == 0);
        /* After it, lifetime 2 applies only the commands past the snapshot. */
        CHECK(i + 2 < n && r[i + 1].index == idx + 1 && r[i + 2].index == idx + 2);
    }
    CHECK_EQ(restores, 1);
    free(r);

    int n4 = 0;
    uint64_t rid = 0;
    CHECK_EQ(re_sim_add_node(sim, &n4), RE_OK);
    CHECK_EQ(re_sim_join(sim, n4, 1, 1, &rid), RE_OK);
    CHECK_EQ(re_sim_deliver_all(sim, 100000, NULL), 1);
    CHECK_EQ(status_of(sim, rid), RE_OK);
    settle(sim, 1);
    CHECK_EQ(f.current[4]->restores, 1);
    CHECK_EQ(f.current[4]->total, 12);
    CHECK_EQ(f.current[4]->applied, 2);                   /* only what came after the snapshot */
    CHECK_EQ(re_sim_apply_history(sim, 4, &r, &n), RE_OK);
    CHECK(n >= 1 && r[0].kind == RE_SIM_APPLY_SNAPSHOT && r[0].index == idx && r[0].lifetime == 1);
    free(r);
    finish(sim, &f);
}

/* Crash and restart: each lifetime applied every committed command exactly once, in order,
 * and the restart's lifetime is counted. */
static void test_apply_history_across_restarts(void) {
    factory f = {0};
    re_sim *sim = elected(&f, 41);
    CHECK_EQ(re_sim_lifetime(sim, 2), 1);
    commands(sim, 1, 5);
    CHECK_EQ(re_sim_crash(sim, 2), RE_OK);
    commands(sim, 1, 3);
    CHECK_EQ(re_sim_restart(sim, 2), RE_OK);
    CHECK_EQ(re_sim_lifetime(sim, 2), 2);
    CHECK_EQ(re_sim_lifetime(sim, 1), 1);
    settle(sim, 1);

    uint64_t leader[32], first[32], second[32];
    size_t nl = command_indexes(sim, 1, 0, leader, 32);
    size_t n1 = command_indexes(sim, 2, 1, first, 32);
    size_t n2 = command_indexes(sim, 2, 2, second, 32);
    CHECK_EQ(nl, 8);
    CHECK_EQ(n1, 5);
    CHECK(same_indexes(first, n1, leader, 5));            /* lifetime 1: the first five, in order */
    CHECK(same_indexes(second, n2, leader, nl));          /* lifetime 2: all eight again, in order */
    for (size_t i = 1; i < n2; i++) CHECK(second[i] > second[i - 1]);

    re_sim_apply_record *r = NULL;
    size_t n = 0;
    CHECK_EQ(re_sim_apply_history(sim, 2, &r, &n), RE_OK);
    CHECK_EQ(n, 13);
    CHECK(n > 0 && r[0].lifetime == 1 && r[n - 1].lifetime == 2);
    CHECK(n > 0 && r[0].command_len == 1 && r[0].command[0] == '1');
    free(r);

    uint64_t *twice = (uint64_t *)1;
    size_t nt = 99;
    CHECK_EQ(re_sim_reapplied_indexes(sim, 2, 0, &twice, &nt), RE_OK);
    CHECK_EQ(nt, 0);                                      /* each lifetime's machine: once */
    CHECK(twice == NULL);
    CHECK_EQ(re_sim_reapplied_indexes(sim, 2, 1, &twice, &nt), RE_OK);
    CHECK_EQ(nt, 5);                                      /* one durable machine: lifetime 1's twice */
    CHECK(twice != NULL && same_indexes(twice, nt, leader, 5));
    free(twice);

    /* A node with nothing applied has an empty history. */
    int n4 = 0;
    CHECK_EQ(re_sim_add_node(sim, &n4), RE_OK);
    r = (re_sim_apply_record *)1;
    CHECK_EQ(re_sim_apply_history(sim, n4, &r, &n), RE_OK);
    CHECK_EQ(n, 0);
    CHECK(r == NULL);
    finish(sim, &f);
}

/* Out-parameters documented "may be NULL" leave the call's effect whole: the proposal commits,
 * the messages are delivered and released, the node joins. */
static void test_null_outputs(void) {
    factory f = {0};
    re_sim *sim = elected(&f, 13);
    uint64_t base = re_sim_last_index(sim, 1);
    CHECK_EQ(re_sim_propose(sim, 1, (const uint8_t *)"7", 1, NULL), RE_OK);
    CHECK_EQ(re_sim_last_index(sim, 1), base + 1);
    CHECK_EQ(re_sim_transmit(sim, 1), RE_OK);
    CHECK_EQ(re_sim_deliver_count(sim, 1, NULL), RE_OK);
    CHECK_EQ(re_sim_last_index(sim, 2), base + 1);
    CHECK_EQ(re_sim_deliver_between(sim, 1, 3, 100, NULL), RE_OK);
    CHECK_EQ(re_sim_last_index(sim, 3), base + 1);
    CHECK_EQ(re_sim_hold(sim, 1, 2, 1), RE_OK);
    settle(sim, 1);
    CHECK_EQ(re_sim_hold(sim, 1, 2, 0), RE_OK);
    CHECK_EQ(re_sim_held_count(sim), 1);
    CHECK_EQ(re_sim_release_held_in_order(sim, 0, 0, 10, RE_SIM_NEWEST_FIRST, NULL), RE_OK);
    CHECK_EQ(re_sim_held_count(sim), 0);
    settle(sim, 1);
    CHECK_EQ(f.current[2]->total, 7);
    CHECK_EQ(f.current[3]->total, 7);
    int n4 = 0;
    CHECK_EQ(re_sim_add_node(sim, &n4), RE_OK);
    CHECK_EQ(re_sim_join(sim, n4, 1, 0, NULL), RE_OK);
    settle(sim, 1);
    CHECK_EQ(re_sim_membership(sim, 1, n4), RE_SIM_LEARNER);
    CHECK_EQ(re_sim_take_snapshot(sim, 1, 0, NULL), RE_OK);
    CHECK_EQ(re_sim_transfer_leadership(sim, 1, 2, NULL), RE_OK);
    CHECK_EQ(re_sim_deliver_all(sim, 10000, NULL), 1);
    CHECK_EQ(re_sim_leader(sim), 2);
    CHECK_EQ(re_sim_remove_server(sim, 2, n4, NULL), RE_OK);
    settle(sim, 2);
    CHECK_EQ(re_sim_membership(sim, 2, n4), RE_SIM_NOT_MEMBER);
    CHECK_EQ(re_sim_exit_cluster(sim, 3, NULL), RE_OK);
    settle(sim, 2);
    CHECK_EQ(re_sim_membership(sim, 2, 3), RE_SIM_NOT_MEMBER);
    finish(sim, &f);
}

/* A restart with a new election timeout range: the node that comes back fast wins the next
 * election; 0/0 returns a node to the cluster's range. */
static void test_restart_with_election_timeout(void) {
    factory f = {0};
    re_sim_options *o = NULL;
    CHECK_EQ(re_sim_options_new(3, 6, 1, &o), RE_OK);
    CHECK_EQ(re_sim_options_set_election_timeout(o, 0, 800, 900), RE_OK);
    CHECK_EQ(re_sim_options_set_election_timeout(o, 3, 20, 30), RE_OK);
    re_sim *sim = NULL;
    CHECK_EQ(re_sim_new_with_options(o, &counter_table, &f, &sim), RE_OK);
    re_sim_options_free(o);
    CHECK_EQ(re_sim_enable_timers(sim, 1), RE_OK);
    CHECK_EQ(re_sim_run(sim, 200), RE_OK);
    CHECK_EQ(re_sim_leader(sim), 3);
    CHECK_EQ(re_sim_enable_timers(sim, 0), RE_OK);
    CHECK_EQ(re_sim_restart_with_election_timeout(sim, 2, 30, 20), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "election timeout 30-20") != NULL);
    CHECK_EQ(re_sim_restart_with_election_timeout(sim, 2, 0, 5), RE_EINVAL);
    CHECK_EQ(re_sim_lifetime(sim, 2), 1);                 /* refused: not restarted */
    CHECK_EQ(re_sim_restart_with_election_timeout(sim, 3, 800, 900), RE_OK);
    CHECK_EQ(re_sim_restart_with_election_timeout(sim, 2, 20, 30), RE_OK);
    CHECK_EQ(re_sim_lifetime(sim, 2), 2);
    CHECK_EQ(re_sim_leader(sim), 0);
    CHECK_EQ(re_sim_enable_timers(sim, 1), RE_OK);
    CHECK_EQ(re_sim_run(sim, 2000), RE_OK);
    CHECK_EQ(re_sim_leader(sim), 2);
    CHECK_EQ(re_sim_leader_of(sim, 1), 2);
    CHECK_EQ(re_sim_leader_of(sim, 3), 2);
    CHECK_EQ(re_sim_restart_with_election_timeout(sim, 1, 0, 0), RE_OK);
    CHECK_EQ(re_sim_role(sim, 1), RE_ROLE_FOLLOWER);
    finish(sim, &f);
}

int main(void) {
    test_arguments();
    test_total_loss_on_one_link();
    test_loss_is_deterministic_per_seed();
    test_delay();
    test_selective_delivery();
    test_per_node_election_timeouts();
    test_unsynced_writes_lost_at_crash();
    test_sync_jobs();
    test_membership();
    test_snapshot_install();
    test_apply_history_across_restarts();
    test_null_outputs();
    test_restart_with_election_timeout();
    printf("test_sim_cluster: %d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
