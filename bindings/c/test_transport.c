/* A host-provided transport from C: a 3-node cluster whose frames travel only through this
 * test's own in-memory network (a mutex-protected queue and a delivery thread) that drops,
 * duplicates and reorders them (random, seeded: TRANSPORT_SEED=N replays a network's
 * decisions). The cluster elects, commits every acknowledged write exactly once on every node,
 * survives its leader stopping, and takes the stopped node back. Also: nothing is bound, the
 * sender check, bad frames counted, and the calls' refusals. Run under valgrind by `make test`. */
#define _GNU_SOURCE
#include "test_writer.h"

#define N 3
#define DROP_PERCENT 10
#define DUPLICATE_PERCENT 5
#define MAX_DELAY_MS 10
#define MAX_FRAME (1 << 20)

/* ---- The host's network: frames wait in a list until due, then go to re_node_deliver ---- */

typedef struct queued_frame {
    struct queued_frame *next;
    int from, to;
    uint64_t due_ms;
    size_t len;
    uint8_t bytes[];
} queued_frame;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    queued_frame *head;
    int stopping;
    uint64_t rng;
    re_node *to[N];        /* where frames for node i go; NULL while it is down */
    uint8_t *captured;     /* the first frame n2 sent n1, for the sender check */
    size_t captured_len;
    unsigned sent, dropped, duplicated, delivered, undeliverable;
} net;

static int endpoint[N] = {0, 1, 2}; /* each node's send `user`: its own index */

static uint32_t net_random(void) { /* xorshift64*, under net.lock */
    net.rng ^= net.rng >> 12;
    net.rng ^= net.rng << 25;
    net.rng ^= net.rng >> 27;
    return (uint32_t)((net.rng * 2685821657736338717ULL) >> 32);
}

static void enqueue(int from, int to, const uint8_t *frame, size_t len) {
    queued_frame *q = malloc(sizeof *q + len);
    if (!q) return;
    q->from = from;
    q->to = to;
    q->len = len;
    memcpy(q->bytes, frame, len);
    /* Random delays reorder frames. */
    q->due_ms = now_ms() + net_random() % (MAX_DELAY_MS + 1);
    q->next = net.head;
    net.head = q;
}

/* re_send_fn: loop thread; the frame is valid during the call only, so it is copied. */
static void send_frame(void *user, const char *to_id, const uint8_t *frame, size_t len) {
    int from = *(int *)user, to = -1;
    if (sscanf(to_id, "n%d", &to) != 1 || to < 1 || to > N) return;
    to -= 1;
    pthread_mutex_lock(&net.lock);
    net.sent++;
    if (from == 1 && to == 0 && !net.captured && (net.captured = malloc(len))) {
        memcpy(net.captured, frame, len);
        net.captured_len = len;
    }
    if (net_random() % 100 < DROP_PERCENT) {
        net.dropped++;
    } else {
        enqueue(from, to, frame, len);
        if (net_random() % 100 < DUPLICATE_PERCENT) {
            net.duplicated++;
            enqueue(from, to, frame, len);
        }
        pthread_cond_signal(&net.wake);
    }
    pthread_mutex_unlock(&net.lock);
}

/* Delivers due frames in no particular order. re_node_deliver runs under net.lock, so a node
 * taken out of net.to is never handed a frame after that (and may then be freed). */
static void *delivery_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&net.lock);
    while (!net.stopping) {
        uint64_t now = now_ms(), next_due = now + 50;
        queued_frame **p = &net.head, *due = NULL;
        for (; *p; p = &(*p)->next) {
            if ((*p)->due_ms <= now) {
                due = *p;
                *p = due->next;
                break;
            }
            if ((*p)->due_ms < next_due) next_due = (*p)->due_ms;
        }
        if (due) {
            char from_id[16];
            snprintf(from_id, sizeof from_id, "n%d", due->from + 1);
            if (net.to[due->to] && re_node_deliver(net.to[due->to], from_id, due->bytes, due->len) == RE_OK)
                net.delivered++;
            else
                net.undeliverable++;
            free(due);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        uint64_t wait_ns = (next_due - now) * 1000000ULL + (uint64_t)until.tv_nsec;
        until.tv_sec += (time_t)(wait_ns / 1000000000ULL);
        until.tv_nsec = (long)(wait_ns % 1000000000ULL);
        pthread_cond_timedwait(&net.wake, &net.lock, &until);
    }
    pthread_mutex_unlock(&net.lock);
    return NULL;
}

static void net_attach(int i, re_node *node) {
    pthread_mutex_lock(&net.lock);
    net.to[i] = node;
    pthread_mutex_unlock(&net.lock);
}

/* ---- The cluster ---- */

static cluster cl;
static write_set sets[N];
static writer wr;

static void with_host_transport(re_config *c, int i) {
    CHECK_EQ(re_config_set_transport(c, send_frame, &endpoint[i]), RE_OK);
    CHECK_EQ(re_config_set_state_machine(c, ws_apply, ws_snapshot, ws_restore, &sets[i]), RE_OK);
    CHECK_EQ(re_config_set_max_frame_size(c, MAX_FRAME), RE_OK);
}

static uint64_t counter_of(re_node *n, const char *name) {
    uint64_t v = 0;
    CHECK_EQ(re_node_counter(n, name, &v), RE_OK);
    return v;
}

static int listening(uint16_t port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

static uint64_t term_of(int i) {
    node_info st;
    return get_info(cl.nodes[i], &st) == RE_OK ? st.term : 0;
}

/* Elects, commits through the lossy network, loses its leader and takes it back. */
static void test_a_cluster_over_the_hosts_network(void) {
    CHECK_EQ(cluster_init(&cl, N, with_host_transport), RE_OK);
    for (int i = 0; i < N; i++) write_set_init(&sets[i]);
    /* Nothing binds: n1's listen address is one that is already in use. */
    uint16_t held;
    int hole = blackhole_listener(&held);
    CHECK(hole >= 0);
    cl.ports[0] = held;
    CHECK_EQ(cluster_start_all(&cl), RE_OK);
    for (int i = 0; i < N; i++) net_attach(i, cl.nodes[i]);
    for (int i = 1; i < N; i++) CHECK(!listening(cl.ports[i]));
    uint16_t port = 1;
    CHECK_EQ(re_node_listen_port(cl.nodes[1], &port), RE_OK);
    CHECK_EQ(port, 0);

    int leader = cluster_wait_leader(&cl, 15000);
    CHECK(leader >= 0);
    if (leader < 0) return;
    writer_start(&wr, &cl, 0);
    CHECK(WAIT_UNTIL_MS(atomic_load(&wr.acked_count) >= 30, 20000));

    /* The leader advertises its listen address, though it never bound it. */
    leader = cluster_leader(&cl);
    int follower = (leader + 1) % N;
    char want[64];
    cluster_node_addr(&cl, leader, want, sizeof want);
    node_info st;
    CHECK(WAIT_UNTIL_MS(get_info(cl.nodes[follower], &st) == RE_OK && strcmp(st.leader_address, want) == 0, 5000));

    /* The leader stops: the others elect a leader of a newer term and go on committing. */
    uint64_t old_term = term_of(leader);
    int acked_before = atomic_load(&wr.acked_count);
    net_attach(leader, NULL);
    CHECK_EQ(re_node_stop(cl.nodes[leader]), RE_OK);
    uint8_t byte = 0;
    CHECK_EQ(re_node_deliver(cl.nodes[leader], "n1", &byte, 1), RE_ESTOPPED);
    CHECK(WAIT_UNTIL_MS(cluster_leader(&cl) >= 0 && cluster_leader(&cl) != leader && term_of(cluster_leader(&cl)) > old_term, 15000));
    CHECK(WAIT_UNTIL_MS(atomic_load(&wr.acked_count) >= acked_before + 20, 20000));
    writer_stop(&wr);

    /* Restarted from its data dir with an empty machine, it replays and catches up. */
    re_node_free(cl.nodes[leader]);
    cl.nodes[leader] = NULL;
    write_set_clear(&sets[leader]);
    CHECK_EQ(cluster_start(&cl, leader), RE_OK);
    net_attach(leader, cl.nodes[leader]);
    writer_resume(&wr);
    CHECK(WAIT_UNTIL_MS(atomic_load(&wr.acked_count) >= acked_before + 30, 20000));
    writer_stop(&wr);

    CHECK(WAIT_UNTIL_MS(write_sets_agree(sets, N), 20000));
    for (int i = 0; i < N; i++) {
        CHECK_EQ(write_set_missing(&sets[i], wr.acked), 0);
        CHECK_EQ(sets[i].duplicates, 0);
        CHECK(counter_of(cl.nodes[i], "frames_sent") > 0);
        CHECK(counter_of(cl.nodes[i], "frames_received") > 0);
        CHECK_EQ(counter_of(cl.nodes[i], "spoofed_sender"), 0);
        CHECK_EQ(counter_of(cl.nodes[i], "malformed_frames"), 0);
    }
    pthread_mutex_lock(&net.lock);
    printf("network: %u frames sent, %u dropped, %u duplicated, %u delivered, %u to a stopped node\n", net.sent,
           net.dropped, net.duplicated, net.delivered, net.undeliverable);
    CHECK(net.dropped > 0 && net.duplicated > 0);
    pthread_mutex_unlock(&net.lock);
    printf("writes: %d attempted, %d acknowledged, %d applied on every node\n", atomic_load(&wr.next),
           atomic_load(&wr.acked_count), sets[0].count);
    close(hole);
}

/* Frames that do not decode, or that speak for another node than the one delivering them, are
 * counted and dropped; the node goes on. */
static void test_bad_frames_are_counted(void) {
    re_node *n1 = cl.nodes[0];
    uint64_t malformed = counter_of(n1, "malformed_frames"), spoofed = counter_of(n1, "spoofed_sender");
    uint64_t oversized = counter_of(n1, "oversized_frames");
    const uint8_t garbage[] = {1, 2, 3, 4, 5};
    CHECK_EQ(re_node_deliver(n1, "n2", garbage, sizeof garbage), RE_OK);
    CHECK_EQ(re_node_deliver(n1, "n2", NULL, 0), RE_OK);
    pthread_mutex_lock(&net.lock);
    CHECK(net.captured != NULL);
    /* n2's own frame, handed over as n3's. */
    if (net.captured) CHECK_EQ(re_node_deliver(n1, "n3", net.captured, net.captured_len), RE_OK);
    pthread_mutex_unlock(&net.lock);
    uint8_t *big = calloc(1, MAX_FRAME + 1);
    CHECK_EQ(re_node_deliver(n1, "n2", big, MAX_FRAME + 1), RE_ETOOBIG);
    free(big);
    CHECK(WAIT_UNTIL_MS(counter_of(n1, "malformed_frames") == malformed + 2, 5000));
    CHECK(WAIT_UNTIL_MS(counter_of(n1, "spoofed_sender") == spoofed + 1, 5000));
    CHECK_EQ(counter_of(n1, "oversized_frames"), oversized + 1);

    CHECK_EQ(re_node_deliver(NULL, "n2", garbage, 1), RE_EINVAL);
    CHECK_EQ(re_node_deliver(n1, NULL, garbage, 1), RE_EINVAL);
    CHECK_EQ(re_node_deliver(n1, "", garbage, 1), RE_EINVAL);
    CHECK_EQ(re_node_deliver(n1, "n2", NULL, 1), RE_EINVAL);
    CHECK(!node_stopped(n1));
    writer_resume(&wr);
    int acked = atomic_load(&wr.acked_count);
    CHECK(WAIT_UNTIL_MS(atomic_load(&wr.acked_count) >= acked + 3, 10000));
    writer_stop(&wr);
}

static void noop_send(void *user, const char *to_id, const uint8_t *frame, size_t len) {
    (void)user;
    (void)to_id;
    (void)frame;
    (void)len;
}

static re_config *lone_config(const char *dir, int transport) {
    re_config *c = NULL;
    re_config_new(&c);
    re_config_set_id(c, "solo");
    re_config_set_data_dir(c, dir);
    re_config_set_heartbeat_ms(c, 20);
    re_config_set_election_timeout_ms(c, 100, 150);
    re_config_set_state_machine(c, counter_apply, counter_snapshot, counter_restore, &cl.machines[0]);
    if (transport) CHECK_EQ(re_config_set_transport(c, noop_send, NULL), RE_OK);
    return c;
}

/* The listen address is optional with a host transport; what does not go with one is refused. */
static void test_config_rules(void) {
    char dir[300];
    snprintf(dir, sizeof dir, "%s/solo-tcp", cl.dir);
    re_config *c = lone_config(dir, 0);
    CHECK_EQ(re_config_set_transport(c, NULL, NULL), RE_EINVAL);
    CHECK(strstr(re_config_errmsg(c), "send callback") != NULL);
    CHECK_EQ(re_config_set_transport(NULL, noop_send, NULL), RE_EINVAL);

    /* A TCP node takes no frames from the host. */
    CHECK_EQ(re_config_set_listen_address(c, "127.0.0.1:0"), RE_OK);
    re_node *tcp = NULL;
    CHECK_EQ(re_node_start(cl.host, c, &tcp), RE_OK);
    uint8_t byte = 0;
    CHECK_EQ(re_node_deliver(tcp, "n2", &byte, 1), RE_ESTATE);
    re_node_free(tcp);
    re_config_free(c);

    /* No listen address: a lone member that advertises no address elects itself. */
    snprintf(dir, sizeof dir, "%s/solo", cl.dir);
    c = lone_config(dir, 1);
    re_node *solo = NULL;
    CHECK_EQ(re_node_start(cl.host, c, &solo), RE_OK);
    CHECK(WAIT_UNTIL_MS(({ node_info st; get_info(solo, &st) == RE_OK && st.role == RE_ROLE_LEADER; }), 5000));
    node_info st;
    CHECK_EQ(get_info(solo, &st), RE_OK);
    CHECK_STR(st.leader_id, "solo");
    CHECK_STR(st.leader_address, "");
    re_node_free(solo);

    const uint8_t secret[] = "sixteen bytes or more of secret";
    CHECK_EQ(re_config_set_cluster_secret(c, secret, sizeof secret - 1), RE_OK);
    CHECK_EQ(re_node_start(cl.host, c, &solo), RE_EINVAL);
    CHECK(strstr(re_config_errmsg(c), "cluster secret") != NULL);
    re_config_free(c);

    c = lone_config(dir, 1);
    CHECK_EQ(re_config_set_join(c, "127.0.0.1:7001"), RE_OK);
    CHECK_EQ(re_node_start(cl.host, c, &solo), RE_EINVAL);
    CHECK(strstr(re_config_errmsg(c), "re_node_join") != NULL);
    re_config_free(c);
}

int main(void) {
    const char *seed = getenv("TRANSPORT_SEED");
    net.rng = seed ? strtoull(seed, NULL, 10) : 20240613;
    if (net.rng == 0) net.rng = 1;
    printf("network seed %llu (TRANSPORT_SEED)\n", (unsigned long long)net.rng);
    pthread_mutex_init(&net.lock, NULL);
    pthread_cond_init(&net.wake, NULL);
    pthread_t delivery;
    pthread_create(&delivery, NULL, delivery_main, NULL);

    test_a_cluster_over_the_hosts_network();
    test_bad_frames_are_counted();
    test_config_rules();

    for (int i = 0; i < N; i++) net_attach(i, NULL);
    pthread_mutex_lock(&net.lock);
    net.stopping = 1;
    pthread_cond_signal(&net.wake);
    pthread_mutex_unlock(&net.lock);
    pthread_join(delivery, NULL);
    cluster_free(&cl);
    while (net.head) {
        queued_frame *q = net.head;
        net.head = q->next;
        free(q);
    }
    free(net.captured);
    return test_report();
}
