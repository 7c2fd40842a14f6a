/* The batch path from C: many commands in one call with outcomes delivered in batches, and a
 * state machine that applies runs of commands in one call — with every command's own outcome
 * and the apply policies kept. Run under valgrind by `make test`. */
#define _GNU_SOURCE
#include "test_support.h"

#define COMMANDS 600

typedef struct batch_wait {
    pthread_mutex_t lock;
    int calls;
    int got;
    int status[COMMANDS];
    char result[COMMANDS][24];
    char message[COMMANDS][64];
    unsigned char seen[COMMANDS];
    int duplicates;
    int unpacked;  /* calls whose non-empty results were not one packed run */
} batch_wait;

static void on_batch(void *user, const re_batch_result *results, size_t count) {
    batch_wait *w = user;
    pthread_mutex_lock(&w->lock);
    w->calls++;
    const uint8_t *next = NULL;
    for (size_t i = 0; i < count; i++) {
        if (results[i].result_len) {
            if (next && results[i].result != next) w->unpacked++;
            next = results[i].result + results[i].result_len;
        }
    }
    for (size_t i = 0; i < count; i++) {
        uint64_t k = results[i].tag - 1000;
        if (k >= COMMANDS) continue;
        if (w->seen[k]) w->duplicates++;
        w->seen[k] = 1;
        w->got++;
        w->status[k] = results[i].status;
        size_t n = results[i].result_len < 23 ? results[i].result_len : 23;
        if (results[i].result && n) memcpy(w->result[k], results[i].result, n);
        w->result[k][n] = 0;
        snprintf(w->message[k], sizeof w->message[k], "%s", results[i].message ? results[i].message : "");
    }
    pthread_mutex_unlock(&w->lock);
}

static int got(batch_wait *w) {
    pthread_mutex_lock(&w->lock);
    int g = w->got;
    pthread_mutex_unlock(&w->lock);
    return g;
}

/* Every apply_batch call saw its commands packed one after another. */
static int commands_unpacked;
static size_t checked_apply_batch(void *user, const re_command *commands, size_t count, int stop_at_failure,
                                  re_apply_result *results) {
    for (size_t i = 1; i < count; i++)
        if (commands[i].data != commands[i - 1].data + commands[i - 1].len) __atomic_add_fetch(&commands_unpacked, 1, __ATOMIC_RELAXED);
    return counter_apply_batch(user, commands, count, stop_at_failure, results);
}

/* re_host_run: fn runs on the loop thread (the thread apply callbacks come from). */
static pthread_t loop_thread;
static void note_thread(void *user) {
    *(int *)user += 1;
    loop_thread = pthread_self();
}

static void batch_machine(re_config *c, int i) {
    (void)i;
    CHECK_EQ(re_config_set_apply_batch(c, checked_apply_batch), RE_OK);
}

int main(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, batch_machine), RE_OK);
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w1;
    CHECK_EQ(cluster_submit(&c, "1", &w1, 10000), RE_OK);
    int l = cluster_leader(&c);
    CHECK(l >= 0);
    if (l < 0) return test_report();

    /* 600 commands in one call: "1" each, every 100th a bad one. */
    static uint8_t data[COMMANDS * 16];
    static size_t lens[COMMANDS];
    size_t off = 0;
    int bad = 0;
    for (int k = 0; k < COMMANDS; k++) {
        const char *cmd = k % 100 == 50 ? "fail:bad one" : "1";
        if (k % 100 == 50) bad++;
        lens[k] = strlen(cmd);
        memcpy(data + off, cmd, lens[k]);
        off += lens[k];
    }
    static batch_wait w;
    pthread_mutex_init(&w.lock, NULL);
    CHECK_EQ(re_node_submit_batch(c.nodes[l], data, lens, COMMANDS, 1000, on_batch, &w), RE_OK);
    uint64_t end = now_ms() + 20000;
    while (got(&w) < COMMANDS && now_ms() < end) usleep(5000);
    CHECK_EQ(got(&w), COMMANDS);
    CHECK_EQ(w.duplicates, 0);
    CHECK_EQ(w.unpacked, 0);
    CHECK(w.calls < COMMANDS / 4); /* delivered in batches, not one call per command */
    int ok = 0, failed = 0;
    for (int k = 0; k < COMMANDS; k++) {
        if (w.status[k] == RE_OK) ok++;
        if (w.status[k] == RE_EAPPLY) {
            failed++;
            CHECK_STR(w.message[k], "bad one");
        }
    }
    CHECK_EQ(ok, COMMANDS - bad);
    CHECK_EQ(failed, bad);
    /* The results count in log order: the last good command saw the whole total. */
    CHECK_STR(w.result[COMMANDS - 1], "595");
    CHECK(cluster_wait_totals(&c, 1 + COMMANDS - bad, 10000, -1));
    for (int i = 0; i < 3; i++) {
        CHECK(c.machines[i].batches > 0);
        CHECK(c.machines[i].largest_batch > 1);
    }
    printf("batch: %d outcomes in %d callbacks; largest apply batch on the leader %zu\n", got(&w), w.calls,
           c.machines[l].largest_batch);

    /* Refusals: nothing is submitted. */
    size_t big = 2 << 20;
    CHECK_EQ(re_node_submit_batch(c.nodes[l], data, &big, 1, 0, on_batch, &w), RE_ETOOBIG);
    CHECK_EQ(re_node_submit_batch(c.nodes[l], data, lens, 0, 0, on_batch, &w), RE_EINVAL);
    CHECK_EQ(re_node_submit_batch(c.nodes[l], data, NULL, 1, 0, on_batch, &w), RE_EINVAL);
    /* A follower answers every command of the batch with the leader's name. */
    static batch_wait wf;
    pthread_mutex_init(&wf.lock, NULL);
    int f = (l + 1) % 3;
    CHECK_EQ(re_node_submit_batch(c.nodes[f], data, lens, 3, 1000, on_batch, &wf), RE_OK);
    end = now_ms() + 5000;
    while (got(&wf) < 3 && now_ms() < end) usleep(5000);
    CHECK_EQ(got(&wf), 3);
    CHECK_EQ(wf.status[0], RE_ENOTLEADER);
    CHECK_EQ(__atomic_load_n(&commands_unpacked, __ATOMIC_RELAXED), 0);

    int ran = 0;
    CHECK_EQ(re_host_run(c.host, note_thread, &ran), RE_OK);
    CHECK_EQ(ran, 1);
    CHECK(!pthread_equal(loop_thread, pthread_self()));
    CHECK_EQ(re_host_run(c.host, NULL, NULL), RE_EINVAL);
    cluster_free(&c);
    return test_report();
}
