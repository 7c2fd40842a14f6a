/* A client thread for the C tests: writes w0, w1, ... (each k submitted once, never retried,
 * so a write applied twice is the engine's doing) to whichever node of a cluster leads, and
 * remembers which writes were acknowledged. Pair it with write_set.h's state machine. */
#ifndef RAFTENGINE_TEST_WRITER_H
#define RAFTENGINE_TEST_WRITER_H

#include "test_support.h"
#include "write_set.h"

typedef struct writer {
    cluster *cl;
    pthread_t thread;
    atomic_int stop;
    atomic_int next;        /* the next k to write */
    atomic_int acked_count;
    int pace_us;            /* a pause after each acknowledged write (0: none), set before start */
    /* acked[k]: the write was acknowledged (RE_OK). Written by the thread; read it once the
     * thread is stopped (or count on acked_count while it runs). */
    unsigned char acked[MAX_WRITES];
} writer;

static void *writer_main(void *arg) {
    writer *w = arg;
    while (!atomic_load(&w->stop) && atomic_load(&w->next) < MAX_WRITES) {
        int l = cluster_leader(w->cl);
        if (l < 0) { usleep(10000); continue; }
        int k = atomic_fetch_add(&w->next, 1);
        char cmd[16];
        snprintf(cmd, sizeof cmd, "w%d", k);
        int rc = re_node_submit_sync(w->cl->nodes[l], (const uint8_t *)cmd, strlen(cmd), 2000, NULL, NULL, NULL, NULL, 0);
        if (rc == RE_OK) {
            w->acked[k] = 1;
            atomic_fetch_add(&w->acked_count, 1);
            if (w->pace_us) usleep((useconds_t)w->pace_us);
        } else {
            usleep(10000);
        }
    }
    return NULL;
}

/* Starts writing, pausing pace_us after each acknowledged write. The cluster's node pointers
 * must not change until writer_stop. */
static inline void writer_start(writer *w, cluster *cl, int pace_us) {
    memset(w, 0, sizeof *w);
    w->cl = cl;
    w->pace_us = pace_us;
    pthread_create(&w->thread, NULL, writer_main, w);
}

static inline void writer_stop(writer *w) {
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
}

/* Resumes a stopped writer where it left off (acknowledgements kept). */
static inline void writer_resume(writer *w) {
    atomic_store(&w->stop, 0);
    pthread_create(&w->thread, NULL, writer_main, w);
}

#endif
