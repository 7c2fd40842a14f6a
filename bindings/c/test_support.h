/* Helpers shared by the C tests: checks, clocks, free ports, a cluster of nodes on one host with
 * counter state machines, and a per-node record of events. Written against include/raftengine.h
 * only, as a host would. */
#ifndef RAFTENGINE_TEST_SUPPORT_H
#define RAFTENGINE_TEST_SUPPORT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "counter.h"
#include "node_info.h"

static int passes, failures;
#define CHECK(cond) do { if (cond) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); if (_a == _b) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, #b, _a, _b); } } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); if (_a && _b && strcmp(_a, _b) == 0) passes++; else { failures++; fprintf(stderr, "FAIL %s:%d: %s == \"%s\" (got \"%s\")\n", __FILE__, __LINE__, #a, _b ? _b : "(null)", _a ? _a : "(null)"); } } while (0)

static inline uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Polls `cond` every 10 ms for up to `ms` milliseconds; its last value. */
#define WAIT_UNTIL_MS(cond, ms) ({ uint64_t _e = now_ms() + (ms); int _ok; while (!(_ok = (cond)) && now_ms() < _e) usleep(10000); _ok; })

/* A loopback port nobody listens on right now (bind to 0 and read it back). */
static inline uint16_t free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &len) != 0) a.sin_port = 0;
    close(s);
    return ntohs(a.sin_port);
}

/* A loopback socket that accepts connections into its backlog and never reads them: frames
 * sent to it are held back forever. Returns the fd (close it to end) and sets *port. */
static inline int blackhole_listener(uint16_t *port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        close(s);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

/* ---- Events, recorded per node (the callback runs on the loop thread) ---- */

#define MAX_EVENTS 512
typedef struct recorded_event {
    int kind;
    char value[64];
    char node[64];
    char detail[160];
    uint64_t number;
} recorded_event;

typedef struct event_log {
    pthread_mutex_t lock;
    int count;
    recorded_event events[MAX_EVENTS];
} event_log;

static inline void event_log_init(event_log *l) {
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
}

static inline void record_event(void *user, const re_event *e) {
    event_log *l = user;
    pthread_mutex_lock(&l->lock);
    if (l->count < MAX_EVENTS) {
        recorded_event *r = &l->events[l->count++];
        r->kind = e->kind;
        snprintf(r->value, sizeof r->value, "%s", e->value ? e->value : "");
        snprintf(r->node, sizeof r->node, "%s", e->node ? e->node : "");
        snprintf(r->detail, sizeof r->detail, "%s", e->detail ? e->detail : "");
        r->number = e->number;
    }
    pthread_mutex_unlock(&l->lock);
}

/* Copies the events of `kind` (up to `cap`) into `out`; returns how many there were. */
static inline int events_of(event_log *l, int kind, recorded_event *out, int cap) {
    int n = 0;
    pthread_mutex_lock(&l->lock);
    for (int i = 0; i < l->count; i++) {
        if (l->events[i].kind != kind) continue;
        if (n < cap) out[n] = l->events[i];
        n++;
    }
    pthread_mutex_unlock(&l->lock);
    return n;
}

/* ---- One operation's completion ---- */

typedef struct op_wait {
    atomic_int done;
    atomic_int status;
    char message[256];
    char result[64];
} op_wait;

static inline void on_op(void *user, const re_result *r) {
    op_wait *w = user;
    if (r->message) snprintf(w->message, sizeof w->message, "%s", r->message);
    size_t n = r->result_len < sizeof w->result - 1 ? r->result_len : sizeof w->result - 1;
    if (r->result && n) memcpy(w->result, r->result, n);
    w->result[n] = 0;
    atomic_store(&w->status, r->status);
    atomic_store(&w->done, 1);
}

static inline int wait_op(op_wait *w, int timeout_ms) {
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (!atomic_load(&w->done) && now_ms() < end) usleep(5000);
    if (!atomic_load(&w->done)) return RE_ETIMEOUT;
    return atomic_load(&w->status);
}

/* ---- A cluster of nodes on one host ---- */

#define MAX_NODES 5
typedef struct cluster {
    int n;
    re_host *host;
    char dir[256];
    uint16_t ports[MAX_NODES];
    counter machines[MAX_NODES];
    event_log events[MAX_NODES];
    re_node *nodes[MAX_NODES];
    /* Called on every node's config before it starts (settings of the test). */
    void (*tweak)(re_config *config, int i);
    /* Where node `from` reaches node `to` (a proxy's port); NULL: at to's listen port. */
    uint16_t (*route)(int from, int to);
} cluster;

static inline void cluster_node_id(int i, char *out, size_t cap) { snprintf(out, cap, "n%d", i + 1); }
static inline void cluster_node_addr(const cluster *c, int i, char *out, size_t cap) { snprintf(out, cap, "127.0.0.1:%u", c->ports[i]); }

/* Prepares (does not start) a cluster of n nodes with fresh data dirs under /tmp. */
static inline int cluster_init(cluster *c, int n, void (*tweak)(re_config *, int)) {
    memset(c, 0, sizeof *c);
    c->n = n;
    c->tweak = tweak;
    snprintf(c->dir, sizeof c->dir, "/tmp/raftengine-ctest-XXXXXX");
    if (!mkdtemp(c->dir)) return -1;
    for (int i = 0; i < n; i++) {
        c->ports[i] = free_port();
        counter_init(&c->machines[i]);
        event_log_init(&c->events[i]);
    }
    return re_host_new(&c->host);
}

/* The config node i starts with: id, data dir, listen address, the others as peers, fast
 * timers, the counter machine, the event log, then the test's tweak. The caller frees it. */
static re_config *cluster_config(cluster *c, int i) {
    re_config *cfg = NULL;
    char buf[320];
    if (re_config_new(&cfg) != RE_OK) return NULL;
    cluster_node_id(i, buf, sizeof buf);
    re_config_set_id(cfg, buf);
    snprintf(buf, sizeof buf, "%s/n%d", c->dir, i + 1);
    re_config_set_data_dir(cfg, buf);
    cluster_node_addr(c, i, buf, sizeof buf);
    re_config_set_listen_address(cfg, buf);
    for (int j = 0; j < c->n; j++) {
        if (j == i) continue;
        char id[16], addr[64];
        cluster_node_id(j, id, sizeof id);
        snprintf(addr, sizeof addr, "127.0.0.1:%u", c->route ? c->route(i, j) : c->ports[j]);
        re_config_add_peer(cfg, id, addr);
    }
    re_config_set_cluster_id(cfg, "c-test");
    re_config_set_heartbeat_ms(cfg, 20);
    re_config_set_election_timeout_ms(cfg, 150, 300);
    re_config_set_state_machine(cfg, counter_apply, counter_snapshot, counter_restore, &c->machines[i]);
    re_config_set_event_callback(cfg, record_event, &c->events[i]);
    if (c->tweak) c->tweak(cfg, i);
    return cfg;
}

static inline int cluster_start(cluster *c, int i) {
    re_config *cfg = cluster_config(c, i);
    int rc = re_node_start(c->host, cfg, &c->nodes[i]);
    if (rc != RE_OK) fprintf(stderr, "  re_node_start n%d: %s (%s)\n", i + 1, re_strerror(rc), re_config_errmsg(cfg));
    re_config_free(cfg);
    return rc;
}

static inline int cluster_start_all(cluster *c) {
    for (int i = 0; i < c->n; i++) {
        int rc = cluster_start(c, i);
        if (rc != RE_OK) return rc;
    }
    return RE_OK;
}

static inline int cluster_leader(cluster *c) {
    for (int i = 0; i < c->n; i++) {
        if (!c->nodes[i]) continue;
        node_info st;
        if (get_info(c->nodes[i], &st) == RE_OK && st.role == RE_ROLE_LEADER && !st.stopped) return i;
    }
    return -1;
}

static inline int cluster_wait_leader(cluster *c, int timeout_ms) {
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < end) {
        int l = cluster_leader(c);
        if (l >= 0) return l;
        usleep(10000);
    }
    return -1;
}

/* Submits `cmd` at whichever node leads (retrying through elections); the outcome lands in
 * *w. Returns its status. */
static inline int cluster_submit(cluster *c, const char *cmd, op_wait *w, int timeout_ms) {
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    int rc = RE_ETIMEOUT;
    while (now_ms() < end) {
        int l = cluster_leader(c);
        if (l < 0) { usleep(10000); continue; }
        memset(w, 0, sizeof *w);
        rc = re_node_submit(c->nodes[l], (const uint8_t *)cmd, strlen(cmd), on_op, w);
        if (rc == RE_OK) rc = wait_op(w, 5000);
        if (rc != RE_ENOTLEADER && rc != RE_ERETRY && rc != RE_ETIMEOUT) return rc;
        usleep(20000);
    }
    return rc;
}

/* Waits until every running node's counter (skipping node `skip`, -1 for none) shows `want`. */
static inline int cluster_wait_totals(cluster *c, int64_t want, int timeout_ms, int skip) {
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    do {
        int ok = 1;
        for (int i = 0; i < c->n; i++)
            if (i != skip && c->nodes[i] && counter_total(&c->machines[i]) != want) ok = 0;
        if (ok) return 1;
        usleep(10000);
    } while (now_ms() < end);
    return 0;
}

static inline int node_stopped(re_node *n) {
    node_info st;
    return get_info(n, &st) == RE_OK && st.stopped;
}

/* Frees every node and the host and removes the data dirs. */
static inline void cluster_free(cluster *c) {
    for (int i = 0; i < c->n; i++) {
        re_node_free(c->nodes[i]);
        c->nodes[i] = NULL;
    }
    re_host_free(c->host);
    c->host = NULL;
    for (int i = 0; i < c->n; i++) counter_free(&c->machines[i]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", c->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", c->dir);
}

static inline int test_report(void) {
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}

#endif
