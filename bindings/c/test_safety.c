/* The safety defaults of the C face: apply policies (one bad command never stops a cluster),
 * a node that joins never bootstraps a cluster of its own, and peer lists that cannot work are
 * refused with the same words as the other faces. Run under valgrind by `make test`. */
#define _GNU_SOURCE
#include "test_support.h"

/* ---- Apply policies ---- */

static int policy_under_test;
static void with_policy(re_config *c, int i) {
    (void)i;
    CHECK_EQ(re_config_set_apply_policy(c, policy_under_test), RE_OK);
}

static void test_reject_is_the_default(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, NULL), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "5", &w, 10000), RE_OK);

    /* A command every replica refuses: its result is the refusal, the proposer learns why. */
    CHECK_EQ(cluster_submit(&c, "fail:no such key", &w, 10000), RE_EAPPLY);
    CHECK_STR(w.message, "no such key");
    int l = cluster_leader(&c);
    CHECK(l >= 0);
    node_info st;
    CHECK_EQ(get_info(c.nodes[l], &st), RE_OK);
    uint64_t bad_index = st.commit_index;
    for (int i = 0; i < 3; i++) {
        recorded_event ev[4];
        uint64_t end = now_ms() + 5000;
        while (events_of(&c.events[i], RE_EVENT_APPLY_FAILED, ev, 4) == 0 && now_ms() < end) usleep(10000);
        CHECK_EQ(events_of(&c.events[i], RE_EVENT_APPLY_FAILED, ev, 4), 1);
        CHECK_STR(ev[0].value, "reject");
        CHECK_STR(ev[0].detail, "no such key");
        CHECK_EQ(ev[0].number, bad_index);
        CHECK(!node_stopped(c.nodes[i]));
    }
    /* The cluster keeps committing and every replica agrees. */
    CHECK_EQ(cluster_submit(&c, "2", &w, 10000), RE_OK);
    CHECK_STR(w.result, "7");
    CHECK(cluster_wait_totals(&c, 7, 5000, -1));

    /* A follower whose machine fails reports it and goes on under reject. */
    int f = (cluster_leader(&c) + 1) % 3;
    c.machines[f].fail = 1;
    CHECK_EQ(cluster_submit(&c, "1", &w, 10000), RE_OK);
    uint64_t end = now_ms() + 5000;
    recorded_event ev[4];
    while (events_of(&c.events[f], RE_EVENT_APPLY_FAILED, ev, 4) < 2 && now_ms() < end) usleep(10000);
    CHECK_EQ(events_of(&c.events[f], RE_EVENT_APPLY_FAILED, ev, 4), 2);
    CHECK_STR(ev[1].detail, "apply callback returned 1");
    c.machines[f].fail = 0;
    CHECK_EQ(cluster_submit(&c, "1", &w, 10000), RE_OK);
    CHECK(cluster_wait_totals(&c, 9, 5000, f));
    end = now_ms() + 5000;
    while (counter_total(&c.machines[f]) != 8 && now_ms() < end) usleep(10000);
    CHECK_EQ(counter_total(&c.machines[f]), 8); /* it skipped the one it could not apply */
    CHECK(!node_stopped(c.nodes[f]));

    /* The leader stops; the next leader applies the same history the same way. */
    l = cluster_leader(&c);
    re_node_free(c.nodes[l]);
    c.nodes[l] = NULL;
    CHECK_EQ(cluster_submit(&c, "1", &w, 15000), RE_OK);
    for (int i = 0; i < 3; i++)
        if (c.nodes[i]) CHECK(!node_stopped(c.nodes[i]));
    cluster_free(&c);
}

static void test_retry_backs_off(void) {
    cluster c;
    policy_under_test = RE_APPLY_RETRY;
    CHECK_EQ(cluster_init(&c, 3, with_policy), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "1", &w, 10000), RE_OK);
    CHECK(cluster_wait_totals(&c, 1, 5000, -1));
    int f = (cluster_leader(&c) + 1) % 3;
    c.machines[f].fail = 1;
    CHECK_EQ(cluster_submit(&c, "1", &w, 10000), RE_OK);
    /* One second with heartbeats every 20 ms: retried with backoff, not ~50 times. */
    usleep(1000 * 1000);
    recorded_event ev[32];
    int stuck = events_of(&c.events[f], RE_EVENT_APPLY_FAILED, ev, 32);
    CHECK(stuck >= 3 && stuck <= 12);
    if (stuck > 0) CHECK_STR(ev[0].value, "retry");
    CHECK_EQ(counter_total(&c.machines[f]), 1);
    CHECK(!node_stopped(c.nodes[f]));
    c.machines[f].fail = 0;
    CHECK(cluster_wait_totals(&c, 2, 5000, -1));
    cluster_free(&c);
}

static void test_halt_stops_and_breaks_the_log(void) {
    cluster c;
    policy_under_test = RE_APPLY_HALT;
    CHECK_EQ(cluster_init(&c, 3, with_policy), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "1", &w, 10000), RE_OK);
    int l = cluster_leader(&c);
    c.machines[l].fail = 1;
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_submit(c.nodes[l], (const uint8_t *)"1", 1, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_EAPPLY);
    uint64_t end = now_ms() + 5000;
    while (!node_stopped(c.nodes[l]) && now_ms() < end) usleep(10000);
    CHECK(node_stopped(c.nodes[l]));
    recorded_event ev[2];
    CHECK_EQ(events_of(&c.events[l], RE_EVENT_STOPPED, ev, 2), 1);
    CHECK_STR(ev[0].value, "APPLY_HALTED");
    re_node_free(c.nodes[l]);
    c.nodes[l] = NULL;
    /* The data dir refuses to start until repaired, and says why. */
    re_config *cfg = cluster_config(&c, l);
    re_node *again = NULL;
    CHECK_EQ(re_node_start(c.host, cfg, &again), RE_EBROKEN);
    CHECK_STR(re_config_errmsg(cfg), "the log is marked broken");
    re_config_free(cfg);
    cluster_free(&c);
}

/* ---- Joining ---- */

/* A node given join addresses starts without a configuration. Its first address holds its
 * request back (a listener that never reads) for several election timeouts: it must never
 * campaign or apply anything, then join through the real members. */
static void test_a_joiner_never_bootstraps(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, NULL), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "3", &w, 10000), RE_OK);

    uint16_t hole_port = 0;
    int hole = blackhole_listener(&hole_port);
    CHECK(hole >= 0);
    char join[256];
    snprintf(join, sizeof join, "127.0.0.1:%u,127.0.0.1:%u,127.0.0.1:%u,127.0.0.1:%u", hole_port, c.ports[0], c.ports[1],
             c.ports[2]);
    counter m4;
    counter_init(&m4);
    event_log e4;
    event_log_init(&e4);
    re_config *cfg = NULL;
    char buf[320];
    re_config_new(&cfg);
    re_config_set_id(cfg, "n4");
    snprintf(buf, sizeof buf, "%s/n4", c.dir);
    re_config_set_data_dir(cfg, buf);
    re_config_set_listen_address(cfg, "127.0.0.1:0");
    re_config_set_cluster_id(cfg, "c-test");
    re_config_set_heartbeat_ms(cfg, 20);
    re_config_set_election_timeout_ms(cfg, 150, 300);
    re_config_set_command_timeout_ms(cfg, 1500);
    re_config_set_state_machine(cfg, counter_apply, counter_snapshot, counter_restore, &m4);
    re_config_set_event_callback(cfg, record_event, &e4);
    CHECK_EQ(re_config_set_join(cfg, join), RE_OK);
    /* Join and peers exclude each other. */
    CHECK_EQ(re_config_add_peer(cfg, "n1", "127.0.0.1:7001"), RE_EINVAL);
    CHECK_STR(re_config_errmsg(cfg), "a node that joins a cluster learns its members from it: give peers or join, not both");
    re_node *n4 = NULL;
    CHECK_EQ(re_node_start(c.host, cfg, &n4), RE_OK);
    re_config_free(cfg);

    /* 1.2 s, four to eight election timeouts, while the request sits in the blackhole. */
    uint64_t end = now_ms() + 1200;
    int ever_leader = 0, ever_candidate = 0;
    uint64_t max_applied = 0, max_term = 0;
    while (now_ms() < end) {
        node_info st;
        if (get_info(n4, &st) == RE_OK) {
            if (st.role == RE_ROLE_LEADER) ever_leader = 1;
            if (st.role == RE_ROLE_CANDIDATE) ever_candidate = 1;
            if (st.applied_index > max_applied) max_applied = st.applied_index;
            if (st.term > max_term) max_term = st.term;
        }
        usleep(5000);
    }
    CHECK(!ever_leader);
    CHECK(!ever_candidate);
    CHECK_EQ(max_applied, 0);
    CHECK_EQ(max_term, 0);
    CHECK_EQ(counter_total(&m4), 0);
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_submit(n4, (const uint8_t *)"1", 1, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 2000), RE_ERETRY);

    /* Then it joins through the members and receives exactly the cluster's history. */
    end = now_ms() + 20000;
    recorded_event ev[4];
    int joined = 0;
    while (!joined && now_ms() < end) {
        int n = events_of(&e4, RE_EVENT_MEMBERSHIP_DONE, ev, 4);
        joined = n > 0 && strcmp(ev[0].node, "n4") == 0 && strcmp(ev[0].value, "ADD") == 0;
        if (!joined) usleep(10000);
    }
    CHECK(joined);
    int l = cluster_leader(&c);
    CHECK(l >= 0);
    node_info st;
    if (l >= 0) {
        CHECK_EQ(get_info(c.nodes[l], &st), RE_OK);
        CHECK_EQ(st.voters, 4);
    }
    CHECK_EQ(cluster_submit(&c, "4", &w, 10000), RE_OK);
    end = now_ms() + 5000;
    while (counter_total(&m4) != 7 && now_ms() < end) usleep(10000);
    CHECK_EQ(counter_total(&m4), 7);
    close(hole);
    re_node_free(n4);
    cluster_free(&c);
}

/* ---- Peer lists ---- */

static void test_bad_peer_lists_are_refused_with_words(void) {
    re_config *c = NULL;
    CHECK_EQ(re_config_new(&c), RE_OK);
    CHECK_EQ(re_config_set_id(c, "n1"), RE_OK);
    CHECK_STR(re_config_errmsg(c), "");
    CHECK_EQ(re_config_add_peer(c, "n1", "127.0.0.1:7001"), RE_EDUPLICATE);
    CHECK_STR(re_config_errmsg(c), "peer n1 has this node's own id");
    CHECK_EQ(re_config_add_peer(c, "n2", "127.0.0.1:7002"), RE_OK);
    CHECK_STR(re_config_errmsg(c), "");
    CHECK_EQ(re_config_add_peer(c, "n2", "127.0.0.1:7003"), RE_EDUPLICATE);
    CHECK_STR(re_config_errmsg(c), "peer n2 is given twice");
    CHECK_EQ(re_config_add_peer(c, "n3", "127.0.0.1:70000"), RE_EADDR);
    CHECK_STR(re_config_errmsg(c), "the port of \"127.0.0.1:70000\" is outside 1-65535");
    CHECK_EQ(re_config_add_peer(c, "n3", "127.0.0.1:0"), RE_EADDR);
    CHECK_STR(re_config_errmsg(c), "the port of \"127.0.0.1:0\" is outside 1-65535");
    CHECK_EQ(re_config_add_peer(c, "n3", "127.0.0.1:-5"), RE_EADDR);
    CHECK_STR(re_config_errmsg(c), "the port of \"127.0.0.1:-5\" is outside 1-65535");
    CHECK_EQ(re_config_add_peer(c, "n3", "nohost"), RE_EADDR);
    CHECK_STR(re_config_errmsg(c), "address \"nohost\" is not HOST:PORT (HOST an IPv4 literal, [IPv6] or localhost)");
    /* The node's own id given after a peer with that id. */
    CHECK_EQ(re_config_set_id(c, "n2"), RE_EDUPLICATE);
    CHECK_STR(re_config_errmsg(c), "peer n2 has this node's own id");
    CHECK_EQ(re_config_set_join(c, "127.0.0.1:7005"), RE_EINVAL);
    CHECK_EQ(re_config_set_heartbeat_ms(c, 0), RE_EINVAL);
    CHECK_STR(re_config_errmsg(c), "heartbeat_ms 0 is below the minimum of 1");
    /* A negative number cast to unsigned is refused, not taken as 49 days. */
    CHECK_EQ(re_config_set_heartbeat_ms(c, (uint32_t)-1), RE_EINVAL);
    CHECK_STR(re_config_errmsg(c), "heartbeat_ms 4294967295 is above the maximum of 60000 (a negative number cast to unsigned?)");
    /* The same words reach re_errmsg(), this thread's last failure. */
    CHECK_STR(re_errmsg(), "heartbeat_ms 4294967295 is above the maximum of 60000 (a negative number cast to unsigned?)");
    CHECK_EQ(re_config_set_election_timeout_ms(c, 100, 700000), RE_EINVAL);
    CHECK_STR(re_errmsg(), "election timeout maximum 700000 is above the maximum of 600000");
    CHECK_EQ(re_config_set_snapshot_threshold(c, UINT64_MAX), RE_EINVAL);
    CHECK_EQ(re_config_set_command_timeout_ms(c, 0), RE_EINVAL);
    CHECK_EQ(re_config_set_max_entries_per_message(c, 200000), RE_EINVAL);
    CHECK_EQ(re_config_set_apply_policy(c, 7), RE_EINVAL);
    CHECK_STR(re_config_errmsg(c), "apply policy 7 is none of RE_APPLY_REJECT, RE_APPLY_RETRY, RE_APPLY_HALT");
    re_config_free(c);
    CHECK(re_config_errmsg(NULL) != NULL);
    /* Calls on no node say so. */
    node_info st;
    CHECK_EQ(get_info(NULL, &st), RE_EINVAL);
    CHECK_STR(re_errmsg(), "node is NULL");
    CHECK_EQ(re_node_submit(NULL, (const uint8_t *)"1", 1, on_op, NULL), RE_EINVAL);
    CHECK_STR(re_errmsg(), "node is NULL");
}

int main(void) {
    test_bad_peer_lists_are_refused_with_words();
    test_reject_is_the_default();
    test_retry_backs_off();
    test_halt_stops_and_breaks_the_log();
    test_a_joiner_never_bootstraps();
    return test_report();
}
