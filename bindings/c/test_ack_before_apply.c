/* A follower acknowledges an append before it applies what that append committed: with both
 * followers' C state machines held inside applying command A (on their loop threads), the
 * leader still commits command B on their acknowledgements. One host (loop thread) per node,
 * as in production, so one node's blocked apply stalls only that node. Run under valgrind by
 * `make test`. */
#define _GNU_SOURCE
#include "test_support.h"

/* Heartbeats rare: the leader's append of B, not a heartbeat, tells the followers that A
 * committed, so each must acknowledge B before it starts applying A. */
static void slow_heartbeats(re_config *cfg, int i) {
    (void)i;
    CHECK_EQ(re_config_set_heartbeat_ms(cfg, 1000), RE_OK);
    CHECK_EQ(re_config_set_election_timeout_ms(cfg, 3000, 5000), RE_OK);
}

static int submit_at(re_node *node, const char *cmd, op_wait *w, int timeout_ms) {
    memset(w, 0, sizeof *w);
    int rc = re_node_submit(node, (const uint8_t *)cmd, strlen(cmd), on_op, w);
    return rc == RE_OK ? wait_op(w, timeout_ms) : rc;
}

static void test_followers_blocked_in_apply_still_acknowledge(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, slow_heartbeats), RE_OK);
    re_host *hosts[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(re_host_new(&hosts[i]), RE_OK);
        re_config *cfg = cluster_config(&c, i);
        CHECK_EQ(re_node_start(hosts[i], cfg, &c.nodes[i]), RE_OK);
        re_config_free(cfg);
    }
    CHECK(WAIT_UNTIL_MS(cluster_leader(&c) >= 0, 60000));
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "1", &w, 30000), RE_OK);
    CHECK(cluster_wait_totals(&c, 1, 30000, -1));
    int l = cluster_leader(&c);
    CHECK(l >= 0);
    if (l >= 0) {
        node_info st;
        CHECK_EQ(get_info(c.nodes[l], &st), RE_OK);
        uint64_t a_index = st.commit_index + 1;
        for (int i = 0; i < 3; i++)
            if (i != l) counter_hold(&c.machines[i], a_index);

        CHECK_EQ(submit_at(c.nodes[l], "2", &w, 30000), RE_OK); /* A */
        CHECK_STR(w.result, "3");
        /* B commits while both followers are (or are about to be) stuck applying A. */
        CHECK_EQ(submit_at(c.nodes[l], "3", &w, 30000), RE_OK);
        CHECK_STR(w.result, "6");
        for (int i = 0; i < 3; i++) {
            if (i == l) continue;
            CHECK(WAIT_UNTIL_MS(counter_holding(&c.machines[i]), 30000));
            CHECK_EQ(counter_total(&c.machines[i]), 1);
        }
    }
    for (int i = 0; i < 3; i++) counter_release(&c.machines[i]);
    CHECK(cluster_wait_totals(&c, 6, 30000, -1));
    cluster_free(&c); /* the nodes first, then their hosts */
    for (int i = 0; i < 3; i++) re_host_free(hosts[i]);
}

int main(void) {
    test_followers_blocked_in_apply_still_acknowledge();
    return test_report();
}
