/* The node's counters from C (re_node_counter): proposals and refusals, elections, snapshots,
 * log syncs and their time, log space zeroed ahead, next to the transport's. Run under valgrind by `make test`. */
#define _GNU_SOURCE
#include "test_support.h"

static uint64_t counter_of(re_node *n, const char *name) {
    uint64_t v = 0;
    CHECK_EQ(re_node_counter(n, name, &v), RE_OK);
    return v;
}

int main(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, NULL), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    for (int i = 0; i < 5; i++) CHECK_EQ(cluster_submit(&c, "1", &w, 10000), RE_OK);
    int l = cluster_leader(&c);
    CHECK(l >= 0);
    if (l < 0) return test_report();
    int f = (l + 1) % 3;
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_submit(c.nodes[f], (const uint8_t *)"1", 1, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_ENOTLEADER);
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_take_snapshot(c.nodes[l], on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_OK);

    CHECK(counter_of(c.nodes[l], "proposals") >= 5);
    CHECK(counter_of(c.nodes[l], "elections_started") >= 1);
    CHECK(counter_of(c.nodes[l], "leader_changes") >= 1);
    CHECK_EQ(counter_of(c.nodes[l], "snapshots_taken"), 1);
    CHECK_EQ(counter_of(c.nodes[l], "apply_failures"), 0);
    /* A leader's fsyncs run on its sync thread: one may cover several commands, and the last
     * may still be in flight once its command committed on the followers' copies. */
    CHECK(counter_of(c.nodes[l], "log_syncs") >= 1);
    CHECK(counter_of(c.nodes[l], "log_sync_micros_total") > 0);
    CHECK_EQ(counter_of(c.nodes[l], "log_sync_failures"), 0);
    /* Every node zeroes log space ahead of its records on a thread of its own, in 1 MiB or
     * smaller stretches, from its first appends on. */
    for (int i = 0; i < 3; i++) {
        CHECK(WAIT_UNTIL_MS(counter_of(c.nodes[i], "log_zero_fills") >= 1, 5000));
        uint64_t fills = counter_of(c.nodes[i], "log_zero_fills"), bytes = counter_of(c.nodes[i], "log_zero_fill_bytes");
        CHECK(bytes >= fills * 4096 && bytes <= fills * (1u << 20));
    }
    CHECK_EQ(counter_of(c.nodes[f], "proposals"), 0);
    CHECK(WAIT_UNTIL_MS(counter_of(c.nodes[f], "refused_proposals") == 1, 2000));
    CHECK(counter_of(c.nodes[f], "frames_received") > 0);
    uint64_t v;
    CHECK_EQ(re_node_counter(c.nodes[l], "no_such_counter", &v), RE_ENOTFOUND);
    CHECK_EQ(re_node_counter(c.nodes[l], NULL, &v), RE_EINVAL);
    cluster_free(&c);
    return test_report();
}
