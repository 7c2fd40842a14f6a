/* Flow-control settings from C: max inflight messages and bytes toward each follower. Bad
 * values are refused with a message naming the setting; a cluster with the tightest caps (one
 * message, one byte: every append goes out alone) still commits every command and agrees.
 * Run under valgrind by `make test`. */
#define _GNU_SOURCE
#include "test_support.h"

static void tight(re_config *c, int i) {
    (void)i;
    CHECK_EQ(re_config_set_max_inflight(c, 1), RE_OK);
    CHECK_EQ(re_config_set_max_inflight_bytes(c, 1), RE_OK);
}

int main(void) {
    re_config *cfg = NULL;
    CHECK_EQ(re_config_new(&cfg), RE_OK);
    CHECK_EQ(re_config_set_max_inflight(cfg, 0), RE_EINVAL);
    CHECK(strstr(re_config_errmsg(cfg), "max inflight") != NULL);
    CHECK_EQ(re_config_set_max_inflight(cfg, (uint32_t)-1), RE_EINVAL);
    CHECK(strstr(re_config_errmsg(cfg), "negative number") != NULL);
    CHECK_EQ(re_config_set_max_inflight_bytes(cfg, 0), RE_EINVAL);
    CHECK(strstr(re_config_errmsg(cfg), "max inflight bytes") != NULL);
    CHECK_EQ(re_config_set_max_inflight_bytes(cfg, (uint64_t)1 << 41), RE_EINVAL);
    CHECK_EQ(re_config_set_max_inflight(cfg, 100000), RE_OK);
    CHECK_EQ(re_config_set_max_inflight_bytes(cfg, (uint64_t)1 << 40), RE_OK);
    CHECK_EQ(re_config_set_max_inflight(NULL, 1), RE_EINVAL);
    re_config_free(cfg);

    cluster c;
    CHECK_EQ(cluster_init(&c, 3, tight), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w[40];
    int l = cluster_wait_leader(&c, 10000);
    CHECK(l >= 0);
    /* Forty commands at once: with one append in flight they leave one after another. */
    for (int i = 0; i < 40; i++) {
        memset(&w[i], 0, sizeof w[i]);
        CHECK_EQ(re_node_submit(c.nodes[l], (const uint8_t *)"1", 1, on_op, &w[i]), RE_OK);
    }
    for (int i = 0; i < 40; i++) CHECK_EQ(wait_op(&w[i], 10000), RE_OK);
    CHECK_STR(w[39].result, "40");
    CHECK(cluster_wait_totals(&c, 40, 10000, -1));
    cluster_free(&c);
    return test_report();
}
