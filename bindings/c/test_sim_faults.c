/* The simulator's fault mode with options, one-seed replay, and client histories from C:
 * options and their defaults (and the `size` rule), user invariants reading the cluster,
 * rates, steps, pre-vote, cluster operations, storage faults and recovery seen in the action
 * log and the trace, the same seed giving the same run, and linearizability checks of client
 * histories recorded through a simulated cluster and by hand. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftengine.h"

static int passes, failures;
#define CHECK(cond) do { if (cond) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a == _b) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, #b, _a, _b); } } while (0)

#include "sim_counter.h"

/* ---- Fault mode ---- */

/* How many times each action kind appears in the run's log. */
static size_t count_kind(const re_sim_fault_run *run, const char *kind) {
    size_t n = 0;
    for (size_t i = 0; i < re_sim_fault_run_action_count(run); i++) {
        const char *k = NULL;
        if (re_sim_fault_run_action(run, i, NULL, NULL, &k, NULL) == RE_OK && strcmp(k, kind) == 0) n++;
    }
    return n;
}

static re_sim_fault_run *run_seed(uint64_t seed, const re_sim_fault_options *o) {
    re_sim_fault_run *run = NULL;
    CHECK_EQ(re_sim_fault_run_seed(seed, o, &run), RE_OK);
    return run;
}

static void test_defaults_and_size(void) {
    re_sim_fault_options o;
    memset(&o, 0x55, sizeof o);
    re_sim_fault_options_init(&o);
    CHECK_EQ(o.size, sizeof o);
    CHECK_EQ(o.nodes, 3);
    CHECK_EQ(o.steps, 400);
    CHECK_EQ(o.pre_vote, -1);
    CHECK_EQ(o.cluster_operations, 1);
    CHECK_EQ(o.check_recovery, 1);
    CHECK_EQ(o.storage_faults, 0);
    CHECK_EQ(o.trace, 0);
    CHECK(o.machine == NULL && o.invariants == NULL && o.n_invariants == 0);
    const re_sim_fault_rates *r = &o.rates;
    CHECK_EQ(r->deliver + r->advance + r->propose + r->drop + r->duplicate + r->crash + r->restart + r->partition +
             r->heal + r->cluster_operation + r->link_fault, 1000);
    CHECK_EQ(r->crash, 20);
    CHECK_EQ(r->link_fault, 0);
    CHECK_EQ(r->power_loss, 15);

    /* A host compiled before `rates` existed: its size stops before them, so the zeros here
     * are not read and the run takes the default actions. */
    o.steps = 25;
    o.check_recovery = 0;
    memset(&o.rates, 0, sizeof o.rates);
    o.sync_job_rate = 0; /* seed 3 syncs off the loop: its sync jobs' weight too */
    re_sim_fault_run *run = run_seed(3, &o);
    CHECK_EQ(re_sim_fault_run_action_count(run), 0); /* every weight 0: the turns do nothing */
    CHECK_EQ(re_sim_fault_run_turns(run), 25);
    re_sim_fault_run_free(run);
    o.size = offsetof(re_sim_fault_options, rates);
    run = run_seed(3, &o);
    CHECK_EQ(re_sim_fault_run_action_count(run), 25);
    re_sim_fault_run_free(run);

    o.size = 0;
    CHECK_EQ(re_sim_fault_run_seed(3, &o, &run), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "re_sim_fault_options_init") != NULL);
    re_sim_fault_options_init(&o);
    o.nodes = 16;
    CHECK_EQ(re_sim_fault_run_seed(3, &o, &run), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "nodes 16") != NULL);
    re_sim_fault_options_init(&o);
    o.n_invariants = 1;
    CHECK_EQ(re_sim_fault_run_seed(3, &o, &run), RE_EINVAL);
    CHECK_EQ(re_sim_fault_run_seed(3, NULL, NULL), RE_EINVAL);
    re_sim_fault_run_free(NULL);
}

static size_t sync_actions(const re_sim_fault_run *run) {
    return count_kind(run, "syncJob") + count_kind(run, "syncRun") + count_kind(run, "syncComplete");
}

/* Where syncs run: off the loop a job's fdatasync and its completion are actions of their own
 * (power losses land between them, and the run stays safe); inline, or at rate 0, there are
 * none. A host compiled before the fields passes a size short of them: the seed chooses. */
static void test_sync_placement(void) {
    re_sim_fault_options o;
    re_sim_fault_options_init(&o);
    CHECK_EQ(o.sync_placement, -1);
    CHECK_EQ(o.sync_job_rate, 150);
    o.steps = 300;
    o.storage_faults = 1;
    o.sync_placement = RE_SIM_SYNC_ALWAYS;
    size_t ran = 0, completed = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        re_sim_fault_run *run = run_seed(seed, &o);
        CHECK_EQ(re_sim_fault_run_violation_count(run), 0);
        CHECK(re_sim_fault_run_committed(run) > 0);
        ran += count_kind(run, "syncRun");
        completed += count_kind(run, "syncComplete");
        re_sim_fault_run_free(run);
    }
    CHECK(ran > 0 && completed > 0);

    re_sim_fault_options_init(&o);
    o.steps = 150;
    o.check_recovery = 0;
    o.sync_placement = RE_SIM_SYNC_INLINE;
    re_sim_fault_run *run = run_seed(5, &o);
    CHECK_EQ(sync_actions(run), 0);
    re_sim_fault_run_free(run);
    o.sync_placement = RE_SIM_SYNC_LEADER;
    o.sync_job_rate = 0;
    run = run_seed(5, &o);
    CHECK_EQ(sync_actions(run), 0);
    re_sim_fault_run_free(run);

    /* Seed 5 chooses to sync off the loop in every role: its own choice, named or not. */
    o.sync_job_rate = 150;
    o.sync_placement = -1;
    re_sim_fault_run *seeded = run_seed(5, &o);
    size_t seeded_completes = count_kind(seeded, "syncComplete");
    CHECK(seeded_completes > 0);
    o.sync_placement = RE_SIM_SYNC_ALWAYS;
    run = run_seed(5, &o);
    CHECK_EQ(count_kind(run, "syncComplete"), seeded_completes);
    re_sim_fault_run_free(run);
    o.sync_placement = RE_SIM_SYNC_INLINE;
    o.size = offsetof(re_sim_fault_options, sync_placement);
    run = run_seed(5, &o);
    CHECK_EQ(count_kind(run, "syncComplete"), seeded_completes);
    re_sim_fault_run_free(run);
    re_sim_fault_run_free(seeded);

    re_sim_fault_options_init(&o);
    o.sync_placement = 3;
    CHECK_EQ(re_sim_fault_run_seed(3, &o, &run), RE_EINVAL);
    CHECK(strstr(re_errmsg(), "sync_placement 3") != NULL);
}

/* An invariant that never holds; it says how many nodes it saw and counts its calls. */
typedef struct seen {
    unsigned calls;
    int nodes;
} seen;

static int never_holds(void *user, const re_sim *sim, char *why, size_t why_len) {
    seen *s = user;
    s->calls++;
    s->nodes = re_sim_node_count(sim);
    snprintf(why, why_len, "saw %d nodes, leader %d", re_sim_node_count(sim), re_sim_leader(sim));
    return 1;
}

/* Holds while no two live nodes lead in the same term (election safety, read through the getters). */
static int one_leader_per_term(void *user, const re_sim *sim, char *why, size_t why_len) {
    unsigned *calls = user;
    (*calls)++;
    int n = re_sim_node_count(sim);
    for (int a = 1; a <= n; a++)
        for (int b = a + 1; b <= n; b++)
            if (re_sim_role(sim, a) == RE_ROLE_LEADER && re_sim_role(sim, b) == RE_ROLE_LEADER &&
                re_sim_term(sim, a) == re_sim_term(sim, b)) {
                snprintf(why, why_len, "nodes %d and %d both lead term %llu", a, b, (unsigned long long)re_sim_term(sim, a));
                return 1;
            }
    return 0;
}

static void test_invariants(void) {
    seen s = {0};
    re_sim_invariant bad = {.name = "never holds", .check = never_holds, .user = &s};
    re_sim_fault_options o;
    re_sim_fault_options_init(&o);
    o.steps = 50;
    o.invariants = &bad;
    o.n_invariants = 1;
    re_sim_fault_run *run = run_seed(7, &o);
    CHECK(re_sim_fault_run_violation_count(run) >= 1);
    const char *property = NULL, *message = NULL;
    uint64_t step = 99;
    CHECK_EQ(re_sim_fault_run_violation(run, 0, &property, &message, &step), RE_OK);
    CHECK(property && strcmp(property, "never holds") == 0);
    CHECK(message && strcmp(message, "never holds: saw 3 nodes, leader 0") == 0);
    /* Seen after the run's first step: the turns before took none (nothing to deliver yet),
     * and the run stopped at the turn that took it. */
    size_t turns = re_sim_fault_run_turns(run);
    CHECK(turns >= 1);
    CHECK_EQ(re_sim_fault_run_action_count(run), turns);
    uint64_t first = 0, last = 0;
    re_sim_fault_run_action(run, 0, NULL, &first, NULL, NULL);
    re_sim_fault_run_action(run, turns - 1, NULL, &last, NULL, NULL);
    CHECK_EQ(last, first);
    CHECK_EQ(step, first + 1);
    CHECK(s.calls >= 1);
    CHECK_EQ(s.nodes, 3);
    CHECK_EQ(re_sim_fault_run_violation(run, 99, &property, NULL, NULL), RE_ENOTFOUND);
    re_sim_fault_run_free(run);

    /* The sweep reports the first seed, with the invariant's words. */
    uint64_t ran = 0, failing = 0;
    char *why = NULL;
    CHECK_EQ(re_sim_fault_sweep_with(5, 3, NULL, 0, &o, 1, &ran, &failing, &why), RE_OK);
    CHECK_EQ(ran, 1);
    CHECK_EQ(failing, 5);
    CHECK(why && strstr(why, "seed 5 (3 nodes)") && strstr(why, "never holds: saw 3 nodes"));
    free(why);

    /* An invariant that holds runs after every step and lets every seed pass, on the sizes given. */
    unsigned calls = 0;
    re_sim_invariant good = {.name = "one leader per term", .check = one_leader_per_term, .user = &calls};
    factory f = {0};
    re_sim_fault_options_init(&o);
    o.steps = 150;
    o.invariants = &good;
    o.n_invariants = 1;
    o.machine = &counter_table;
    o.factory = &f;
    int sizes[] = {3, 5};
    why = (char *)"unset";
    CHECK_EQ(re_sim_fault_sweep_with(1, 12, sizes, 2, &o, 0, &ran, &failing, &why), RE_OK);
    CHECK_EQ(ran, 12);
    CHECK_EQ(failing, 0);
    CHECK(why == NULL);
    CHECK(calls > 12 * 150);
    CHECK(f.made >= 6 * 3 + 6 * 5);
    CHECK_EQ(f.destroyed, f.made);
}

static void test_rates_steps_and_switches(void) {
    re_sim_fault_options o;
    re_sim_fault_options_init(&o);
    o.steps = 120;
    /* The default rates crash, partition and propose on these seeds... */
    size_t crashes = 0, partitions = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        re_sim_fault_run *run = run_seed(seed, &o);
        CHECK_EQ(re_sim_fault_run_violation_count(run), 0);
        CHECK_EQ(re_sim_fault_run_turns(run), 120);
        CHECK_EQ(re_sim_fault_run_action_count(run), 120); /* one action per turn */
        crashes += count_kind(run, "crash");
        partitions += count_kind(run, "partition");
        re_sim_fault_run_free(run);
    }
    CHECK(crashes > 0 && partitions > 0);
    /* ... and with their weights 0, never. */
    o.rates.crash = 0;
    o.rates.partition = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        re_sim_fault_run *run = run_seed(seed, &o);
        CHECK_EQ(re_sim_fault_run_violation_count(run), 0);
        CHECK_EQ(count_kind(run, "crash"), 0);
        CHECK_EQ(count_kind(run, "partition"), 0);
        CHECK(count_kind(run, "deliver") > 0);
        re_sim_fault_run_free(run);
    }

    /* Steps set the run's length. */
    re_sim_fault_options_init(&o);
    o.steps = 30;
    re_sim_fault_run *shortRun = run_seed(9, &o);
    o.steps = 90;
    re_sim_fault_run *longRun = run_seed(9, &o);
    CHECK_EQ(re_sim_fault_run_turns(shortRun), 30);
    CHECK_EQ(re_sim_fault_run_action_count(shortRun), 30);
    CHECK_EQ(re_sim_fault_run_turns(longRun), 90);
    CHECK_EQ(re_sim_fault_run_action_count(longRun), 90);
    /* The longer run starts as the shorter one did. */
    for (size_t i = 0; i < 30; i++) {
        const char *a = NULL, *b = NULL;
        int na = -1, nb = -2;
        re_sim_fault_run_action(shortRun, i, NULL, NULL, &a, &na);
        re_sim_fault_run_action(longRun, i, NULL, NULL, &b, &nb);
        CHECK(a && b && strcmp(a, b) == 0 && na == nb);
    }
    re_sim_fault_run_free(shortRun);
    re_sim_fault_run_free(longRun);

    /* Cluster operations off: drawn, none runs, no node is added. On: some run. */
    re_sim_fault_options_init(&o);
    o.steps = 300;
    o.nodes = 5;
    o.rates.cluster_operation = 200;
    o.cluster_operations = 0;
    re_sim_fault_run *run = run_seed(1, &o);
    CHECK(count_kind(run, "clusterOperation") > 0);
    CHECK_EQ(count_kind(run, "snapshot") + count_kind(run, "transfer") + count_kind(run, "add") +
             count_kind(run, "remove") + count_kind(run, "promote"), 0);
    CHECK_EQ(re_sim_node_count(re_sim_fault_run_sim(run)), 5);
    re_sim_fault_run_free(run);
    o.cluster_operations = 1;
    run = run_seed(1, &o);
    CHECK_EQ(re_sim_fault_run_violation_count(run), 0);
    CHECK(count_kind(run, "snapshot") + count_kind(run, "transfer") + count_kind(run, "add") > 0);
    CHECK(re_sim_node_count(re_sim_fault_run_sim(run)) > 5); /* spares joined */
    re_sim_fault_run_free(run);

    /* Storage faults: their actions appear only with the option on. */
    re_sim_fault_options_init(&o);
    o.steps = 200;
    o.rates.power_loss = 100;
    o.rates.disk_full = 50;
    run = run_seed(4, &o);
    CHECK_EQ(count_kind(run, "powerLoss") + count_kind(run, "diskFull"), 0);
    re_sim_fault_run_free(run);
    o.storage_faults = 1;
    run = run_seed(4, &o);
    CHECK_EQ(re_sim_fault_run_violation_count(run), 0);
    CHECK(count_kind(run, "powerLoss") > 0 && count_kind(run, "diskFull") > 0);
    re_sim_fault_run_free(run);

    /* Recovery: with no turns at all, only the recovery check elects a leader and commits. */
    re_sim_fault_options_init(&o);
    o.steps = 0;
    o.check_recovery = 0;
    run = run_seed(6, &o);
    CHECK_EQ(re_sim_fault_run_committed(run), 0);
    CHECK_EQ(re_sim_leader(re_sim_fault_run_sim(run)), 0);
    re_sim_fault_run_free(run);
    o.check_recovery = 1;
    run = run_seed(6, &o);
    const re_sim *sim = re_sim_fault_run_sim(run);
    CHECK_EQ(re_sim_fault_run_violation_count(run), 0);
    CHECK(re_sim_fault_run_committed(run) >= 2); /* the leader's term start and the final command */
    int leader = re_sim_leader(sim);
    CHECK(leader >= 1);
    for (int n = 1; n <= 3; n++) CHECK_EQ(re_sim_applied_index(sim, n), re_sim_commit_index(sim, leader));
    re_sim_fault_run_free(run);

    /* Pre-vote: its messages (p_v_r in the trace) only when on. */
    re_sim_fault_options_init(&o);
    o.steps = 0;
    o.trace = 1;
    for (int pv = 0; pv <= 1; pv++) {
        o.pre_vote = pv;
        run = run_seed(6, &o);
        char *rst = NULL;
        CHECK_EQ(re_sim_trace(re_sim_fault_run_sim(run), RE_SIM_TRACE_RST, 0, &rst), RE_OK);
        CHECK(rst && (strstr(rst, "p_v_r") != NULL) == pv);
        CHECK(rst && strstr(rst, "poll") != NULL);
        free(rst);
        re_sim_fault_run_free(run);
    }
}

/* The action log as one text, and the run's trace. */
static char *action_text(const re_sim_fault_run *run) {
    size_t n = re_sim_fault_run_action_count(run), cap = 64 * n + 1, len = 0;
    char *out = calloc(1, cap);
    for (size_t i = 0; i < n; i++) {
        size_t turn = 0;
        uint64_t step = 0;
        const char *kind = NULL;
        int node = -1;
        CHECK_EQ(re_sim_fault_run_action(run, i, &turn, &step, &kind, &node), RE_OK);
        CHECK_EQ(turn, i);
        len += (size_t)snprintf(out + len, cap - len, "%zu %llu %s %d\n", turn, (unsigned long long)step, kind, node);
    }
    return out;
}

static char *trace_of(const re_sim_fault_run *run, int format) {
    char *text = NULL;
    CHECK_EQ(re_sim_trace(re_sim_fault_run_sim(run), format, 0, &text), RE_OK);
    return text;
}

static void test_replay(void) {
    factory f = {0};
    re_sim_fault_options o;
    re_sim_fault_options_init(&o);
    o.steps = 80;
    o.trace = 1;
    o.machine = &counter_table;
    o.factory = &f;
    re_sim_fault_run *a = run_seed(11, &o), *b = run_seed(11, &o), *c = run_seed(12, &o);
    char *la = action_text(a), *lb = action_text(b), *lc = action_text(c);
    CHECK(strlen(la) > 0 && strcmp(la, lb) == 0);
    CHECK(strcmp(la, lc) != 0);
    for (int format = RE_SIM_TRACE_RST; format <= RE_SIM_TRACE_PLANTUML; format++) {
        char *ta = trace_of(a, format), *tb = trace_of(b, format), *tc = trace_of(c, format);
        CHECK(ta && tb && tc && strlen(ta) > 1000);
        CHECK(ta && tb && strcmp(ta, tb) == 0);
        CHECK(ta && tc && strcmp(ta, tc) != 0);
        if (format == RE_SIM_TRACE_PLANTUML) CHECK(ta && strncmp(ta, "@startuml", 9) == 0);
        free(ta);
        free(tb);
        free(tc);
    }
    CHECK_EQ(re_sim_fault_run_committed(a), re_sim_fault_run_committed(b));
    CHECK(re_sim_fault_run_committed(a) > 0);
    CHECK_EQ(re_sim_fault_run_action(a, 80, NULL, NULL, NULL, NULL), RE_ENOTFOUND);
    free(la);
    free(lb);
    free(lc);
    re_sim_fault_run_free(a);
    re_sim_fault_run_free(b);
    re_sim_fault_run_free(c);
    CHECK(f.made >= 9);
    CHECK_EQ(f.destroyed, f.made);
}

/* ---- Client histories ---- */

/* A read's value: node `node`'s current total. */
static int total_of(void *user, const re_sim *sim, int node, int64_t *value) {
    factory *f = user;
    (void)sim;
    if (node < 1 || node >= MAX_NODES || f->current[node] == NULL) return 1;
    *value = f->current[node]->total;
    return 0;
}

static int cannot_say(void *user, const re_sim *sim, int node, int64_t *value) {
    (void)user, (void)sim, (void)node, (void)value;
    return 1;
}

static int check(const re_sim_history *h, char **why) { return re_sim_history_check(h, 0, why); }

/* Checks operation `id`: completed with `output`. */
static void completed_with(const re_sim_history *h, size_t id, int64_t output) {
    int completion = -1;
    int64_t out = -1;
    CHECK_EQ(re_sim_history_operation(h, id, NULL, NULL, &completion, &out), RE_OK);
    CHECK_EQ(completion, RE_SIM_COMPLETED);
    CHECK_EQ(out, output);
}

static void test_reads_across_a_leader_change(void) {
    factory f = {0};
    re_sim *sim = NULL;
    CHECK_EQ(re_sim_new(3, 5, 1, &counter_table, &f, &sim), RE_OK);
    re_sim_history *h = NULL;
    CHECK_EQ(re_sim_history_new(RE_SIM_MODEL_COUNTER, 0, &h), RE_OK);
    CHECK_EQ(re_sim_elect(sim, 1), RE_OK);

    size_t id = 99;
    uint64_t rid = 0;
    CHECK_EQ(re_sim_history_propose(h, sim, 1, (const uint8_t *)"5", 1, RE_SIM_OP_ADD, 5, "alice", &id, &rid), RE_OK);
    CHECK_EQ(id, 0);
    int completion = -1;
    CHECK_EQ(re_sim_history_operation(h, 0, NULL, NULL, &completion, NULL), RE_OK);
    CHECK_EQ(completion, RE_SIM_PENDING);
    re_sim_deliver_all(sim, 10000, NULL);
    completed_with(h, 0, 5);
    int status = -1;
    CHECK_EQ(re_sim_outcome(sim, rid, &status, NULL, NULL), 1);
    CHECK_EQ(status, RE_OK);
    CHECK_EQ(re_sim_history_read(h, sim, 1, total_of, &f, "bob", &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    completed_with(h, id, 5);

    /* The leader crashes; node 2 is elected once node 3's lease on node 1 has run out. */
    CHECK_EQ(re_sim_crash(sim, 1), RE_OK);
    CHECK_EQ(re_sim_history_read(h, sim, 1, total_of, &f, "bob", &id, NULL), RE_ESTOPPED);
    CHECK_EQ(re_sim_advance(sim, 301), RE_OK);
    CHECK_EQ(re_sim_elect(sim, 2), RE_OK);
    CHECK_EQ(re_sim_leader(sim), 2);
    CHECK_EQ(re_sim_history_read(h, sim, 2, total_of, &f, "bob", &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    completed_with(h, id, 5);
    CHECK_EQ(re_sim_history_propose(h, sim, 2, (const uint8_t *)"3", 1, RE_SIM_OP_ADD, 3, "alice", &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    completed_with(h, id, 8);
    CHECK_EQ(re_sim_history_read(h, sim, 2, total_of, &f, "carol", &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    completed_with(h, id, 8);
    /* A proposal at a follower is redirected: failed, left out of the check. */
    CHECK_EQ(re_sim_history_propose(h, sim, 3, (const uint8_t *)"100", 3, RE_SIM_OP_ADD, 100, NULL, &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    CHECK_EQ(re_sim_history_operation(h, id, NULL, NULL, &completion, NULL), RE_OK);
    CHECK_EQ(completion, RE_SIM_FAILED);
    CHECK_EQ(re_sim_history_count(h), 6);

    char *why = NULL;
    CHECK_EQ(check(h, &why), RE_SIM_LINEARIZABLE);
    CHECK(why && strncmp(why, "linearizable: order ", 20) == 0 && strstr(why, "op 0 [alice] add 5"));
    free(why);
    CHECK_EQ(re_sim_history_propose(h, sim, 2, (const uint8_t *)"1", 1, RE_SIM_OP_WRITE, 1, NULL, NULL, NULL), RE_EINVAL);

    /* A register through the same cluster: "=N" writes N. */
    re_sim_history *reg = NULL;
    CHECK_EQ(re_sim_history_new(RE_SIM_MODEL_REGISTER, 0, &reg), RE_OK);
    CHECK_EQ(re_sim_history_propose(reg, sim, 2, (const uint8_t *)"=42", 3, RE_SIM_OP_WRITE, 42, NULL, NULL, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    CHECK_EQ(re_sim_history_read(reg, sim, 2, total_of, &f, NULL, &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    completed_with(reg, id, 42);
    CHECK_EQ(check(reg, NULL), RE_SIM_LINEARIZABLE);
    /* A read whose value cannot be told is a wrong answer. */
    CHECK_EQ(re_sim_history_read(reg, sim, 2, cannot_say, NULL, NULL, &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    CHECK_EQ(check(reg, &why), RE_SIM_NOT_LINEARIZABLE);
    CHECK(why && strstr(why, "could not say"));
    free(why);
    re_sim_history_free(reg);

    /* A read through the log: the command's result is the value read. */
    CHECK_EQ(re_sim_history_propose(h, sim, 2, (const uint8_t *)"0", 1, RE_SIM_OP_READ, 0, NULL, &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    completed_with(h, id, 42);
    CHECK_EQ(check(h, NULL), RE_SIM_NOT_LINEARIZABLE); /* the register's "=42" was no counter add */
    re_sim_history *log_reads = NULL;
    CHECK_EQ(re_sim_history_new(RE_SIM_MODEL_COUNTER, 42, &log_reads), RE_OK);
    CHECK_EQ(re_sim_history_propose(log_reads, sim, 2, (const uint8_t *)"0", 1, RE_SIM_OP_READ, 0, NULL, &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    completed_with(log_reads, id, 42);
    CHECK_EQ(check(log_reads, NULL), RE_SIM_LINEARIZABLE);
    /* A result that is no number is a wrong answer. */
    CHECK_EQ(re_sim_history_propose(log_reads, sim, 2, (const uint8_t *)"name", 4, RE_SIM_OP_READ, 0, NULL, &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    CHECK_EQ(check(log_reads, &why), RE_SIM_NOT_LINEARIZABLE);
    CHECK(why && strstr(why, "result \"counter\" is not a decimal integer"));
    free(why);
    re_sim_history_free(log_reads);
    /* The cluster may go first; the history stays readable. */
    re_sim_free(sim);
    CHECK_EQ(f.destroyed, f.made);
    CHECK_EQ(re_sim_history_count(h), 7);
    CHECK_EQ(check(h, NULL), RE_SIM_NOT_LINEARIZABLE);
    re_sim_history_free(h);
}

static void test_stale_local_read(void) {
    factory f = {0};
    re_sim *sim = NULL;
    CHECK_EQ(re_sim_new(3, 8, 1, &counter_table, &f, &sim), RE_OK);
    re_sim_history *h = NULL;
    CHECK_EQ(re_sim_history_new(RE_SIM_MODEL_COUNTER, 0, &h), RE_OK);
    CHECK_EQ(re_sim_elect(sim, 1), RE_OK);
    size_t id = 0;
    CHECK_EQ(re_sim_history_propose(h, sim, 1, (const uint8_t *)"5", 1, RE_SIM_OP_ADD, 5, NULL, &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    completed_with(h, id, 5);

    /* Node 1 is cut off; the majority elects node 2 and adds 10. */
    int groups[3] = {1, 2, 2};
    CHECK_EQ(re_sim_partition(sim, groups, 3), RE_OK);
    CHECK_EQ(re_sim_advance(sim, 301), RE_OK);
    CHECK_EQ(re_sim_elect(sim, 2), RE_OK);
    CHECK_EQ(re_sim_history_propose(h, sim, 2, (const uint8_t *)"10", 2, RE_SIM_OP_ADD, 10, NULL, &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    completed_with(h, id, 15);
    CHECK_EQ(re_sim_role(sim, 1), RE_ROLE_LEADER); /* it has not heard */

    /* A ReadIndex at the old leader cannot confirm it leads: it stays pending, which is safe. */
    CHECK_EQ(re_sim_history_read(h, sim, 1, total_of, &f, NULL, &id, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    int completion = -1;
    CHECK_EQ(re_sim_history_operation(h, id, NULL, NULL, &completion, NULL), RE_OK);
    CHECK_EQ(completion, RE_SIM_PENDING);
    CHECK_EQ(check(h, NULL), RE_SIM_LINEARIZABLE);

    /* Its local state answers at once, stale: no order explains it. */
    CHECK_EQ(re_sim_history_read_locally(h, sim, 1, total_of, &f, NULL, &id), RE_OK);
    completed_with(h, id, 5);
    /* NULL out-parameters skip nothing: each call still records its operation. */
    size_t before = re_sim_history_count(h);
    CHECK_EQ(re_sim_history_read_locally(h, sim, 1, total_of, &f, NULL, NULL), RE_OK);
    completed_with(h, before, 5);
    CHECK_EQ(re_sim_history_read(h, sim, 2, total_of, &f, NULL, NULL, NULL), RE_OK);
    CHECK_EQ(re_sim_history_propose(h, sim, 2, (const uint8_t *)"1", 1, RE_SIM_OP_ADD, 1, NULL, NULL, NULL), RE_OK);
    re_sim_deliver_all(sim, 10000, NULL);
    CHECK_EQ(re_sim_history_count(h), before + 3);
    completed_with(h, before + 1, 15);
    completed_with(h, before + 2, 16);
    char *why = NULL;
    CHECK_EQ(check(h, &why), RE_SIM_NOT_LINEARIZABLE);
    CHECK(why && strncmp(why, "not linearizable", 16) == 0 && strstr(why, "read: invoked at") && strstr(why, "answered 5"));
    free(why);
    /* The history may go first, with a read still pending in the cluster that goes on. */
    re_sim_history_free(h);
    re_sim_heal(sim);
    re_sim_deliver_all(sim, 10000, NULL);
    re_sim_free(sim);
    CHECK_EQ(f.destroyed, f.made);
}

static void test_histories_by_hand(void) {
    re_sim_history *h = NULL;
    size_t w = 0, r = 0;
    /* A read of a value never written. */
    CHECK_EQ(re_sim_history_new(RE_SIM_MODEL_REGISTER, 0, &h), RE_OK);
    CHECK_EQ(re_sim_history_invoke(h, RE_SIM_OP_WRITE, 1, "a", &w), RE_OK);
    CHECK_EQ(re_sim_history_complete(h, w, 0), RE_OK);
    CHECK_EQ(re_sim_history_invoke(h, RE_SIM_OP_READ, 0, "b", &r), RE_OK);
    CHECK_EQ(re_sim_history_complete(h, r, 7), RE_OK);
    CHECK_EQ(check(h, NULL), RE_SIM_NOT_LINEARIZABLE);
    CHECK_EQ(re_sim_history_complete(h, r, 1), RE_EINVAL); /* already completed */
    CHECK_EQ(re_sim_history_fail(h, 9), RE_EINVAL);
    CHECK_EQ(re_sim_history_invoke(h, RE_SIM_OP_ADD, 1, NULL, &r), RE_EINVAL);
    int op = -1;
    int64_t arg = -1;
    CHECK_EQ(re_sim_history_operation(h, 0, &op, &arg, NULL, NULL), RE_OK);
    CHECK_EQ(op, RE_SIM_OP_WRITE);
    CHECK_EQ(arg, 1);
    CHECK_EQ(re_sim_history_operation(h, 2, &op, NULL, NULL, NULL), RE_ENOTFOUND);
    re_sim_history_free(h);

    /* A stale read after a completed write; the same read overlapping the write is fine. */
    CHECK_EQ(re_sim_history_new(RE_SIM_MODEL_REGISTER, 0, &h), RE_OK);
    re_sim_history_invoke(h, RE_SIM_OP_WRITE, 1, NULL, &w);
    re_sim_history_complete(h, w, 0);
    re_sim_history_invoke(h, RE_SIM_OP_READ, 0, NULL, &r);
    re_sim_history_complete(h, r, 0);
    CHECK_EQ(check(h, NULL), RE_SIM_NOT_LINEARIZABLE);
    re_sim_history_free(h);
    CHECK_EQ(re_sim_history_new(RE_SIM_MODEL_REGISTER, 0, &h), RE_OK);
    re_sim_history_invoke(h, RE_SIM_OP_WRITE, 1, NULL, &w);
    re_sim_history_invoke(h, RE_SIM_OP_READ, 0, NULL, &r);
    re_sim_history_complete(h, r, 0);
    re_sim_history_complete(h, w, 0);
    char *why = NULL;
    CHECK_EQ(check(h, &why), RE_SIM_LINEARIZABLE);
    CHECK(why && strncmp(why, "linearizable: order 1 0\n", 24) == 0);
    free(why);
    /* The search gives up when its state limit is too small. */
    CHECK_EQ(re_sim_history_check(h, 1, NULL), RE_SIM_UNDECIDED);
    re_sim_history_free(h);

    /* A failed write never took effect; a pending one may have. */
    CHECK_EQ(re_sim_history_new(RE_SIM_MODEL_REGISTER, 0, &h), RE_OK);
    re_sim_history_invoke(h, RE_SIM_OP_WRITE, 9, NULL, &w);
    CHECK_EQ(re_sim_history_fail(h, w), RE_OK);
    re_sim_history_invoke(h, RE_SIM_OP_READ, 0, NULL, &r);
    re_sim_history_complete(h, r, 9);
    CHECK_EQ(check(h, NULL), RE_SIM_NOT_LINEARIZABLE);
    re_sim_history_free(h);
    CHECK_EQ(re_sim_history_new(RE_SIM_MODEL_REGISTER, 0, &h), RE_OK);
    re_sim_history_invoke(h, RE_SIM_OP_WRITE, 9, NULL, &w);
    re_sim_history_invoke(h, RE_SIM_OP_READ, 0, NULL, &r);
    re_sim_history_complete(h, r, 9);
    CHECK_EQ(check(h, NULL), RE_SIM_LINEARIZABLE);
    re_sim_history_free(h);

    /* A counter: add answers the total after it. */
    CHECK_EQ(re_sim_history_new(RE_SIM_MODEL_COUNTER, 10, &h), RE_OK);
    re_sim_history_invoke(h, RE_SIM_OP_ADD, 5, NULL, &w);
    re_sim_history_complete(h, w, 15);
    re_sim_history_invoke(h, RE_SIM_OP_ADD, 1, NULL, &w);
    re_sim_history_complete(h, w, 15);
    CHECK_EQ(check(h, NULL), RE_SIM_NOT_LINEARIZABLE);
    CHECK_EQ(re_sim_history_invoke(h, RE_SIM_OP_WRITE, 1, NULL, &w), RE_EINVAL);
    re_sim_history_free(h);

    CHECK_EQ(re_sim_history_new(7, 0, &h), RE_EINVAL);
    CHECK_EQ(re_sim_history_check(NULL, 0, NULL), RE_EINVAL);
    CHECK_EQ(re_sim_history_count(NULL), 0);
    re_sim_history_free(NULL);
}

int main(void) {
    test_defaults_and_size();
    test_sync_placement();
    test_invariants();
    test_rates_steps_and_switches();
    test_replay();
    test_reads_across_a_leader_change();
    test_stale_local_read();
    test_histories_by_hand();
    printf("test_sim_faults: %d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
