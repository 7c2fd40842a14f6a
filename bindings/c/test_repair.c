/* Repairs of a stopped node's data dir from C: clearing the broken mark a halted apply left,
 * and making a survivor the sole voter after losing a quorum for good. Run under valgrind by
 * `make test`. */
#define _GNU_SOURCE
#include "test_support.h"

static void halt_policy(re_config *c, int i) {
    (void)i;
    CHECK_EQ(re_config_set_apply_policy(c, RE_APPLY_HALT), RE_OK);
}

static void test_a_halted_node_starts_again_once_the_mark_is_cleared(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, halt_policy), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "4", &w, 10000), RE_OK);
    CHECK(cluster_wait_totals(&c, 4, 5000, -1));
    int f = (cluster_leader(&c) + 1) % 3;
    c.machines[f].fail = 1;
    CHECK_EQ(cluster_submit(&c, "3", &w, 10000), RE_OK);
    CHECK(WAIT_UNTIL_MS(node_stopped(c.nodes[f]), 5000));
    re_node_free(c.nodes[f]);
    c.nodes[f] = NULL;

    char dir[320];
    snprintf(dir, sizeof dir, "%s/n%d", c.dir, f + 1);
    CHECK_EQ(re_data_dir_is_broken(dir), 1);
    /* The machine is fixed (here: stops failing), the mark cleared, the node started again:
     * it replays its log into a fresh machine and catches up. */
    counter_init(&c.machines[f]);
    CHECK_EQ(re_data_dir_clear_broken(dir), RE_OK);
    CHECK_EQ(re_data_dir_is_broken(dir), 0);
    CHECK_EQ(cluster_start(&c, f), RE_OK);
    CHECK_EQ(cluster_submit(&c, "1", &w, 10000), RE_OK);
    CHECK(cluster_wait_totals(&c, 8, 5000, -1));

    /* A running node's dir is locked; a path without node data is refused, not created. */
    CHECK_EQ(re_data_dir_clear_broken(dir), RE_ELOCKED);
    char missing[340];
    snprintf(missing, sizeof missing, "%s/nothing-here", c.dir);
    CHECK_EQ(re_data_dir_is_broken(missing), RE_EIO);
    CHECK(strstr(re_errmsg(), "holds no node data") != NULL);
    CHECK(access(missing, F_OK) != 0);
    CHECK_EQ(re_data_dir_clear_broken(NULL), RE_EINVAL);
    cluster_free(&c);
}

static void test_a_survivor_forced_to_be_the_sole_voter_leads_again(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, NULL), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "5", &w, 10000), RE_OK);
    CHECK_EQ(cluster_submit(&c, "6", &w, 10000), RE_OK);
    CHECK(cluster_wait_totals(&c, 11, 5000, -1));
    /* Two of three gone for good; the survivor stops too for the repair. */
    for (int i = 0; i < 3; i++) {
        re_node_free(c.nodes[i]);
        c.nodes[i] = NULL;
    }
    char dir[320];
    snprintf(dir, sizeof dir, "%s/n1", c.dir);
    CHECK_EQ(re_data_dir_force_sole_voter(dir, "n9"), RE_ENOTFOUND);
    CHECK_EQ(re_data_dir_force_sole_voter(dir, ""), RE_EINVAL);
    CHECK_EQ(re_data_dir_force_sole_voter(dir, "n1"), RE_OK);

    counter_init(&c.machines[0]);
    CHECK_EQ(cluster_start(&c, 0), RE_OK);
    CHECK(WAIT_UNTIL_MS(cluster_leader(&c) == 0, 10000));
    node_info st;
    CHECK_EQ(get_info(c.nodes[0], &st), RE_OK);
    CHECK_EQ(st.voters, 1);
    CHECK_EQ(cluster_submit(&c, "1", &w, 10000), RE_OK);
    CHECK_STR(w.result, "12");
    cluster_free(&c);
}

int main(void) {
    test_a_halted_node_starts_again_once_the_mark_is_cleared();
    test_a_survivor_forced_to_be_the_sole_voter_leads_again();
    return test_report();
}
