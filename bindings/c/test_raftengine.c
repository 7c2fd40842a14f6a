/* Tests of libraftengine through its C ABI only: a 3-node cluster over loopback TCP and every
 * bad-input case the header documents. Prints "N passed, N failed" and exits non-zero on a
 * failure. Run under valgrind by `make test`. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "counter.h"
#include "node_info.h"

static int passes, failures;
#define CHECK(cond) do { if (cond) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a == _b) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, #b, _a, _b); } } while (0)

#define N 3

static char base_dir[256];
static uint16_t ports[N];
static counter machines[N];
static re_node *nodes[N];
static re_host *host;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A port nobody listens on right now (bind to 0 and read it back). */
static uint16_t free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    return ntohs(a.sin_port);
}

static void node_id(int i, char *out, size_t cap) { snprintf(out, cap, "n%d", i + 1); }
static void node_addr(int i, char *out, size_t cap) { snprintf(out, cap, "127.0.0.1:%u", ports[i]); }

static re_config *make_config(int i) {
    re_config *c = NULL;
    char buf[300];
    if (re_config_new(&c) != RE_OK) return NULL;
    node_id(i, buf, sizeof buf);
    re_config_set_id(c, buf);
    snprintf(buf, sizeof buf, "%s/n%d", base_dir, i + 1);
    re_config_set_data_dir(c, buf);
    node_addr(i, buf, sizeof buf);
    re_config_set_listen_address(c, buf);
    for (int j = 0; j < N; j++) {
        if (j == i) continue;
        char id[16], addr[64];
        node_id(j, id, sizeof id);
        node_addr(j, addr, sizeof addr);
        re_config_add_peer(c, id, addr);
    }
    re_config_set_cluster_id(c, "c-test");
    re_config_set_heartbeat_ms(c, 20);
    re_config_set_election_timeout_ms(c, 150, 300);
    re_config_set_max_command_size(c, 1024);
    re_config_set_state_machine(c, counter_apply, counter_snapshot, counter_restore, &machines[i]);
    return c;
}

static int start_node(int i) {
    re_config *c = make_config(i);
    int rc = re_node_start(host, c, &nodes[i]);
    re_config_free(c);
    return rc;
}

static int leader_index(void) {
    for (int i = 0; i < N; i++) {
        if (!nodes[i]) continue;
        node_info st;
        if (get_info(nodes[i], &st) == RE_OK && st.role == RE_ROLE_LEADER && !st.stopped) return i;
    }
    return -1;
}

static int wait_leader(int timeout_ms) {
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < end) {
        int l = leader_index();
        if (l >= 0) return l;
        usleep(10000);
    }
    return -1;
}

static int wait_totals(int64_t want, int timeout_ms, int skip) {
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < end) {
        int ok = 1;
        for (int i = 0; i < N; i++)
            if (i != skip && counter_total(&machines[i]) != want) ok = 0;
        if (ok) return 1;
        usleep(10000);
    }
    return 0;
}

/* Submits until some leader accepts (elections may be in progress). */
static int submit_anywhere(const char *cmd, char *result, size_t cap) {
    uint64_t end = now_ms() + 10000;
    while (now_ms() < end) {
        int l = leader_index();
        if (l < 0) { usleep(10000); continue; }
        uint8_t *out = NULL;
        size_t out_len = 0;
        int rc = re_node_submit_sync(nodes[l], (const uint8_t *)cmd, strlen(cmd), 3000, &out, &out_len, NULL, NULL, 0);
        if (rc == RE_OK) {
            size_t n = out_len < cap - 1 ? out_len : cap - 1;
            if (out) memcpy(result, out, n);
            result[n] = 0;
            free(out);
            return RE_OK;
        }
        free(out);
        if (rc != RE_ENOTLEADER && rc != RE_ERETRY && rc != RE_ETIMEOUT) return rc;
        usleep(20000);
    }
    return RE_ETIMEOUT;
}

static atomic_int async_done;
static atomic_int async_status;
static void on_done(void *user, const re_result *r) {
    (void)user;
    atomic_store(&async_status, r->status);
    atomic_store(&async_done, 1);
}

/* Waits for one cluster operation's completion and returns its status. */
typedef struct op_wait {
    atomic_int done;
    atomic_int status;
    char message[256];
} op_wait;

static void on_op(void *user, const re_result *r) {
    op_wait *w = user;
    if (r->message) snprintf(w->message, sizeof w->message, "%s", r->message);
    atomic_store(&w->status, r->status);
    atomic_store(&w->done, 1);
}

static int wait_op(op_wait *w, int timeout_ms) {
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (!atomic_load(&w->done) && now_ms() < end) usleep(5000);
    if (!atomic_load(&w->done)) return RE_ETIMEOUT;
    if (atomic_load(&w->status) != RE_OK) fprintf(stderr, "  operation: %s (%s)\n", re_strerror(atomic_load(&w->status)), w->message);
    return atomic_load(&w->status);
}

static void test_bad_input(void) {
    re_config *c = NULL;
    CHECK_EQ(re_config_new(NULL), RE_EINVAL);
    CHECK_EQ(re_config_new(&c), RE_OK);
    CHECK_EQ(re_config_set_id(NULL, "x"), RE_EINVAL);
    CHECK_EQ(re_config_set_id(c, NULL), RE_EINVAL);
    CHECK_EQ(re_config_set_id(c, ""), RE_EINVAL);
    CHECK_EQ(re_config_set_listen_address(c, "not an address"), RE_EADDR);
    CHECK_EQ(re_config_set_listen_address(c, "127.0.0.1:99999"), RE_EADDR);
    CHECK_EQ(re_config_add_peer(c, "p", "nohostport"), RE_EADDR);
    CHECK_EQ(re_config_add_peer(c, "p", "127.0.0.1:7001"), RE_OK);
    CHECK_EQ(re_config_add_peer(c, "p", "127.0.0.1:7002"), RE_EDUPLICATE);
    CHECK_EQ(re_config_set_election_timeout_ms(c, 300, 100), RE_EINVAL);
    CHECK_EQ(re_config_set_heartbeat_ms(c, 0), RE_EINVAL);
    CHECK_EQ(re_config_set_state_machine(c, NULL, NULL, NULL, NULL), RE_EINVAL);
    re_node *n = NULL;
    /* Missing id / data dir / listen address / state machine. */
    CHECK_EQ(re_node_start(host, c, &n), RE_ESTATE);
    CHECK_EQ(re_node_start(NULL, c, &n), RE_EINVAL);
    CHECK_EQ(re_node_start(host, NULL, &n), RE_EINVAL);
    re_config_free(c);
    re_config_free(NULL);

    /* A peer with our own id. */
    c = make_config(0);
    CHECK_EQ(re_config_add_peer(c, "n1", "127.0.0.1:7009"), RE_EDUPLICATE);
    re_config_free(c);

    /* An unwritable data dir. */
    c = make_config(0);
    re_config_set_data_dir(c, "/proc/raftengine-cannot-write-here");
    CHECK_EQ(re_node_start(host, c, &n), RE_EIO);
    re_config_free(c);

    CHECK(re_strerror(RE_ENOTLEADER) != NULL);
    CHECK(strstr(re_strerror(RE_ELOCKED), "RE_ELOCKED") != NULL);
    CHECK(re_strerror(12345) != NULL);
    CHECK(strcmp(re_version(), RAFTENGINE_VERSION_STRING) == 0);
    {
        char v[32];
        snprintf(v, sizeof v, "%d.%d.%d", RAFTENGINE_VERSION_MAJOR, RAFTENGINE_VERSION_MINOR, RAFTENGINE_VERSION_PATCH);
        CHECK(strcmp(v, RAFTENGINE_VERSION_STRING) == 0);
    }

    node_info st;
    CHECK_EQ(get_info(NULL, &st), RE_EINVAL);
    CHECK_EQ(re_node_submit(NULL, (const uint8_t *)"1", 1, on_done, NULL), RE_EINVAL);
    CHECK_EQ(re_node_stop(NULL), RE_EINVAL);
    re_node_free(NULL);
}

static void test_cluster(void) {
    for (int i = 0; i < N; i++) CHECK_EQ(start_node(i), RE_OK);

    /* The same data dir cannot be opened twice. */
    {
        re_config *c = make_config(0);
        char other[64];
        snprintf(other, sizeof other, "127.0.0.1:%u", free_port());
        re_config_set_listen_address(c, other);
        re_node *dup = NULL;
        /* Same id on the same host. */
        CHECK_EQ(re_node_start(host, c, &dup), RE_EDUPLICATE);
        /* Another id, same data dir: the directory lock refuses it. */
        re_config_set_id(c, "n1-copy");
        CHECK_EQ(re_node_start(host, c, &dup), RE_ELOCKED);
        re_config_free(c);
    }

    int l = wait_leader(10000);
    CHECK(l >= 0);
    if (l < 0) return;

    char result[64];
    CHECK_EQ(submit_anywhere("5", result, sizeof result), RE_OK);
    CHECK(strcmp(result, "5") == 0);
    CHECK(wait_totals(5, 5000, -1));

    /* A follower redirects to the leader. */
    int f = (l + 1) % N;
    char leader_id[64] = {0}, leader_addr[64] = {0}, want_id[16];
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = re_node_submit_sync(nodes[f], (const uint8_t *)"1", 1, 2000, &out, &out_len, leader_id, leader_addr, sizeof leader_id);
    CHECK_EQ(rc, RE_ENOTLEADER);
    node_id(l, want_id, sizeof want_id);
    CHECK(strcmp(leader_id, want_id) == 0);
    CHECK(strlen(leader_addr) > 0);
    free(out);

    /* Asynchronous submit with a completion callback. */
    atomic_store(&async_done, 0);
    CHECK_EQ(re_node_submit(nodes[l], (const uint8_t *)"2", 1, on_done, NULL), RE_OK);
    uint64_t end = now_ms() + 5000;
    while (!atomic_load(&async_done) && now_ms() < end) usleep(5000);
    CHECK(atomic_load(&async_done));
    CHECK_EQ(atomic_load(&async_status), RE_OK);
    CHECK(wait_totals(7, 5000, -1));

    /* Oversized command. */
    static uint8_t big[4096];
    CHECK_EQ(re_node_submit(nodes[l], big, sizeof big, on_done, NULL), RE_ETOOBIG);

    /* Stop the leader: a new one is elected and commands continue. */
    CHECK_EQ(re_node_stop(nodes[l]), RE_OK);
    CHECK_EQ(re_node_stop(nodes[l]), RE_OK);
    CHECK_EQ(re_node_submit(nodes[l], (const uint8_t *)"1", 1, on_done, NULL), RE_ESTOPPED);
    node_info st;
    CHECK_EQ(get_info(nodes[l], &st), RE_OK);
    CHECK(st.stopped);
    re_node_free(nodes[l]);
    nodes[l] = NULL;
    int l2 = wait_leader(10000);
    CHECK(l2 >= 0 && l2 != l);
    CHECK_EQ(submit_anywhere("3", result, sizeof result), RE_OK);
    CHECK(strcmp(result, "10") == 0);
    CHECK(wait_totals(10, 5000, l));

    /* Restart the stopped node from its data dir: it catches up. */
    counter_init(&machines[l]);
    CHECK_EQ(start_node(l), RE_OK);
    CHECK(wait_totals(10, 10000, -1));

    for (int i = 0; i < N; i++) {
        if (nodes[i]) {
            re_node_free(nodes[i]);
            nodes[i] = NULL;
        }
    }
}

/* Snapshot, settings, transfer, add (join of a fourth node), remove and exit, each through
 * its completion callback. */
static void test_cluster_operations(void) {
    for (int i = 0; i < N; i++) {
        counter_init(&machines[i]);
        CHECK_EQ(start_node(i), RE_OK);
    }
    int l = wait_leader(10000);
    CHECK(l >= 0);
    if (l < 0) return;
    char result[64];
    int64_t base = counter_total(&machines[l]);
    char cmd[32];
    snprintf(cmd, sizeof cmd, "%d", 1);
    CHECK_EQ(submit_anywhere(cmd, result, sizeof result), RE_OK);
    l = leader_index();

    op_wait w = {0};
    CHECK_EQ(re_node_take_snapshot(nodes[l], on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_OK);

    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_update_settings(nodes[l], 25, 0, 0, 16, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_OK);

    /* Settings a follower cannot change. */
    memset(&w, 0, sizeof w);
    int f = (l + 1) % N;
    CHECK_EQ(re_node_update_settings(nodes[f], 25, 0, 0, 16, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_ENOTLEADER);

    /* Leadership transfer to a follower. */
    memset(&w, 0, sizeof w);
    char target[16];
    node_id(f, target, sizeof target);
    CHECK_EQ(re_node_transfer_leadership(nodes[l], target, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_OK);
    CHECK(wait_leader(5000) == f);
    l = f;

    /* A fourth node joins with an empty data dir, then leaves again. */
    uint16_t port4 = free_port();
    counter m4;
    counter_init(&m4);
    re_config *c = NULL;
    char buf[300];
    re_config_new(&c);
    re_config_set_id(c, "n4");
    snprintf(buf, sizeof buf, "%s/n4", base_dir);
    re_config_set_data_dir(c, buf);
    snprintf(buf, sizeof buf, "127.0.0.1:%u", port4);
    re_config_set_listen_address(c, buf);
    re_config_set_cluster_id(c, "c-test");
    re_config_set_heartbeat_ms(c, 20);
    re_config_set_election_timeout_ms(c, 150, 300);
    re_config_set_state_machine(c, counter_apply, counter_snapshot, counter_restore, &m4);
    re_node *n4 = NULL;
    CHECK_EQ(re_node_start(host, c, &n4), RE_OK);
    re_config_free(c);
    char laddr[64], lid[16];
    node_addr(l, laddr, sizeof laddr);
    node_id(l, lid, sizeof lid);
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_join(n4, lid, laddr, 1, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 15000), RE_OK);
    node_info st;
    CHECK_EQ(get_info(nodes[l], &st), RE_OK);
    CHECK_EQ(st.voters, 4);
    uint64_t end = now_ms() + 5000;
    while (counter_total(&m4) != base + 1 && now_ms() < end) usleep(10000);
    CHECK_EQ(counter_total(&m4), base + 1);

    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_exit(n4, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 10000), RE_OK);
    CHECK_EQ(get_info(nodes[l], &st), RE_OK);
    CHECK_EQ(st.voters, 3);
    re_node_free(n4);

    /* The leader removes a follower; a change for an unknown node is refused. */
    int victim = (l + 1) % N;
    char vid[16];
    node_id(victim, vid, sizeof vid);
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_remove_server(nodes[l], "nobody", on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 5000), RE_ENOTFOUND);
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_remove_server(nodes[l], vid, on_op, &w), RE_OK);
    CHECK_EQ(wait_op(&w, 10000), RE_OK);
    CHECK_EQ(get_info(nodes[l], &st), RE_OK);
    CHECK_EQ(st.voters, 2);
    end = now_ms() + 5000;
    int stopped = 0;
    while (!stopped && now_ms() < end) {
        if (get_info(nodes[victim], &st) == RE_OK && st.stopped) stopped = 1;
        else usleep(10000);
    }
    CHECK(stopped);
    CHECK_EQ(submit_anywhere("1", result, sizeof result), RE_OK);

    CHECK_EQ(re_node_add_server(nodes[l], "x", "bad address", 1, on_op, &w), RE_EADDR);
    CHECK_EQ(re_node_transfer_leadership(nodes[l], NULL, on_op, &w), RE_EINVAL);
    for (int i = 0; i < N; i++) {
        if (nodes[i]) {
            re_node_free(nodes[i]);
            nodes[i] = NULL;
        }
    }
}

int main(void) {
    snprintf(base_dir, sizeof base_dir, "/tmp/raftengine-ctest-XXXXXX");
    if (!mkdtemp(base_dir)) {
        perror("mkdtemp");
        return 2;
    }
    for (int i = 0; i < N; i++) {
        ports[i] = free_port();
        counter_init(&machines[i]);
    }
    CHECK_EQ(re_host_new(NULL), RE_EINVAL);
    CHECK_EQ(re_host_new(&host), RE_OK);
    test_bad_input();
    test_cluster();
    test_cluster_operations();
    re_host_free(host);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", base_dir);
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
