/* Host-provided storage from C: every node of a 3-node cluster keeps its log in the host's
 * in-memory log (mem_log.h, behind re_log_vtable). Writes commit; a follower and then the
 * leader "crash", losing what they wrote but had not synced, and restart through the same
 * table: nothing acknowledged is lost and they catch up. A snapshot compacts the log through
 * the table, a follower far behind receives it (install), and a node restarts from its own.
 * Also the setter's refusals and storage failures at start and while running. Run under
 * valgrind by `make test`. */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "mem_log.h"
#include "test_writer.h"

#define N 3
#define BURST 1100 /* more than the 1000 entries a snapshot leaves behind, so it compacts */

static cluster cl;
static write_set sets[N];
static mem_log logs[N];
static writer wr;

static void with_host_storage(re_config *c, int i) {
    CHECK_EQ(re_config_set_storage(c, &mem_log_vtable, &logs[i]), RE_OK);
    CHECK_EQ(re_config_set_state_machine(c, ws_apply, ws_snapshot, ws_restore, &sets[i]), RE_OK);
}

/* Reads a field of a log under its lock. */
#define LOG_FIELD(i, field) ({ pthread_mutex_lock(&logs[i].lock); __typeof__(logs[i].field) _v = logs[i].field; pthread_mutex_unlock(&logs[i].lock); _v; })

static int stopped_for_storage(int i) {
    recorded_event ev[8];
    int n = events_of(&cl.events[i], RE_EVENT_STOPPED, ev, 8);
    for (int k = 0; k < n && k < 8; k++)
        if (strcmp(ev[k].value, "STORAGE_FAILURE") == 0) return 1;
    return 0;
}

/* Node i restarts through the same table and log, with an empty machine, as after a crash. */
static void restart(int i) {
    re_node_free(cl.nodes[i]);
    cl.nodes[i] = NULL;
    mem_log_revive(&logs[i]);
    write_set_clear(&sets[i]);
    CHECK_EQ(cluster_start(&cl, i), RE_OK);
}

/* Everything acknowledged is everywhere, once, in one order. */
static void check_converged(const char *when) {
    CHECK(WAIT_UNTIL_MS(write_sets_agree(sets, N), 20000));
    for (int i = 0; i < N; i++) {
        CHECK_EQ(write_set_missing(&sets[i], wr.acked), 0);
        CHECK_EQ(sets[i].duplicates, 0);
    }
    printf("%s: %d writes acknowledged, %d applied on every node\n", when, atomic_load(&wr.acked_count), sets[0].count);
}

/* Arms a crash at node i's next sync with unsynced writes, lets the writer trigger it, and
 * restarts the node through its table. */
static void crash_and_restart(int i, const char *who) {
    unsigned discarded = LOG_FIELD(i, discarded);
    pthread_mutex_lock(&logs[i].lock);
    logs[i].crash_at_sync = 1;
    pthread_mutex_unlock(&logs[i].lock);
    writer_resume(&wr);
    CHECK(WAIT_UNTIL_MS(LOG_FIELD(i, crashed), 20000));
    CHECK(WAIT_UNTIL_MS(node_stopped(cl.nodes[i]), 5000));
    CHECK(stopped_for_storage(i));
    int acked = atomic_load(&wr.acked_count);
    /* The others go on (electing a new leader when it was the leader). */
    CHECK(WAIT_UNTIL_MS(atomic_load(&wr.acked_count) >= acked + 10, 20000));
    writer_stop(&wr);
    CHECK(LOG_FIELD(i, discarded) > discarded);
    printf("%s n%d crashed: %u unsynced writes lost\n", who, i + 1, LOG_FIELD(i, discarded) - discarded);
    restart(i);
    writer_resume(&wr);
    acked = atomic_load(&wr.acked_count);
    CHECK(WAIT_UNTIL_MS(atomic_load(&wr.acked_count) >= acked + 5, 20000));
    writer_stop(&wr);
    check_converged(who);
}

/* ---- Many writes in flight at once (the snapshot needs a long log) ---- */

static atomic_int burst_done;

static void on_burst(void *user, const re_result *r) {
    int k = (int)(intptr_t)user;
    if (r->status == RE_OK) {
        wr.acked[k] = 1;
        atomic_fetch_add(&wr.acked_count, 1);
    }
    atomic_fetch_add(&burst_done, 1);
}

static void burst(int leader, int count) {
    atomic_store(&burst_done, 0);
    for (int n = 0; n < count; n++) {
        int k = atomic_fetch_add(&wr.next, 1);
        char cmd[16];
        snprintf(cmd, sizeof cmd, "w%d", k);
        CHECK_EQ(re_node_submit(cl.nodes[leader], (const uint8_t *)cmd, strlen(cmd), on_burst, (void *)(intptr_t)k), RE_OK);
    }
    CHECK(WAIT_UNTIL_MS(atomic_load(&burst_done) == count, 30000));
}

static void test_a_cluster_on_host_storage(void) {
    CHECK_EQ(cluster_init(&cl, N, with_host_storage), RE_OK);
    for (int i = 0; i < N; i++) {
        write_set_init(&sets[i]);
        mem_log_init(&logs[i]);
    }
    CHECK_EQ(cluster_start_all(&cl), RE_OK);
    /* FileLog was not used: no data dir appeared. */
    char dir[300];
    struct stat sb;
    snprintf(dir, sizeof dir, "%s/n1", cl.dir);
    CHECK(stat(dir, &sb) != 0);

    CHECK(cluster_wait_leader(&cl, 10000) >= 0);
    writer_start(&wr, &cl, 2000);
    CHECK(WAIT_UNTIL_MS(atomic_load(&wr.acked_count) >= 20, 20000));
    writer_stop(&wr);
    check_converged("commands");
    for (int i = 0; i < N; i++) {
        CHECK(LOG_FIELD(i, appends) > 0);
        CHECK(LOG_FIELD(i, syncs) > 0);
        CHECK(LOG_FIELD(i, live.term) > 0);
    }

    int leader = cluster_leader(&cl);
    CHECK(leader >= 0);
    if (leader < 0) return;
    crash_and_restart((leader + 1) % N, "follower");
    leader = cluster_wait_leader(&cl, 10000);
    CHECK(leader >= 0);
    if (leader < 0) return;
    crash_and_restart(leader, "leader");
}

static void test_snapshots_through_the_table(void) {
    int leader = cluster_wait_leader(&cl, 10000);
    CHECK(leader >= 0);
    if (leader < 0) return;
    /* A follower stops cleanly (its storage is synced, then closed) and falls far behind. */
    int behind = (leader + 1) % N;
    unsigned closes = LOG_FIELD(behind, closes);
    CHECK_EQ(re_node_stop(cl.nodes[behind]), RE_OK);
    CHECK_EQ(LOG_FIELD(behind, closes), closes + 1);
    CHECK_EQ(LOG_FIELD(behind, unsynced), 0);
    burst(leader, BURST);

    /* Both running nodes snapshot (so whichever leads next has compacted): the table stores the
     * snapshot and drops the compacted entries. */
    uint64_t prefix = UINT64_MAX;
    for (int i = 0; i < N; i++) {
        if (i == behind) continue;
        CHECK(WAIT_UNTIL_MS(({ node_info st; get_info(cl.nodes[i], &st) == RE_OK && st.applied_index > BURST; }), 10000));
        op_wait w;
        memset(&w, 0, sizeof w);
        CHECK_EQ(re_node_take_snapshot(cl.nodes[i], on_op, &w), RE_OK);
        CHECK_EQ(wait_op(&w, 10000), RE_OK);
        CHECK_EQ(LOG_FIELD(i, snapshots_saved), 1);
        uint64_t p = LOG_FIELD(i, live.prefix_index);
        CHECK(p > 0);
        if (p < prefix) prefix = p;
        printf("snapshot: n%d compacted through %llu, %zu entries retained\n", i + 1, (unsigned long long)p,
               LOG_FIELD(i, live.count));
    }

    /* The leader restarts from its own snapshot plus the entries after it (and with it go the
     * frames its links still held for the stopped follower, entries from before the snapshot). */
    unsigned loads = LOG_FIELD(leader, snapshot_loads);
    CHECK_EQ(re_node_stop(cl.nodes[leader]), RE_OK);
    restart(leader);
    CHECK(LOG_FIELD(leader, snapshot_loads) > loads);
    writer_resume(&wr);
    int acked = atomic_load(&wr.acked_count);
    CHECK(WAIT_UNTIL_MS(atomic_load(&wr.acked_count) >= acked + 5, 20000));
    writer_stop(&wr);

    /* The follower's log ends before every other node's first entry: it gets a snapshot. */
    restart(behind);
    CHECK(WAIT_UNTIL_MS(LOG_FIELD(behind, snapshots_installed) == 1, 20000));
    CHECK(LOG_FIELD(behind, live.prefix_index) >= prefix);
    check_converged("snapshot installed");
}

/* ---- The setter's refusals, and failures of the host's storage ---- */

static counter lone_machine;

static re_config *lone_config(mem_log *log) {
    re_config *c = NULL;
    re_config_new(&c);
    re_config_set_id(c, "solo");
    re_config_set_listen_address(c, "127.0.0.1:0");
    re_config_set_heartbeat_ms(c, 20);
    re_config_set_election_timeout_ms(c, 100, 150);
    re_config_set_state_machine(c, counter_apply, counter_snapshot, counter_restore, &lone_machine);
    CHECK_EQ(re_config_set_storage(c, &mem_log_vtable, log), RE_OK);
    return c;
}

static void test_refusals_and_failures(void) {
    counter_init(&lone_machine);
    re_config *c = NULL;
    re_config_new(&c);
    CHECK_EQ(re_config_set_storage(c, NULL, NULL), RE_EINVAL);
    CHECK(strstr(re_config_errmsg(c), "re_log_vtable") != NULL);
    re_log_vtable t = mem_log_vtable;
    t.size = sizeof(size_t) * 3;
    CHECK_EQ(re_config_set_storage(c, &t, NULL), RE_EINVAL);
    CHECK(strstr(re_config_errmsg(c), "size") != NULL);
    t = mem_log_vtable;
    t.truncate = NULL;
    CHECK_EQ(re_config_set_storage(c, &t, NULL), RE_EINVAL);
    CHECK(strstr(re_config_errmsg(c), "truncate") != NULL);
    /* A table without the optional close, its copy taken at once. */
    t = mem_log_vtable;
    t.close = NULL;
    CHECK_EQ(re_config_set_storage(c, &t, NULL), RE_OK);
    CHECK_STR(re_config_errmsg(c), "");
    re_config_free(c);

    /* A load that fails: the start fails, names it, and the storage is closed again. */
    mem_log log;
    mem_log_init(&log);
    log.fail_loads = 1;
    c = lone_config(&log);
    re_node *n = NULL;
    CHECK_EQ(re_node_start(cl.host, c, &n), RE_EIO);
    CHECK(strstr(re_config_errmsg(c), "load_hard_state returned -5") != NULL);
    CHECK_EQ(log.closes, 1);
    log.fail_loads = 0;

    /* Entries compacted into no snapshot: corruption. */
    log.live.prefix_index = 5;
    CHECK_EQ(re_node_start(cl.host, c, &n), RE_ECORRUPT);
    CHECK(strstr(re_config_errmsg(c), "no snapshot covers them") != NULL);
    CHECK_EQ(log.closes, 2);
    log.live.prefix_index = 0;

    /* A write that fails while the node runs stops it, saying so. */
    event_log events;
    event_log_init(&events);
    re_config_set_event_callback(c, record_event, &events);
    CHECK_EQ(re_node_start(cl.host, c, &n), RE_OK);
    CHECK(WAIT_UNTIL_MS(({ node_info st; get_info(n, &st) == RE_OK && st.role == RE_ROLE_LEADER; }), 5000));
    CHECK_EQ(re_node_submit_sync(n, (const uint8_t *)"1", 1, 3000, NULL, NULL, NULL, NULL, 0), RE_OK);
    pthread_mutex_lock(&log.lock);
    log.fail_appends = 1;
    pthread_mutex_unlock(&log.lock);
    CHECK_EQ(re_node_submit_sync(n, (const uint8_t *)"1", 1, 3000, NULL, NULL, NULL, NULL, 0), RE_ESTOPPED);
    CHECK(WAIT_UNTIL_MS(node_stopped(n), 5000));
    recorded_event ev[4];
    CHECK_EQ(events_of(&events, RE_EVENT_STOPPED, ev, 4), 1);
    CHECK_STR(ev[0].value, "STORAGE_FAILURE");
    CHECK(strstr(ev[0].detail, "append returned -28") != NULL);
    re_node_free(n);
    CHECK_EQ(log.closes, 3);
    re_config_free(c);
    mem_log_destroy(&log);
}

int main(void) {
    test_a_cluster_on_host_storage();
    test_snapshots_through_the_table();
    test_refusals_and_failures();
    cluster_free(&cl);
    for (int i = 0; i < N; i++) mem_log_destroy(&logs[i]);
    return test_report();
}
