/* A state machine for the C tests that remembers which writes ("w<k>", each k submitted once)
 * it applied and in which order, so a test can check that every acknowledged write was applied
 * exactly once on every node and that all nodes agree. Applying a k twice (a duplicated frame
 * appended twice, say) fails that command and is counted. */
#ifndef RAFTENGINE_WRITE_SET_H
#define RAFTENGINE_WRITE_SET_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "raftengine.h"

#define MAX_WRITES 4096

typedef struct write_set {
    pthread_mutex_t lock;
    int count;
    int duplicates;
    int order[MAX_WRITES];
    unsigned char seen[MAX_WRITES];
} write_set;

static inline void write_set_init(write_set *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
}

static inline int ws_apply(void *user, uint64_t index, const uint8_t *cmd, size_t len, uint8_t **result, size_t *result_len) {
    write_set *s = user;
    (void)index;
    char buf[16];
    if (len < 2 || len >= sizeof buf || cmd[0] != 'w') return 1;
    memcpy(buf, cmd + 1, len - 1);
    buf[len - 1] = 0;
    int k = atoi(buf);
    if (k < 0 || k >= MAX_WRITES) return 1;
    pthread_mutex_lock(&s->lock);
    if (s->seen[k]) {
        s->duplicates++;
        pthread_mutex_unlock(&s->lock);
        *result = malloc(9);
        if (*result) { memcpy(*result, "duplicate", 9); *result_len = 9; }
        return 1;
    }
    s->seen[k] = 1;
    if (s->count < MAX_WRITES) s->order[s->count++] = k;
    pthread_mutex_unlock(&s->lock);
    *result = NULL;
    *result_len = 0;
    return 0;
}

static inline int ws_snapshot(void *user, uint8_t **data, size_t *len) {
    write_set *s = user;
    pthread_mutex_lock(&s->lock);
    *len = sizeof(int) * (size_t)(s->count + 1);
    *data = malloc(*len);
    if (*data) {
        memcpy(*data, &s->count, sizeof(int));
        memcpy(*data + sizeof(int), s->order, sizeof(int) * (size_t)s->count);
    }
    pthread_mutex_unlock(&s->lock);
    return *data ? 0 : 1;
}

static inline int ws_restore(void *user, const uint8_t *data, size_t len) {
    write_set *s = user;
    int n;
    if (len < sizeof n) return 1;
    memcpy(&n, data, sizeof n);
    if (n < 0 || n > MAX_WRITES || len != sizeof(int) * (size_t)(n + 1)) return 1;
    pthread_mutex_lock(&s->lock);
    memset(s->seen, 0, sizeof s->seen);
    s->count = n;
    memcpy(s->order, data + sizeof(int), sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) s->seen[s->order[i]] = 1;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* Forgets everything (a node restarted with an empty machine replays its log into it). */
static inline void write_set_clear(write_set *s) {
    pthread_mutex_lock(&s->lock);
    s->count = 0;
    s->duplicates = 0;
    memset(s->seen, 0, sizeof s->seen);
    pthread_mutex_unlock(&s->lock);
}

/* Every set has applied the same writes in the same order. */
static inline int write_sets_agree(write_set *sets, int n) {
    int ok = 1;
    pthread_mutex_lock(&sets[0].lock);
    for (int i = 1; i < n && ok; i++) {
        pthread_mutex_lock(&sets[i].lock);
        ok = sets[i].count == sets[0].count &&
             memcmp(sets[i].order, sets[0].order, sizeof(int) * (size_t)sets[0].count) == 0;
        pthread_mutex_unlock(&sets[i].lock);
    }
    pthread_mutex_unlock(&sets[0].lock);
    return ok;
}

/* How many writes marked in `acked` (MAX_WRITES flags) the set has not applied. */
static inline int write_set_missing(write_set *s, const unsigned char *acked) {
    int missing = 0;
    pthread_mutex_lock(&s->lock);
    for (int k = 0; k < MAX_WRITES; k++)
        if (acked[k] && !s->seen[k]) missing++;
    pthread_mutex_unlock(&s->lock);
    return missing;
}

#endif
