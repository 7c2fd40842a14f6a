/* A counter state machine shared by the C example and the C tests: each command is a signed
 * decimal number added to the total; the result is the new total as text. "fail:WHY" is a bad
 * command every replica refuses alike, with the message WHY. */
#ifndef COUNTER_H
#define COUNTER_H

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftengine.h"

typedef struct counter {
    pthread_mutex_t lock;  /* apply runs on the loop thread; tests read from the main thread */
    int64_t total;
    uint64_t applied;
    int fail;              /* when set, apply fails (to test apply errors) */
    unsigned failed;       /* applies that failed because of `fail` */
    unsigned restores;     /* snapshots restored into it */
    unsigned batches;      /* apply_batch calls, and the most commands one carried */
    size_t largest_batch;
    uint8_t *scratch;      /* apply_batch's results: lent to the library until the next call */
    size_t scratch_cap;
    pthread_cond_t released;
    uint64_t hold_from;    /* when non-zero, apply of this index or later waits for counter_release */
    int holding;           /* an apply is waiting at the hold */
} counter;

static inline void counter_init(counter *c) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->released, NULL);
}

/* Applies of `index` and later wait (on the node's loop thread) until counter_release. */
static inline void counter_hold(counter *c, uint64_t index) {
    pthread_mutex_lock(&c->lock);
    c->hold_from = index;
    pthread_mutex_unlock(&c->lock);
}

static inline void counter_release(counter *c) {
    pthread_mutex_lock(&c->lock);
    c->hold_from = 0;
    pthread_cond_broadcast(&c->released);
    pthread_mutex_unlock(&c->lock);
}

static inline int counter_holding(counter *c) {
    pthread_mutex_lock(&c->lock);
    int h = c->holding;
    pthread_mutex_unlock(&c->lock);
    return h;
}

static inline int64_t counter_total(counter *c) {
    pthread_mutex_lock(&c->lock);
    int64_t t = c->total;
    pthread_mutex_unlock(&c->lock);
    return t;
}

static inline int counter_apply(void *user, uint64_t index, const uint8_t *cmd, size_t len, uint8_t **result, size_t *result_len) {
    counter *c = user;
    char buf[32];
    if (len > 5 && memcmp(cmd, "fail:", 5) == 0) {
        /* The refusal's message goes back in the result buffer. */
        *result = malloc(len - 5);
        if (*result) {
            memcpy(*result, cmd + 5, len - 5);
            *result_len = len - 5;
        }
        return 1;
    }
    if (len == 0 || len >= sizeof buf) return 1;
    memcpy(buf, cmd, len);
    buf[len] = 0;
    pthread_mutex_lock(&c->lock);
    while (c->hold_from && index >= c->hold_from) {
        c->holding = 1;
        pthread_cond_wait(&c->released, &c->lock);
    }
    c->holding = 0;
    if (c->fail) {
        c->failed++;
        pthread_mutex_unlock(&c->lock);
        return 1;
    }
    c->total += strtoll(buf, NULL, 10);
    c->applied++;
    int n = snprintf(buf, sizeof buf, "%" PRId64, c->total);
    pthread_mutex_unlock(&c->lock);
    *result = malloc((size_t)n);
    if (!*result) return 1;
    memcpy(*result, buf, (size_t)n);
    *result_len = (size_t)n;
    return 0;
}

/* The batch form: the same commands, one call per run of them. */
/* The results are written into one scratch buffer the machine keeps and reuses: the library
 * only borrows them until the machine's next callback. */
static inline size_t counter_apply_batch(void *user, const re_command *commands, size_t count, int stop_at_failure,
                                  re_apply_result *results) {
    counter *c = user;
    pthread_mutex_lock(&c->lock);
    c->batches++;
    if (count > c->largest_batch) c->largest_batch = count;
    pthread_mutex_unlock(&c->lock);
    size_t need = 0;
    for (size_t i = 0; i < count; i++) need += commands[i].len > 24 ? commands[i].len : 24;
    if (need > c->scratch_cap) {
        free(c->scratch);
        c->scratch = malloc(need);
        c->scratch_cap = c->scratch ? need : 0;
        if (!c->scratch) return 0;
    }
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        uint8_t *r = NULL;
        size_t n = 0;
        results[i].status = counter_apply(user, commands[i].index, commands[i].data, commands[i].len, &r, &n);
        if (r && n) memcpy(c->scratch + used, r, n);
        free(r);
        results[i].result = n ? c->scratch + used : NULL;
        results[i].result_len = n;
        used += n;
        if (results[i].status != 0 && stop_at_failure) return i + 1;
    }
    return count;
}

static inline void counter_free(counter *c) {
    pthread_cond_destroy(&c->released);
    free(c->scratch);
    c->scratch = NULL;
    c->scratch_cap = 0;
}

static inline int counter_snapshot(void *user, uint8_t **data, size_t *len) {
    counter *c = user;
    *data = malloc(sizeof(int64_t));
    if (!*data) return 1;
    pthread_mutex_lock(&c->lock);
    memcpy(*data, &c->total, sizeof(int64_t));
    pthread_mutex_unlock(&c->lock);
    *len = sizeof(int64_t);
    return 0;
}

static inline int counter_restore(void *user, const uint8_t *data, size_t len) {
    counter *c = user;
    if (len != sizeof(int64_t)) return 1;
    pthread_mutex_lock(&c->lock);
    memcpy(&c->total, data, sizeof(int64_t));
    c->restores++;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

#endif
