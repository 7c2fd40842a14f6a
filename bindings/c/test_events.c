/* Events as a C host sees them, kinds and order: an election, a leader change, a membership
 * change, a settings change, and a snapshot installed on a follower through the host's restore
 * callback (the follower was behind a compacted log). Run under valgrind by `make test`. */
#define _GNU_SOURCE
#include "test_support.h"

/* True when `log` holds events matching `want` (kind, value or NULL for any) in this order,
 * not necessarily next to each other. */
typedef struct want_event {
    int kind;
    const char *value;
} want_event;

static int has_in_order(event_log *log, const want_event *want, int n) {
    int k = 0;
    pthread_mutex_lock(&log->lock);
    for (int i = 0; i < log->count && k < n; i++) {
        const recorded_event *e = &log->events[i];
        if (e->kind == want[k].kind && (!want[k].value || strcmp(e->value, want[k].value) == 0)) k++;
    }
    pthread_mutex_unlock(&log->lock);
    return k == n;
}

static int wait_in_order(event_log *log, const want_event *want, int n, int timeout_ms) {
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (!has_in_order(log, want, n) && now_ms() < end) usleep(10000);
    return has_in_order(log, want, n);
}

static void dump(event_log *log, const char *who) {
    pthread_mutex_lock(&log->lock);
    fprintf(stderr, "  events of %s:\n", who);
    for (int i = 0; i < log->count; i++)
        fprintf(stderr, "    %d %s %s %s %llu\n", log->events[i].kind, log->events[i].value, log->events[i].node,
                log->events[i].detail, (unsigned long long)log->events[i].number);
    pthread_mutex_unlock(&log->lock);
}

static void trailing_zero(re_config *c, int i) {
    (void)i;
    CHECK_EQ(re_config_set_snapshot_trailing(c, 0), RE_OK);
    /* One entry per append: what the leader queued for a stopped follower (at most its
     * inflight window) covers only the first entries it missed. */
    CHECK_EQ(re_config_set_max_entries_per_message(c, 1), RE_OK);
}

static atomic_int bulk_done, bulk_ok;
static void on_bulk(void *user, const re_result *r) {
    (void)user;
    if (r->status == RE_OK) atomic_fetch_add(&bulk_ok, 1);
    atomic_fetch_add(&bulk_done, 1);
}

int main(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, trailing_zero), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    int l = cluster_wait_leader(&c, 10000);
    CHECK(l >= 0);
    if (l < 0) return test_report();
    char lid[16];
    cluster_node_id(l, lid, sizeof lid);

    /* The election, at the winner: a pre-vote round, the election, the win, the role. */
    want_event won[] = {{RE_EVENT_ELECTION, "START_PRE_ELECTION"}, {RE_EVENT_ELECTION, "PRE_WON"},
                        {RE_EVENT_TERM, NULL}, {RE_EVENT_ELECTION, "START_ELECTION"}, {RE_EVENT_ROLE, "LEADER"},
                        {RE_EVENT_LEADER, lid}, {RE_EVENT_ELECTION, "WON"}};
    if (!wait_in_order(&c.events[l], won, 7, 5000)) dump(&c.events[l], "the leader");
    CHECK(has_in_order(&c.events[l], won, 7));
    recorded_event roles[8];
    int nroles = events_of(&c.events[l], RE_EVENT_ROLE, roles, 8);
    CHECK(nroles >= 1 && roles[nroles - 1].number == RE_ROLE_LEADER);
    /* At a follower: the new term, then the leader it follows. */
    int f = (l + 1) % 3;
    want_event follows[] = {{RE_EVENT_TERM, NULL}, {RE_EVENT_LEADER, lid}};
    CHECK(wait_in_order(&c.events[f], follows, 2, 5000));

    /* A settings change reaches every node once committed. */
    op_wait w = {0};
    CHECK_EQ(re_node_update_settings(c.nodes[l], 25, 0, 0, 0, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_OK);
    want_event settings[] = {{RE_EVENT_SETTINGS, NULL}};
    for (int i = 0; i < 3; i++) CHECK(wait_in_order(&c.events[i], settings, 1, 5000));

    /* A follower falls behind a compacted log and gets the snapshot through restore. */
    int behind = (l + 2) % 3;
    re_node_free(c.nodes[behind]);
    c.nodes[behind] = NULL;
    /* More than the leader can have queued for it (64 appends of one entry). */
    l = cluster_wait_leader(&c, 10000);
    for (int k = 0; k < 300; k++) CHECK_EQ(re_node_submit(c.nodes[l], (const uint8_t *)"2", 1, on_bulk, NULL), RE_OK);
    uint64_t end = now_ms() + 30000;
    while (atomic_load(&bulk_done) < 300 && now_ms() < end) usleep(10000);
    CHECK_EQ(atomic_load(&bulk_ok), 300);
    l = cluster_leader(&c);
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_take_snapshot(c.nodes[l], on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_OK);
    want_event taken[] = {{RE_EVENT_SNAPSHOT, "TAKEN"}};
    CHECK(wait_in_order(&c.events[l], taken, 1, 5000));
    node_info li;
    CHECK_EQ(get_info(c.nodes[l], &li), RE_OK);
    CHECK(li.last_index > 0);
    re_status_snapshot *s = NULL;
    CHECK_EQ(re_node_get_status(c.nodes[l], &s), RE_OK);
    CHECK(re_status_first_index(s) > 10); /* compacted */
    re_status_free(s);
    int64_t want_total = counter_total(&c.machines[l]);
    counter_init(&c.machines[behind]);
    event_log_init(&c.events[behind]);
    CHECK_EQ(cluster_start(&c, behind), RE_OK);
    want_event installed[] = {{RE_EVENT_SNAPSHOT, "INSTALLED"}};
    if (!wait_in_order(&c.events[behind], installed, 1, 10000)) dump(&c.events[behind], "the follower behind");
    CHECK(has_in_order(&c.events[behind], installed, 1));
    CHECK(cluster_wait_totals(&c, want_total, 10000, -1));
    CHECK(c.machines[behind].restores >= 1);
    CHECK_EQ(counter_total(&c.machines[behind]), want_total);

    /* A membership change: the leader reports it done, with the op as a number. */
    int gone = f; /* the restored node and the leader stay: a majority of three */
    re_node_free(c.nodes[gone]);
    c.nodes[gone] = NULL;
    char gid[16];
    cluster_node_id(gone, gid, sizeof gid);
    l = cluster_wait_leader(&c, 10000);
    CHECK(l >= 0);
    if (l >= 0) {
        memset(&w, 0, sizeof w);
        CHECK_EQ(re_node_remove_server(c.nodes[l], gid, on_op, &w), RE_OK);
        CHECK_EQ(wait_op(&w, 10000), RE_OK);
        recorded_event done[8];
        int n = events_of(&c.events[l], RE_EVENT_MEMBERSHIP_DONE, done, 8);
        CHECK(n >= 1);
        if (n >= 1) {
            CHECK_STR(done[n - 1].value, "REMOVE");
            CHECK_EQ(done[n - 1].number, RE_MEMBERSHIP_REMOVE);
            CHECK_STR(done[n - 1].node, gid);
        }
    }
    cluster_free(&c);
    return test_report();
}
