/* SIGPIPE through the C ABI (issue 11): a host that installs no signal handler, so SIGPIPE
 * keeps its default action (killing the process), runs a 3-node cluster whose links to and
 * from one node go through a proxy that resets every connection mid-stream. The process
 * must live on, and after the heal the cluster commits again and every node catches up.
 * Prints "N passed, N failed" and exits non-zero on a failure. Run under valgrind by
 * `make test-c`. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "counter.h"
#include "node_info.h"

static int passes, failures;
#define CHECK(cond) do { if (cond) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)

#define N 3
#define CUT 2                  /* n3: every link to and from it goes through a proxy */

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct sockaddr_in loopback(uint16_t port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* `n` distinct ports free a moment ago: all are held until the last is picked. */
static void free_ports(int n, uint16_t *out) {
    int fds[16];
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = loopback(0);
        socklen_t len = sizeof a;
        bind(fds[i], (struct sockaddr *)&a, sizeof a);
        getsockname(fds[i], (struct sockaddr *)&a, &len);
        out[i] = ntohs(a.sin_port);
    }
    for (int i = 0; i < n; i++) close(fds[i]);
}

#include "test_proxy.h"

/* ---- The cluster -------------------------------------------------------------------- */

static char base_dir[256];
static uint16_t ports[N], proxy_ports[N];
static proxy proxies[N];
static counter machines[N];
static re_node *nodes[N];
static re_host *host;

/* Where node `from` reaches node `to`: through to's proxy when either is the cut node. */
static uint16_t route(int from, int to) { return (from == CUT || to == CUT) ? proxy_ports[to] : ports[to]; }

static int start_node(int i) {
    re_config *c = NULL;
    char buf[300], id[16];
    if (re_config_new(&c) != RE_OK) return RE_ENOMEM;
    snprintf(id, sizeof id, "n%d", i + 1);
    re_config_set_id(c, id);
    snprintf(buf, sizeof buf, "%s/n%d", base_dir, i + 1);
    re_config_set_data_dir(c, buf);
    snprintf(buf, sizeof buf, "127.0.0.1:%u", ports[i]);
    re_config_set_listen_address(c, buf);
    for (int j = 0; j < N; j++) {
        if (j == i) continue;
        snprintf(id, sizeof id, "n%d", j + 1);
        snprintf(buf, sizeof buf, "127.0.0.1:%u", route(i, j));
        re_config_add_peer(c, id, buf);
    }
    re_config_set_cluster_id(c, "c-sigpipe");
    re_config_set_heartbeat_ms(c, 20);
    re_config_set_election_timeout_ms(c, 150, 300);
    re_config_set_state_machine(c, counter_apply, counter_snapshot, counter_restore, &machines[i]);
    int rc = re_node_start(host, c, &nodes[i]);
    re_config_free(c);
    return rc;
}

static int leader_index(void) {
    for (int i = 0; i < N; i++) {
        node_info st;
        if (get_info(nodes[i], &st) == RE_OK && st.role == RE_ROLE_LEADER && !st.stopped) return i;
    }
    return -1;
}

static int submit_to_leader(uint32_t timeout_ms) {
    int l = leader_index();
    if (l < 0) return RE_ERETRY;
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = re_node_submit_sync(nodes[l], (const uint8_t *)"1", 1, timeout_ms, &out, &out_len, NULL, NULL, 0);
    free(out);
    return rc;
}

/* Every node has applied all the leader committed, and the machines agree. */
static int caught_up(void) {
    int l = leader_index();
    node_info ls, st;
    if (l < 0 || get_info(nodes[l], &ls) != RE_OK) return 0;
    for (int i = 0; i < N; i++) {
        if (get_info(nodes[i], &st) != RE_OK || st.applied_index != ls.commit_index) return 0;
        if (counter_total(&machines[i]) != counter_total(&machines[l])) return 0;
    }
    return 1;
}

/* A client on its own thread: one command at a time to whoever leads, until told to stop. */
static atomic_int client_stop, client_applied;
static void *client_main(void *arg) {
    (void)arg;
    while (!atomic_load(&client_stop)) {
        if (submit_to_leader(1000) == RE_OK) atomic_fetch_add(&client_applied, 1);
        else usleep(10000);
    }
    return NULL;
}

/* Polls `cond` (evaluated once per try: it may submit) until true or `timeout_ms` passed. */
#define WAIT_UNTIL(cond, timeout_ms) ({ \
    uint64_t _end = now_ms() + (timeout_ms); \
    int _ok; \
    while (!(_ok = (cond)) && now_ms() < _end) usleep(10000); \
    _ok; })

static int sigpipe_is_default(void) {
    struct sigaction sa;
    sigaction(SIGPIPE, NULL, &sa);
    return !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL;
}

static atomic_int transfer_done;
static void on_transfer(void *user, const re_result *r) {
    (void)user;
    atomic_store(&transfer_done, r->status == RE_OK ? 1 : 2);
}

int main(void) {
    /* The test proves something only if a SIGPIPE on a loop thread would kill us: the
     * default action, and not blocked here (a loop thread inherits this thread's mask). */
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    if (!sigpipe_is_default() || sigismember(&mask, SIGPIPE)) {
        fprintf(stderr, "FAIL: SIGPIPE must be at SIG_DFL and unblocked for this test\n");
        return 1;
    }
    snprintf(base_dir, sizeof base_dir, "/tmp/raftengine-sigpipe-XXXXXX");
    if (!mkdtemp(base_dir)) {
        perror("mkdtemp");
        return 2;
    }
    uint16_t all[2 * N];
    free_ports(2 * N, all);
    for (int i = 0; i < N; i++) {
        ports[i] = all[i];
        proxy_ports[i] = all[N + i];
        counter_init(&machines[i]);
        if (proxy_start(&proxies[i], proxy_ports[i], ports[i]) != 0) return 2;
    }
    CHECK(re_host_new(&host) == RE_OK);
    for (int i = 0; i < N; i++) CHECK(start_node(i) == RE_OK);
    CHECK(WAIT_UNTIL(leader_index() >= 0, 20000));
    CHECK(WAIT_UNTIL(submit_to_leader(3000) == RE_OK, 20000));
    /* The cut node follows: what the test watches is a follower cut off, then catching up. */
    if (leader_index() == CUT && re_node_transfer_leadership(nodes[CUT], "n1", on_transfer, NULL) == RE_OK)
        WAIT_UNTIL(atomic_load(&transfer_done) != 0, 10000);
    CHECK(WAIT_UNTIL(leader_index() >= 0 && leader_index() != CUT, 20000));

    pthread_t client;
    pthread_create(&client, NULL, client_main, NULL);

    /* For a few seconds every proxied connection is reset RESET_AFTER_MS after it opens. */
    for (int i = 0; i < N; i++) proxy_set_mode(&proxies[i], PROXY_RESET);
    uint64_t reset_from = now_ms();
#define RESETS (atomic_load(&proxies[0].resets) + atomic_load(&proxies[1].resets) + atomic_load(&proxies[2].resets))
    CHECK(WAIT_UNTIL(now_ms() - reset_from >= 3000 && RESETS >= 10, 30000));
    printf("reset mode: %d connections reset, %d commands applied meanwhile\n", RESETS, atomic_load(&client_applied));

    /* Healed: the cluster commits again and every node catches up. */
    for (int i = 0; i < N; i++) proxy_set_mode(&proxies[i], PROXY_FORWARD);
    int at_heal = atomic_load(&client_applied);
    CHECK(WAIT_UNTIL(atomic_load(&client_applied) >= at_heal + 5, 30000));
    atomic_store(&client_stop, 1);
    pthread_join(client, NULL);
    CHECK(WAIT_UNTIL(submit_to_leader(3000) == RE_OK, 20000));
    CHECK(WAIT_UNTIL(caught_up(), 30000));
    /* The first command, the client's applied ones (timed-out ones may count too), the last. */
    CHECK(counter_total(&machines[CUT]) >= 2 + atomic_load(&client_applied));
    node_info st;
    CHECK(get_info(nodes[CUT], &st) == RE_OK && !st.stopped);
    /* The library changed no disposition of ours. */
    CHECK(sigpipe_is_default());

    for (int i = 0; i < N; i++) re_node_free(nodes[i]);
    re_host_free(host);
    for (int i = 0; i < N; i++) proxy_stop(&proxies[i]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", base_dir);
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
