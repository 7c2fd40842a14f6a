/* Members, learners and reads from a C host: the member list with each follower's progress on
 * the leader, a learner that joins, receives the log and is promoted, linearizable reads that
 * see every acknowledged write, and a read on a follower that is refused. Run under valgrind. */
#define _GNU_SOURCE
#include "test_support.h"

/* One read's outcome and the counter it saw inside the completion (the loop thread). */
typedef struct read_wait {
    op_wait w;
    counter *machine;
    int64_t seen;
} read_wait;

static void on_read(void *user, const re_result *r) {
    read_wait *rw = user;
    if (r->status == RE_OK) rw->seen = counter_total(rw->machine);
    on_op(&rw->w, r);
}

static void test_members_and_progress(cluster *c) {
    int l = cluster_wait_leader(c, 10000);
    CHECK(l >= 0);
    if (l < 0) return;
    re_status_snapshot *s = NULL;
    CHECK_EQ(re_node_get_status(c->nodes[l], &s), RE_OK);
    CHECK_EQ(re_status_role(s), RE_ROLE_LEADER);
    CHECK_EQ(re_status_member_count(s), 3);
    CHECK_EQ(re_status_voter_count(s), 3);
    uint64_t commit = re_status_commit_index(s);
    int followers_seen = 0;
    for (size_t i = 0; i < re_status_member_count(s); i++) {
        char id[16], addr[64];
        cluster_node_id((int)i, id, sizeof id);
        cluster_node_addr(c, (int)i, addr, sizeof addr);
        CHECK_STR(re_status_member_id(s, i), id);
        CHECK_STR(re_status_member_address(s, i), addr);
        CHECK_EQ(re_status_member_is_voter(s, i), 1);
        uint64_t match = 0;
        int64_t since = -2;
        int rc = re_status_member_progress(s, i, &match, &since);
        if ((int)i == l) {
            CHECK_EQ(rc, RE_ESTATE);
            char why[64];
            snprintf(why, sizeof why, "%s is this leader itself", id);
            CHECK_STR(re_errmsg(), why);
        } else {
            CHECK_EQ(rc, RE_OK);
            CHECK(match <= commit + 1);
            CHECK(since >= 0 && since < 2000); /* heartbeats every 20 ms */
            followers_seen++;
        }
    }
    CHECK_EQ(followers_seen, 2);
    CHECK(re_status_member_id(s, 3) == NULL);
    CHECK_EQ(re_status_member_is_voter(s, 3), -1);
    CHECK_EQ(re_status_member_progress(s, 3, NULL, NULL), RE_EINVAL);
    re_status_free(s);

    /* A follower knows the members but not their progress. */
    int f = (l + 1) % 3;
    CHECK_EQ(re_node_get_status(c->nodes[f], &s), RE_OK);
    CHECK_EQ(re_status_role(s), RE_ROLE_FOLLOWER);
    CHECK_EQ(re_status_member_count(s), 3);
    char lid[16];
    cluster_node_id(l, lid, sizeof lid);
    CHECK_STR(re_status_leader_id(s), lid);
    CHECK_EQ(re_status_member_progress(s, (size_t)l, NULL, NULL), RE_ESTATE);
    CHECK_STR(re_errmsg(), "only the leader tracks its followers");
    re_status_free(s);
    re_status_free(NULL);
}

static void test_reads(cluster *c) {
    op_wait w;
    CHECK_EQ(cluster_submit(c, "5", &w, 10000), RE_OK);
    int l = cluster_leader(c);
    CHECK(l >= 0);
    if (l < 0) return;
    int64_t total = counter_total(&c->machines[l]);
    /* On the leader: completes OK and the machine holds every acknowledged write. */
    read_wait r = {.machine = &c->machines[l], .seen = -1};
    CHECK_EQ(re_node_read(c->nodes[l], on_read, &r), RE_OK);
    CHECK_EQ(wait_op(&r.w, 5000), RE_OK);
    CHECK_EQ(r.seen, total);
    /* On a follower: refused, naming the leader. */
    int f = (l + 1) % 3;
    read_wait rf = {.machine = &c->machines[f], .seen = -1};
    CHECK_EQ(re_node_read(c->nodes[f], on_read, &rf), RE_OK);
    CHECK_EQ(wait_op(&rf.w, 5000), RE_ENOTLEADER);
    CHECK_EQ(rf.seen, -1);
}

/* A fourth node joins as a learner: it gets the log, does not vote, and is promoted. */
static void test_a_learner_joins_and_is_promoted(cluster *c) {
    int l = cluster_wait_leader(c, 10000);
    CHECK(l >= 0);
    if (l < 0) return;
    counter m4;
    counter_init(&m4);
    re_config *cfg = NULL;
    char buf[320];
    re_config_new(&cfg);
    re_config_set_id(cfg, "n4");
    snprintf(buf, sizeof buf, "%s/n4", c->dir);
    re_config_set_data_dir(cfg, buf);
    re_config_set_listen_address(cfg, "127.0.0.1:0");
    re_config_set_cluster_id(cfg, "c-test");
    re_config_set_heartbeat_ms(cfg, 20);
    re_config_set_election_timeout_ms(cfg, 150, 300);
    re_config_set_state_machine(cfg, counter_apply, counter_snapshot, counter_restore, &m4);
    re_node *n4 = NULL;
    CHECK_EQ(re_node_start(c->host, cfg, &n4), RE_OK);
    re_config_free(cfg);
    char lid[16], laddr[64];
    cluster_node_id(l, lid, sizeof lid);
    cluster_node_addr(c, l, laddr, sizeof laddr);
    op_wait w = {0};
    CHECK_EQ(re_node_join(n4, lid, laddr, 0, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 15000), RE_OK);

    re_status_snapshot *s = NULL;
    CHECK_EQ(re_node_get_status(c->nodes[l], &s), RE_OK);
    CHECK_EQ(re_status_member_count(s), 4);
    CHECK_EQ(re_status_voter_count(s), 3);
    size_t learner = 99;
    for (size_t i = 0; i < re_status_member_count(s); i++)
        if (strcmp(re_status_member_id(s, i), "n4") == 0) learner = i;
    CHECK(learner < 4);
    CHECK_EQ(re_status_member_is_voter(s, learner), 0);
    re_status_free(s);
    CHECK_EQ(cluster_submit(c, "1", &w, 10000), RE_OK);
    int64_t want = counter_total(&c->machines[l]);
    uint64_t end = now_ms() + 5000;
    while (counter_total(&m4) != want && now_ms() < end) usleep(10000);
    CHECK_EQ(counter_total(&m4), want);

    /* Promotion: add_server on an existing learner makes it a voter. */
    uint16_t port4 = 0;
    re_node_listen_port(n4, &port4);
    snprintf(buf, sizeof buf, "127.0.0.1:%u", port4);
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_add_server(c->nodes[l], "n4", buf, 1, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 15000), RE_OK);
    CHECK_EQ(re_node_get_status(c->nodes[l], &s), RE_OK);
    CHECK_EQ(re_status_voter_count(s), 4);
    re_status_free(s);
    /* Promoting it again: already a voter. */
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_add_server(c->nodes[l], "n4", buf, 1, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_EEXIST);
    CHECK_STR(w.message, "n4 is already a voter");
    re_node_free(n4);
}

int main(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, NULL), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    test_members_and_progress(&c);
    test_reads(&c);
    test_a_learner_joins_and_is_promoted(&c);
    /* A stopped node says so. */
    re_node_stop(c.nodes[0]);
    re_status_snapshot *s = NULL;
    CHECK_EQ(re_node_get_status(c.nodes[0], &s), RE_OK);
    CHECK_EQ(re_status_role(s), RE_ROLE_STOPPED);
    CHECK(re_status_leader_id(s) == NULL);
    re_status_free(s);
    cluster_free(&c);
    return test_report();
}
