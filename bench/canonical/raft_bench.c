/* canonical/raft (Debian libraft-dev 0.15) under the load raftengine-bench puts on our
 * cluster: 3 servers in one process, one libuv loop thread per server, its uv disk backend
 * and TCP transport on loopback, a counter FSM, 64-byte commands, a closed loop of N commands
 * in flight submitted at the leader (a new one from each apply callback, on the leader's loop
 * thread). One trial per process; prints one RESULT line, as `raftengine-bench side-trial`
 * does. A benchmark, never a test: bench/canonical/run.py runs the two side by side.
 *
 *   raft-bench DIR IN_FLIGHT SECONDS SNAPSHOT_THRESHOLD [PAYLOAD_BYTES] [WARMUP_SECONDS] [SERVERS]
 *
 * SERVERS is 3 unless given (at most 7).
 * SNAPSHOT_THRESHOLD 0 turns snapshots off; otherwise a snapshot every that many entries,
 * keeping 1,000 trailing (raftengine-bench's setting). Everything else is raft's default
 * (election timeout 1 s, heartbeat 100 ms, segment size, block size probed on the disk). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MAX_SERVERS 7
static int nServers = 3;

static uint64_t nowNanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int rv)
{
    fprintf(stderr, "raft-bench: %s failed: %d\n", what, rv);
    exit(2);
}

/* --- the FSM: counts applies ------------------------------------------------------------ */

struct Fsm
{
    uint64_t count;
};

static int fsmApply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct Fsm *f = fsm->data;
    (void)buf;
    f->count++;
    *result = NULL;
    return 0;
}

/* Version 1 FSM: raft frees the buffers it is given. */
static int fsmSnapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
    struct Fsm *f = fsm->data;
    *n = 1;
    *bufs = raft_malloc(sizeof **bufs);
    (*bufs)[0].len = sizeof f->count;
    (*bufs)[0].base = raft_malloc(sizeof f->count);
    memcpy((*bufs)[0].base, &f->count, sizeof f->count);
    return 0;
}

static int fsmRestore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct Fsm *f = fsm->data;
    if (buf->len >= sizeof f->count) memcpy(&f->count, buf->base, sizeof f->count);
    raft_free(buf->base);
    return 0;
}

/* --- one server ------------------------------------------------------------------------- */

struct Server
{
    raft_id id;
    char address[64];
    char dir[4096];
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct Fsm fsmState;
    struct raft_fsm fsm;
    struct raft raft;
    uv_timer_t stateTimer; /* publishes raft_state() for the main thread */
    uv_async_t startLoad;  /* main -> this loop: start the closed loop here */
    pthread_t thread;
    atomic_int state;
};

/* The load, driven on the leader's loop thread; the main thread reads only the atomics until
 * `drained` is set. */
static struct
{
    struct Server *at;
    unsigned inFlight;
    size_t payload;
    atomic_int running;
    atomic_int measuring;
    atomic_int drained;
    long outstanding;
    long committed;
    long failed;
    uint64_t *latencies;
    size_t nLatencies, capLatencies;
} load;

struct Request
{
    struct raft_apply apply;
    uint64_t started;
};

static void submitOne(void);

static void applied(struct raft_apply *req, int status, void *result)
{
    struct Request *r = req->data;
    uint64_t t1 = nowNanos();
    (void)result;
    load.outstanding--;
    if (status == 0) {
        if (atomic_load(&load.measuring)) {
            load.committed++;
            if (load.nLatencies == load.capLatencies) {
                load.capLatencies *= 2;
                load.latencies = realloc(load.latencies, load.capLatencies * sizeof *load.latencies);
            }
            load.latencies[load.nLatencies++] = t1 - r->started;
        }
    } else {
        load.failed++;
    }
    free(r);
    /* A failed command (leadership lost) is not resubmitted: the trial reports it. */
    if (status == 0 && atomic_load(&load.running)) submitOne();
    if (load.outstanding == 0 && !atomic_load(&load.running)) atomic_store(&load.drained, 1);
}

static void submitOne(void)
{
    struct Request *r = malloc(sizeof *r);
    struct raft_buffer buf;
    buf.len = load.payload;
    buf.base = raft_malloc(buf.len);
    memset(buf.base, 0x42, buf.len);
    r->apply.data = r;
    r->started = nowNanos();
    int rv = raft_apply(&load.at->raft, &r->apply, &buf, 1, applied);
    if (rv != 0) {
        raft_free(buf.base);
        free(r);
        load.failed++;
        return;
    }
    load.outstanding++;
}

static void startLoadCb(uv_async_t *h)
{
    (void)h;
    for (unsigned i = 0; i < load.inFlight; i++) submitOne();
    if (load.outstanding == 0) atomic_store(&load.drained, 1);
}

static atomic_int leaderFound;

static void publishState(uv_timer_t *t)
{
    struct Server *s = t->data;
    atomic_store(&s->state, raft_state(&s->raft));
    /* No wake-ups of its own once the load runs. */
    if (atomic_load(&leaderFound)) uv_timer_stop(t);
}

static void *serve(void *arg)
{
    struct Server *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

static unsigned freePort(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("finding a free port", errno);
    unsigned port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int compareU64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double percentileMicros(double p)
{
    if (load.nLatencies == 0) return -1;
    size_t i = (size_t)((double)load.nLatencies * p);
    if (i >= load.nLatencies) i = load.nLatencies - 1;
    return (double)load.latencies[i] / 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: raft-bench DIR IN_FLIGHT SECONDS SNAPSHOT_THRESHOLD [PAYLOAD_BYTES] [WARMUP_SECONDS] [SERVERS]\n");
        return 2;
    }
    const char *root = argv[1];
    load.inFlight = (unsigned)atoi(argv[2]);
    double seconds = atof(argv[3]);
    unsigned threshold = (unsigned)strtoul(argv[4], NULL, 10);
    load.payload = argc > 5 ? (size_t)atoi(argv[5]) : 64;
    double warmup = argc > 6 ? atof(argv[6]) : 0.5;
    nServers = argc > 7 ? atoi(argv[7]) : 3;
    if (nServers < 1 || nServers > MAX_SERVERS) die("the number of servers (1-7)", nServers);
    load.capLatencies = 1 << 20;
    load.latencies = malloc(load.capLatencies * sizeof *load.latencies);
    atomic_store(&load.running, 1);

    static struct Server servers[MAX_SERVERS];
    mkdir(root, 0755);
    for (int i = 0; i < nServers; i++) {
        struct Server *s = &servers[i];
        s->id = (raft_id)(i + 1);
        snprintf(s->address, sizeof s->address, "127.0.0.1:%u", freePort());
        snprintf(s->dir, sizeof s->dir, "%s/%d", root, i + 1);
        mkdir(s->dir, 0755);
    }
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    for (int i = 0; i < nServers; i++) {
        int rv = raft_configuration_add(&conf, servers[i].id, servers[i].address, RAFT_VOTER);
        if (rv != 0) die("raft_configuration_add", rv);
    }
    for (int i = 0; i < nServers; i++) {
        struct Server *s = &servers[i];
        int rv;
        if ((rv = uv_loop_init(&s->loop)) != 0) die("uv_loop_init", rv);
        if ((rv = raft_uv_tcp_init(&s->transport, &s->loop)) != 0) die("raft_uv_tcp_init", rv);
        if ((rv = raft_uv_init(&s->io, &s->loop, s->dir, &s->transport)) != 0) die("raft_uv_init", rv);
        s->fsm = (struct raft_fsm){.version = 1, .data = &s->fsmState, .apply = fsmApply,
                                   .snapshot = fsmSnapshot, .restore = fsmRestore};
        if ((rv = raft_init(&s->raft, &s->io, &s->fsm, s->id, s->address)) != 0) die("raft_init", rv);
        s->raft.data = s;
        raft_set_snapshot_threshold(&s->raft, threshold == 0 ? UINT_MAX : threshold);
        raft_set_snapshot_trailing(&s->raft, 1000);
        if ((rv = raft_bootstrap(&s->raft, &conf)) != 0) die("raft_bootstrap", rv);
        if ((rv = raft_start(&s->raft)) != 0) die("raft_start", rv);
        uv_timer_init(&s->loop, &s->stateTimer);
        s->stateTimer.data = s;
        uv_timer_start(&s->stateTimer, publishState, 5, 5);
        uv_async_init(&s->loop, &s->startLoad, startLoadCb);
        if ((rv = pthread_create(&s->thread, NULL, serve, s)) != 0) die("pthread_create", rv);
    }
    raft_configuration_close(&conf);

    /* A leader, then the load at it. */
    uint64_t deadline = nowNanos() + 20000000000ull;
    while (load.at == NULL && nowNanos() < deadline) {
        for (int i = 0; i < nServers; i++)
            if (atomic_load(&servers[i].state) == RAFT_LEADER) load.at = &servers[i];
        if (load.at == NULL) usleep(2000);
    }
    if (load.at == NULL) {
        printf("RESULT system=canonical error=no-leader\n");
        fflush(stdout);
        _exit(1);
    }
    atomic_store(&leaderFound, 1);
    uv_async_send(&load.at->startLoad);
    usleep((useconds_t)(warmup * 1e6));
    uint64_t start = nowNanos();
    atomic_store(&load.measuring, 1);
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&load.measuring, 0);
    uint64_t end = nowNanos();
    atomic_store(&load.running, 0);
    /* The loop thread owns the counters until the last outstanding command is back. */
    deadline = nowNanos() + 15000000000ull;
    while (!atomic_load(&load.drained) && nowNanos() < deadline) usleep(1000);
    if (!atomic_load(&load.drained)) {
        printf("RESULT system=canonical error=not-drained\n");
        fflush(stdout);
        _exit(1);
    }
    qsort(load.latencies, load.nLatencies, sizeof *load.latencies, compareU64);
    double elapsed = (double)(end - start) / 1e9;
    printf("RESULT system=canonical servers=%d inflight=%u payload=%zu snapshots=%u committed=%ld failed=%ld seconds=%.3f "
           "commits_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f\n",
           nServers, load.inFlight, load.payload, threshold, load.committed, load.failed, elapsed,
           (double)load.committed / elapsed, percentileMicros(0.5), percentileMicros(0.99),
           percentileMicros(0.999));
    fflush(stdout);
    /* One trial per process: the servers are not shut down one by one. */
    _exit(0);
}
