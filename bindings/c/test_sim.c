/* The deterministic simulator from C (re_sim_*): a 3-node cluster whose nodes run a C counter
 * machine, driven message by message through an election, commands, a crash and restart, a
 * partition (the minority cannot commit), held, dropped and duplicated messages, the trace in
 * its three formats, and a fault sweep with the same machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftengine.h"

static int passes, failures;
#define CHECK(cond) do { if (cond) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a == _b) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, #b, _a, _b); } } while (0)

#include "sim_counter.h"

/* 1 when the request's outcome is known with `status` (and, if `want` is set, that result). */
static int outcome_is(re_sim *sim, uint64_t rid, int status, const char *want) {
    int st = 99;
    const uint8_t *res = NULL;
    size_t len = 0;
    if (re_sim_outcome(sim, rid, &st, &res, &len) != 1 || st != status) return 0;
    return want == NULL || (len == strlen(want) && memcmp(res, want, len) == 0);
}

/* re_sim_deliver_until's condition: node 1 applied something beyond what was seen last. */
static uint64_t applied_seen;
static int leader_applied(void *user) {
    re_sim *sim = user;
    return re_sim_applied_index(sim, 1) > applied_seen;
}

static void settle(re_sim *sim, int leader) {
    CHECK_EQ(re_sim_deliver_all(sim, 10000, NULL), 1);
    CHECK_EQ(re_sim_heartbeat(sim, leader), RE_OK);
    CHECK_EQ(re_sim_deliver_all(sim, 10000, NULL), 1);
}

static void test_arguments(void) {
    re_sim *sim = NULL;
    factory f = {0};
    CHECK_EQ(re_sim_new(0, 1, 1, &counter_table, &f, &sim), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "nodes 0") != NULL);
    CHECK_EQ(re_sim_new(3, 1, 1, NULL, &f, &sim), RE_EINVAL);
    CHECK_EQ(re_sim_new(3, 1, 1, &counter_table, &f, &sim), RE_OK);
    CHECK_EQ(re_sim_node_count(sim), 3);
    CHECK_EQ(re_sim_crash(sim, 4), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "node 4") != NULL);
    CHECK_EQ(re_sim_role(sim, 0), -1);
    CHECK_EQ(re_sim_drop(sim, 1, 0), RE_ENOTFOUND);
    char *text = NULL;
    CHECK_EQ(re_sim_trace(sim, RE_SIM_TRACE_CSV, 5, &text), RE_ENOTFOUND);
    CHECK_EQ(re_sim_trace(sim, 9, 0, &text), RE_EINVAL);
    re_sim_free(sim);
    CHECK_EQ(f.made, 3);
    CHECK_EQ(f.destroyed, 3);
}

static void test_cluster(void) {
    factory f = {0};
    re_sim *sim = NULL;
    CHECK_EQ(re_sim_new(3, 7, 1, &counter_table, &f, &sim), RE_OK);
    CHECK_EQ(f.made, 3);
    CHECK_EQ(re_sim_leader(sim), 0);

    /* Election. */
    CHECK_EQ(re_sim_section(sim, "Election"), RE_OK);
    CHECK_EQ(re_sim_elect(sim, 1), RE_OK);
    CHECK_EQ(re_sim_role(sim, 1), RE_ROLE_LEADER);
    CHECK_EQ(re_sim_role(sim, 2), RE_ROLE_FOLLOWER);
    CHECK_EQ(re_sim_leader(sim), 1);
    CHECK_EQ(re_sim_leader_of(sim, 3), 1);
    uint64_t term = re_sim_term(sim, 1);
    CHECK(term >= 1);
    CHECK_EQ(re_sim_term(sim, 2), term);
    uint64_t base = re_sim_commit_index(sim, 1);   /* the new leader's own entry */
    CHECK_EQ(re_sim_last_index(sim, 2), base);

    /* Commands: at the leader they apply everywhere; at a follower they are redirected. */
    CHECK_EQ(re_sim_section(sim, "Commands"), RE_OK);
    uint64_t r1 = propose(sim, 1, "5");
    CHECK(!outcome_is(sim, r1, RE_OK, NULL));                  /* pending until delivered */
    settle(sim, 1);
    CHECK(outcome_is(sim, r1, RE_OK, "5"));
    uint64_t r2 = propose(sim, 1, "3");
    settle(sim, 1);
    CHECK(outcome_is(sim, r2, RE_OK, "8"));
    for (int n = 1; n <= 3; n++) {
        CHECK_EQ(re_sim_commit_index(sim, n), base + 2);
        CHECK_EQ(re_sim_applied_index(sim, n), base + 2);
        CHECK_EQ(f.current[n]->total, 8);
    }
    /* Deliver until a condition holds: here until the leader has applied the command, before
     * the followers learn it is committed. */
    applied_seen = re_sim_applied_index(sim, 1);
    uint64_t r2b = propose(sim, 1, "0");
    CHECK_EQ(re_sim_deliver_until(sim, leader_applied, sim, 10000), 1);
    CHECK_EQ(re_sim_applied_index(sim, 1), base + 3);
    CHECK(re_sim_commit_index(sim, 2) < base + 3);
    CHECK(outcome_is(sim, r2b, RE_OK, "8"));
    settle(sim, 1);
    applied_seen = re_sim_applied_index(sim, 1);
    CHECK_EQ(re_sim_deliver_until(sim, leader_applied, sim, 10000), 0);   /* quiet: never true again */
    base += 1;
    uint64_t r3 = propose(sim, 2, "1");
    CHECK(outcome_is(sim, r3, RE_ENOTLEADER, NULL));

    /* A follower crashes, a command commits without it, it restarts on a new machine that the
     * log rebuilds. */
    CHECK_EQ(re_sim_section(sim, "Crash"), RE_OK);
    CHECK_EQ(re_sim_crash(sim, 3), RE_OK);
    CHECK_EQ(re_sim_role(sim, 3), RE_ROLE_STOPPED);
    uint64_t r4 = propose(sim, 1, "10");
    settle(sim, 1);
    CHECK(outcome_is(sim, r4, RE_OK, "18"));
    CHECK_EQ(re_sim_commit_index(sim, 3), 0);
    CHECK_EQ(re_sim_propose(sim, 3, (const uint8_t *)"1", 1, NULL), RE_ESTOPPED);
    CHECK_EQ(re_sim_restart(sim, 3), RE_OK);
    CHECK_EQ(f.created[3], 2);
    CHECK_EQ(f.destroyed, 1);                                   /* the crashed lifetime's machine */
    settle(sim, 1);
    CHECK_EQ(re_sim_commit_index(sim, 3), base + 3);
    CHECK_EQ(f.current[3]->total, 18);

    /* A partition: the old leader alone cannot commit; the majority elects and commits; after
     * the heal the old leader follows and its uncommitted entry is gone. */
    CHECK_EQ(re_sim_section(sim, "Partition"), RE_OK);
    int groups[3] = {1, 2, 2};
    CHECK_EQ(re_sim_partition(sim, groups, 3), RE_OK);
    uint64_t lost = propose(sim, 1, "1000");
    CHECK_EQ(re_sim_deliver_all(sim, 10000, NULL), 1);
    CHECK_EQ(re_sim_last_index(sim, 1), base + 4);
    CHECK_EQ(re_sim_commit_index(sim, 1), base + 3);            /* no majority: not committed */
    CHECK_EQ(re_sim_outcome(sim, lost, NULL, NULL, NULL), 0);
    /* Node 3 refuses to vote while it still counts on its leader: time passes first. */
    CHECK_EQ(re_sim_elect(sim, 2), RE_OK);
    CHECK(re_sim_role(sim, 2) != RE_ROLE_LEADER);               /* its pre-vote was refused */
    CHECK_EQ(re_sim_advance(sim, 301), RE_OK);                  /* timers off: only the clocks move */
    CHECK_EQ(re_sim_elect(sim, 2), RE_OK);
    CHECK_EQ(re_sim_role(sim, 2), RE_ROLE_LEADER);
    CHECK(re_sim_term(sim, 2) > term);
    uint64_t r5 = propose(sim, 2, "2");
    settle(sim, 2);
    CHECK(outcome_is(sim, r5, RE_OK, "20"));
    CHECK_EQ(re_sim_commit_index(sim, 1), base + 3);
    CHECK_EQ(re_sim_heal(sim), RE_OK);
    settle(sim, 2);
    CHECK_EQ(re_sim_role(sim, 1), RE_ROLE_FOLLOWER);
    CHECK_EQ(re_sim_leader_of(sim, 1), 2);
    CHECK_EQ(re_sim_commit_index(sim, 1), re_sim_commit_index(sim, 2));
    CHECK_EQ(f.current[1]->total, 20);                          /* the 1000 never applied */

    /* Held, duplicated and dropped messages. */
    CHECK_EQ(re_sim_section(sim, "Messages"), RE_OK);
    CHECK_EQ(re_sim_hold(sim, 2, 0, 1), RE_OK);
    uint64_t r6 = propose(sim, 2, "1");
    CHECK_EQ(re_sim_deliver_all(sim, 10000, NULL), 1);
    CHECK_EQ(re_sim_held_count(sim), 2);                        /* the appends to 1 and 3 */
    CHECK_EQ(re_sim_outcome(sim, r6, NULL, NULL, NULL), 0);
    CHECK_EQ(re_sim_hold(sim, 2, 0, 0), RE_OK);
    size_t released = 0;
    CHECK_EQ(re_sim_release_held(sim, 2, 3, 10, &released), RE_OK);
    CHECK_EQ(released, 1);
    CHECK_EQ(re_sim_drop_held(sim, 0, 0), RE_OK);
    CHECK_EQ(re_sim_held_count(sim), 0);
    CHECK_EQ(re_sim_inbox_count(sim, 3), 1);
    CHECK_EQ(re_sim_duplicate(sim, 3, 0), RE_OK);
    CHECK_EQ(re_sim_inbox_count(sim, 3), 2);
    CHECK_EQ(re_sim_deliver(sim, 3, 0), 1);
    CHECK_EQ(re_sim_drop(sim, 3, 0), RE_OK);                    /* the duplicate */
    CHECK_EQ(re_sim_deliver(sim, 3, 0), 0);
    CHECK_EQ(re_sim_deliver_all(sim, 10000, NULL), 1);
    CHECK(outcome_is(sim, r6, RE_OK, "21"));                    /* 2 and 3 are a majority */
    settle(sim, 2);
    CHECK_EQ(f.current[1]->total, 21);

    /* A one-way cut: 2 no longer reaches 1; 1 stays behind until it ends. */
    CHECK_EQ(re_sim_cut(sim, 2, 1), RE_OK);
    uint64_t r7 = propose(sim, 2, "4");
    settle(sim, 2);
    CHECK(outcome_is(sim, r7, RE_OK, "25"));
    CHECK(re_sim_commit_index(sim, 1) < re_sim_commit_index(sim, 2));
    CHECK_EQ(re_sim_uncut(sim, 2, 1), RE_OK);
    settle(sim, 2);
    CHECK_EQ(re_sim_commit_index(sim, 1), re_sim_commit_index(sim, 2));

    /* Time: with timers on, heartbeats keep the leader; a node whose leader is cut off for
     * longer than the election timeout takes over. */
    CHECK_EQ(re_sim_enable_timers(sim, 1), RE_OK);
    CHECK_EQ(re_sim_run(sim, 500), RE_OK);
    CHECK_EQ(re_sim_leader(sim), 2);

    /* The trace: five sections, the rows the steps above must have left. */
    CHECK_EQ(re_sim_section_count(sim), 5);
    char *rst = NULL, *csv = NULL, *puml = NULL;
    CHECK_EQ(re_sim_trace(sim, RE_SIM_TRACE_RST, 0, &rst), RE_OK);
    CHECK(rst && strstr(rst, "Crash") && strstr(rst, "CRASH") && strstr(rst, "RESTART") && strstr(rst, "NETSPLIT") &&
          strstr(rst, "NETJOIN") && strstr(rst, "CMD START") && strstr(rst, "CMD DONE"));
    CHECK_EQ(re_sim_trace(sim, RE_SIM_TRACE_CSV, 1, &csv), RE_OK);
    CHECK(csv && strncmp(csv, "N-1 role,N-1 op,", 16) == 0);
    CHECK(csv && strstr(csv, "\nLEAD,NEW ROLE,") != NULL);      /* node 1 became leader */
    CHECK(csv && strstr(csv, "ae+N-2 t-1") != NULL);            /* and sent its first append */
    CHECK_EQ(re_sim_trace(sim, RE_SIM_TRACE_PLANTUML, 3, &puml), RE_OK);
    CHECK(puml && strstr(puml, "@startuml") && strstr(puml, "@enduml"));
    const char *path = "/tmp/raftengine_test_sim_trace.rst";
    CHECK_EQ(re_sim_write_trace(sim, RE_SIM_TRACE_RST, 0, path), RE_OK);
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    if (fp) {
        char *buf = calloc(1, strlen(rst) + 2);
        size_t got = fread(buf, 1, strlen(rst) + 1, fp);
        CHECK_EQ(got, strlen(rst));
        CHECK(memcmp(buf, rst, got) == 0);
        free(buf);
        fclose(fp);
        remove(path);
    }
    CHECK_EQ(re_sim_write_trace(sim, RE_SIM_TRACE_CSV, 0, "/nonexistent-dir/x.csv"), RE_EIO);
    CHECK(strstr(re_errmsg(), "/nonexistent-dir/x.csv") != NULL);
    free(rst);
    free(csv);
    free(puml);

    re_sim_free(sim);
    CHECK_EQ(f.destroyed, f.made);
}

/* Step by step: a campaign's requests wait in the candidate's outbox until transmitted; one
 * node's clock run ahead alone makes only its election timer fire. */
static void test_step_by_step(void) {
    factory f = {0};
    re_sim *sim = NULL;
    CHECK_EQ(re_sim_new(3, 11, 0, &counter_table, &f, &sim), RE_OK);
    CHECK_EQ(re_sim_campaign(sim, 2), RE_OK);
    CHECK_EQ(re_sim_role(sim, 2), RE_ROLE_CANDIDATE);
    CHECK_EQ(re_sim_inbox_count(sim, 1), 0);
    CHECK_EQ(re_sim_transmit(sim, 2), RE_OK);
    CHECK_EQ(re_sim_inbox_count(sim, 1), 1);
    CHECK_EQ(re_sim_inbox_count(sim, 3), 1);
    CHECK_EQ(re_sim_deliver(sim, 1, 0), 1);
    CHECK_EQ(re_sim_transmit(sim, 1), RE_OK);
    CHECK_EQ(re_sim_deliver(sim, 2, 0), 1);  /* n1's vote: a majority with its own */
    CHECK_EQ(re_sim_role(sim, 2), RE_ROLE_LEADER);
    settle(sim, 2);
    CHECK_EQ(re_sim_leader_of(sim, 3), 2);
    uint64_t term = re_sim_term(sim, 3);
    CHECK_EQ(re_sim_enable_timers(sim, 1), RE_OK);
    CHECK_EQ(re_sim_advance_node(sim, 3, 5000), RE_OK);
    CHECK_EQ(re_sim_advance(sim, 1), RE_OK);
    CHECK(re_sim_term(sim, 3) > term);             /* n3 alone timed out and campaigned */
    CHECK_EQ(re_sim_term(sim, 1), term);
    CHECK_EQ(re_sim_campaign(sim, 9), RE_EINVAL);
    CHECK_EQ(re_sim_transmit(sim, 9), RE_EINVAL);
    CHECK_EQ(re_sim_advance_node(sim, 0, 1), RE_EINVAL);
    re_sim_free(sim);
    CHECK_EQ(f.destroyed, f.made);
}

static void test_fault_sweep(void) {
    factory f = {0};
    uint64_t run = 0, failing = 99;
    char *why = (char *)"unset";
    int sizes[] = {3, 5};
    CHECK_EQ(re_sim_fault_sweep(1, 50, sizes, 2, &counter_table, &f, 0, &run, &failing, &why), RE_OK);
    CHECK_EQ(run, 50);
    CHECK_EQ(failing, 0);
    CHECK(why == NULL);
    if (why) { fprintf(stderr, "%s\n", why); free(why); }
    CHECK(f.made >= 50 * 3);
    CHECK_EQ(f.destroyed, f.made);
    CHECK_EQ(re_sim_fault_sweep(0, 5, NULL, 0, NULL, NULL, 0, &run, &failing, NULL), RE_EINVAL);
}

int main(void) {
    test_arguments();
    test_cluster();
    test_step_by_step();
    test_fault_sweep();
    printf("test_sim: %d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
