/* Network partitions under a C host: a 3-node cluster whose every link (one per direction)
 * goes through a proxy. The leader is cut off (both ways, then one way only); writes go on
 * at the majority, and after the heal every node holds every acknowledged write and the
 * same history. Run under valgrind by `make test`. */
#define _GNU_SOURCE
#include "test_support.h"
#include "test_proxy.h"
#include "write_set.h"

#define N 3

static write_set sets[N];
static proxy links[N][N];           /* links[i][j]: node i's connection to node j */
static uint16_t link_ports[N][N];

/* Every node reaches every other through that link's proxy, with the write-set machine. */
static uint16_t via_proxy(int from, int to) { return link_ports[from][to]; }

static void write_set_machine(re_config *c, int i) {
    CHECK_EQ(re_config_set_state_machine(c, ws_apply, ws_snapshot, ws_restore, &sets[i]), RE_OK);
}

/* ---- A client writing w0, w1, ... to whoever leads, remembering what was acknowledged ---- */

static cluster cl;
static atomic_int writer_stop, next_write;
static unsigned char acked[MAX_WRITES];
static atomic_int acked_count;
static _Atomic uint64_t last_ack_ms, longest_gap_ms;

static void *writer_main(void *arg) {
    (void)arg;
    atomic_store(&last_ack_ms, now_ms());
    while (!atomic_load(&writer_stop) && atomic_load(&next_write) < MAX_WRITES) {
        int l = cluster_leader(&cl);
        if (l < 0) { usleep(10000); continue; }
        int k = atomic_fetch_add(&next_write, 1);
        char cmd[16];
        snprintf(cmd, sizeof cmd, "w%d", k);
        int rc = re_node_submit_sync(cl.nodes[l], (const uint8_t *)cmd, strlen(cmd), 1000, NULL, NULL, NULL, NULL, 0);
        if (rc == RE_OK) {
            acked[k] = 1;
            atomic_fetch_add(&acked_count, 1);
            uint64_t now = now_ms(), last = atomic_exchange(&last_ack_ms, now);
            if (now - last > atomic_load(&longest_gap_ms)) atomic_store(&longest_gap_ms, now - last);
        } else {
            usleep(10000);
        }
    }
    return NULL;
}

static void set_links(int node, int outgoing, int incoming, int mode) {
    for (int j = 0; j < N; j++) {
        if (j == node) continue;
        if (outgoing) proxy_set_mode(&links[node][j], mode);
        if (incoming) proxy_set_mode(&links[j][node], mode);
    }
}

static int converged(void) { return write_sets_agree(sets, N); }

static int acknowledged_missing(int node) { return write_set_missing(&sets[node], acked); }

static int term_of(int i) {
    node_info st;
    return get_info(cl.nodes[i], &st) == RE_OK ? (int)st.term : -1;
}

/* Cuts the leader off (both ways, or only its outgoing links), checks that the majority
 * elects a new leader and keeps committing, then heals and checks convergence. */
static void partition_case(const char *name, int both_ways) {
    int old = cluster_wait_leader(&cl, 10000);
    CHECK(old >= 0);
    if (old < 0) return;
    int old_term = term_of(old);
    int acked_before = atomic_load(&acked_count);
    set_links(old, 1, both_ways, PROXY_BLACKHOLE);
    uint64_t cut_at = now_ms();
    /* A read asked of the deposed leader never completes OK: it cannot confirm leadership. */
    op_wait stale_read = {0};
    CHECK_EQ(re_node_read(cl.nodes[old], on_op, &stale_read), RE_OK);
    atomic_store(&longest_gap_ms, 0);
    /* The other two elect a leader of a newer term and commit. */
    int fresh = -1;
    uint64_t end = now_ms() + 15000;
    while (now_ms() < end) {
        for (int i = 0; i < N; i++) {
            node_info st;
            if (i != old && get_info(cl.nodes[i], &st) == RE_OK && st.role == RE_ROLE_LEADER && (int)st.term > old_term) fresh = i;
        }
        if (fresh >= 0 && atomic_load(&acked_count) > acked_before + 10) break;
        usleep(10000);
    }
    CHECK(fresh >= 0);
    CHECK(atomic_load(&acked_count) > acked_before + 10);
    /* The cut-off node never leads a newer term: it cannot reach a majority. */
    CHECK(!(cluster_leader(&cl) == old && term_of(old) > old_term));
    int read_status = wait_op(&stale_read, 10000);
    CHECK(atomic_load(&stale_read.done));
    CHECK(read_status != RE_OK);
    /* At the new leader a read completes and sees every write acknowledged so far. */
    int acked_now = atomic_load(&acked_count);
    op_wait fresh_read = {0};
    CHECK_EQ(re_node_read(cl.nodes[fresh], on_op, &fresh_read), RE_OK);
    int fresh_status = wait_op(&fresh_read, 10000);
    if (fresh_status == RE_OK) {
        pthread_mutex_lock(&sets[fresh].lock);
        int applied = sets[fresh].count;
        pthread_mutex_unlock(&sets[fresh].lock);
        CHECK(applied >= acked_now);
    } else {
        CHECK(fresh_status == RE_ENOTLEADER || fresh_status == RE_ERETRY); /* it lost leadership meanwhile */
    }
    printf("  read on the deposed leader: %s\n", re_strerror(read_status));
    uint64_t heal_at = now_ms();
    set_links(old, 1, both_ways, PROXY_FORWARD);
    /* The healed node catches up; everything acknowledged is everywhere. */
    int acked_at_heal = atomic_load(&acked_count);
    CHECK(WAIT_UNTIL_MS(atomic_load(&acked_count) > acked_at_heal + 5, 20000));
    uint64_t caught = 0;
    end = now_ms() + 20000;
    while (now_ms() < end) {
        if (acknowledged_missing(old) == 0 && acknowledged_missing((old + 1) % N) == 0) {
            caught = now_ms();
            break;
        }
        usleep(10000);
    }
    CHECK(caught != 0);
    printf("partition %s: new leader n%d, cut %.2f s, longest write gap %.2f s, healed node holds every acknowledged "
           "write %.2f s after heal\n", name, fresh + 1, (double)(heal_at - cut_at) / 1000,
           (double)atomic_load(&longest_gap_ms) / 1000, caught ? (double)(caught - heal_at) / 1000 : -1.0);
    for (int i = 0; i < N; i++) CHECK(!node_stopped(cl.nodes[i]));
}

int main(void) {
    CHECK_EQ(cluster_init(&cl, N, write_set_machine), RE_OK);
    cl.route = via_proxy;
    for (int i = 0; i < N; i++) {
        write_set_init(&sets[i]);
        for (int j = 0; j < N; j++) {
            if (i == j) continue;
            link_ports[i][j] = free_port();
            CHECK_EQ(proxy_start(&links[i][j], link_ports[i][j], cl.ports[j]), 0);
        }
    }
    CHECK_EQ(cluster_start_all(&cl), RE_OK);
    CHECK(cluster_wait_leader(&cl, 10000) >= 0);
    pthread_t writer;
    pthread_create(&writer, NULL, writer_main, NULL);
    CHECK(WAIT_UNTIL_MS(atomic_load(&acked_count) >= 10, 10000));

    partition_case("leader isolated", 1);
    partition_case("leader's outgoing links cut (one way)", 0);

    atomic_store(&writer_stop, 1);
    pthread_join(writer, NULL);
    CHECK(WAIT_UNTIL_MS(converged(), 20000));
    for (int i = 0; i < N; i++) CHECK_EQ(acknowledged_missing(i), 0);
    printf("writes: %d attempted, %d acknowledged, %d applied on every node\n", atomic_load(&next_write),
           atomic_load(&acked_count), sets[0].count);
    CHECK(sets[0].count >= atomic_load(&acked_count));

    for (int i = 0; i < N; i++) {
        re_node_free(cl.nodes[i]);
        cl.nodes[i] = NULL;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (i != j) proxy_stop(&links[i][j]);
    cluster_free(&cl);
    return test_report();
}
