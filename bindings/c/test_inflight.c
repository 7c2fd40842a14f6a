/* Flow-control and election settings from C: max inflight messages and bytes toward each
 * follower (bad values refused with a message naming the setting; the tightest caps — one
 * message, one byte: every append alone — still commit every command), and pre-vote off with
 * check-quorum on (a leader that loses its followers steps down). Run under valgrind by
 * `make test`. */
#define _GNU_SOURCE
#include "test_support.h"

static void tight(re_config *c, int i) {
    (void)i;
    CHECK_EQ(re_config_set_max_inflight(c, 1), RE_OK);
    CHECK_EQ(re_config_set_max_inflight_bytes(c, 1), RE_OK);
}

static void quorum_checked(re_config *c, int i) {
    (void)i;
    CHECK_EQ(re_config_set_pre_vote(c, 0), RE_OK);
    CHECK_EQ(re_config_set_check_quorum(c, 1), RE_OK);
}

/* With check-quorum a leader that hears from no majority for an election timeout steps down. */
static void test_check_quorum(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, quorum_checked), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "1", &w, 10000), RE_OK);
    int l = cluster_leader(&c);
    CHECK(l >= 0);
    for (int i = 0; i < 3; i++)
        if (i != l) { re_node_free(c.nodes[i]); c.nodes[i] = NULL; }
    node_info st;
    CHECK(WAIT_UNTIL_MS(get_info(c.nodes[l], &st) == RE_OK && st.role != RE_ROLE_LEADER, 10000));
    cluster_free(&c);
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
    test_check_quorum();
    return test_report();
}
