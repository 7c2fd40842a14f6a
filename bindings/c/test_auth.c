/* Peer authentication from a C host: a secured cluster commits; a node with the wrong secret
 * is refused and counted, never fatal; bad secrets are refused with a reason. Run under
 * valgrind by `make test`. */
#define _GNU_SOURCE
#include "test_support.h"

static const char *secret_of[MAX_NODES];

static void with_secret(re_config *c, int i) {
    CHECK_EQ(re_config_set_cluster_secret(c, (const uint8_t *)secret_of[i], strlen(secret_of[i])), RE_OK);
}

static uint64_t counter_of(re_node *n, const char *name) {
    uint64_t v = 0;
    CHECK_EQ(re_node_counter(n, name, &v), RE_OK);
    return v;
}

static void test_a_secured_cluster_commits(void) {
    cluster c;
    for (int i = 0; i < 3; i++) secret_of[i] = "correct horse battery staple";
    CHECK_EQ(cluster_init(&c, 3, with_secret), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "5", &w, 10000), RE_OK);
    CHECK(cluster_wait_totals(&c, 5, 5000, -1));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(counter_of(c.nodes[i], "auth_failed"), 0);
        CHECK(counter_of(c.nodes[i], "frames_received") > 0);
    }
    uint64_t v;
    CHECK_EQ(re_node_counter(c.nodes[0], "no_such_counter", &v), RE_ENOTFOUND);
    cluster_free(&c);
}

static void test_the_wrong_secret_is_refused_and_counted(void) {
    cluster c;
    secret_of[0] = secret_of[1] = "correct horse battery staple";
    secret_of[2] = "a different secret entirely";
    CHECK_EQ(cluster_init(&c, 3, with_secret), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "2", &w, 10000), RE_OK);
    uint64_t end = now_ms() + 5000;
    while ((counter_of(c.nodes[2], "auth_failed") == 0 || counter_of(c.nodes[0], "auth_failed") == 0) && now_ms() < end)
        usleep(10000);
    CHECK(counter_of(c.nodes[2], "auth_failed") > 0);
    CHECK(counter_of(c.nodes[0], "auth_failed") > 0);
    CHECK_EQ(counter_total(&c.machines[2]), 0);
    CHECK(!node_stopped(c.nodes[2]));
    CHECK(cluster_leader(&c) != 2);
    cluster_free(&c);
}

static void test_bad_secrets_are_refused(void) {
    re_config *c = NULL;
    CHECK_EQ(re_config_new(&c), RE_OK);
    CHECK_EQ(re_config_set_cluster_secret(c, (const uint8_t *)"short", 5), RE_EINVAL);
    CHECK_STR(re_config_errmsg(c), "a cluster secret needs at least 16 bytes, got 5");
    CHECK_EQ(re_config_set_cluster_secret(c, NULL, 0), RE_EINVAL);
    CHECK_EQ(re_config_accept_cluster_secret(c, (const uint8_t *)"0123456789abcdef", 16), RE_OK);
    re_config_free(c);
}

int main(void) {
    test_bad_secrets_are_refused();
    test_a_secured_cluster_commits();
    test_the_wrong_secret_is_refused_and_counted();
    return test_report();
}
