/* An in-memory log behind re_log_vtable, written from include/raftengine.h alone, as a host
 * bringing its own storage would: the C tests' stand-in for a database or a replicated disk.
 *
 * It keeps two states: `live`, which every call reads and writes, and `synced`, what a crash
 * leaves. sync() makes live the synced state; a simulated crash throws live away and goes back
 * to synced, exactly what the header allows a crash to lose. Entry data is shared between the
 * two by reference counts, so a sync copies no payload. */
#ifndef RAFTENGINE_MEM_LOG_H
#define RAFTENGINE_MEM_LOG_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "raftengine.h"

/* Immutable bytes shared by the states. */
typedef struct blob {
    size_t refs;
    size_t len;
    uint8_t bytes[];
} blob;

static inline blob *blob_new(const void *p, size_t n, int nul) {
    blob *b = malloc(sizeof *b + n + (nul ? 1 : 0));
    if (!b) return NULL;
    b->refs = 1;
    b->len = n;
    if (n) memcpy(b->bytes, p, n);
    if (nul) b->bytes[n] = 0;
    return b;
}

static inline blob *blob_ref(blob *b) {
    if (b) b->refs++;
    return b;
}

static inline void blob_unref(blob *b) {
    if (b && --b->refs == 0) free(b);
}

typedef struct mem_entry {
    uint64_t index, term;
    int kind;
    blob *data; /* NULL when empty */
} mem_entry;

typedef struct mem_state {
    uint64_t term;
    blob *voted_for; /* NUL-terminated; NULL for none */
    uint64_t commit;
    blob *bootstrap;
    uint64_t prefix_index, prefix_term;
    mem_entry *entries; /* entries[i] has index prefix_index + 1 + i */
    size_t count, cap;
    blob *snap_meta, *snap_data;
    int broken;
} mem_state;

typedef struct mem_log {
    pthread_mutex_t lock; /* the loop thread calls in; the test thread inspects and crashes */
    mem_state live, synced;
    unsigned unsynced;    /* writes since the last sync */
    int crash_at_sync;    /* armed by a test: the next sync with unsynced writes crashes */
    int crashed;          /* after a crash every call fails, until mem_log_revive */
    int fail_loads;       /* every load fails (a start that cannot read its storage) */
    int fail_appends;     /* every append fails (a disk that fills up) */
    unsigned discarded;   /* writes crashes threw away */
    unsigned appends, syncs, snapshots_saved, snapshots_installed, snapshot_loads, closes;
} mem_log;

static inline void state_clear(mem_state *s) {
    blob_unref(s->voted_for);
    blob_unref(s->bootstrap);
    blob_unref(s->snap_meta);
    blob_unref(s->snap_data);
    for (size_t i = 0; i < s->count; i++) blob_unref(s->entries[i].data);
    free(s->entries);
    memset(s, 0, sizeof *s);
}

/* dst becomes a copy of src (shared blobs). Returns 0, or -1 out of memory. */
static inline int state_copy(mem_state *dst, const mem_state *src) {
    mem_entry *entries = NULL;
    if (src->count) {
        entries = malloc(sizeof *entries * src->count);
        if (!entries) return -1;
        memcpy(entries, src->entries, sizeof *entries * src->count);
        for (size_t i = 0; i < src->count; i++) blob_ref(entries[i].data);
    }
    state_clear(dst);
    *dst = *src;
    dst->entries = entries;
    dst->cap = src->count;
    blob_ref(dst->voted_for);
    blob_ref(dst->bootstrap);
    blob_ref(dst->snap_meta);
    blob_ref(dst->snap_data);
    return 0;
}

static inline uint64_t state_last(const mem_state *s) { return s->prefix_index + s->count; }

/* Drops the entries at or below `index` (all of them when it is at or past the last). */
static inline void state_drop_through(mem_state *s, uint64_t index) {
    if (index <= s->prefix_index) return;
    size_t n = index - s->prefix_index < s->count ? (size_t)(index - s->prefix_index) : s->count;
    for (size_t i = 0; i < n; i++) blob_unref(s->entries[i].data);
    memmove(s->entries, s->entries + n, sizeof *s->entries * (s->count - n));
    s->count -= n;
}

static inline void mem_log_init(mem_log *l) {
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
}

static inline void mem_log_destroy(mem_log *l) {
    state_clear(&l->live);
    state_clear(&l->synced);
    pthread_mutex_destroy(&l->lock);
}

/* A crash's end: calls succeed again, on the synced state. */
static inline void mem_log_revive(mem_log *l) {
    pthread_mutex_lock(&l->lock);
    l->crashed = 0;
    pthread_mutex_unlock(&l->lock);
}

/* ---- The table's functions. Each takes the lock; a write on a crashed log fails. ---- */

#define ML_BEGIN(write) \
    mem_log *l = user; \
    pthread_mutex_lock(&l->lock); \
    if (l->crashed || (!(write) && l->fail_loads)) { pthread_mutex_unlock(&l->lock); return -5; } \
    if (write) l->unsynced++;
#define ML_END(rc) do { pthread_mutex_unlock(&l->lock); return (rc); } while (0)

static int ml_load_hard_state(void *user, uint64_t *term, const char **voted_for) {
    ML_BEGIN(0)
    *term = l->live.term;
    *voted_for = l->live.voted_for ? (const char *)l->live.voted_for->bytes : NULL;
    ML_END(0);
}

static int ml_save_hard_state(void *user, uint64_t term, const char *voted_for) {
    ML_BEGIN(1)
    blob *v = voted_for ? blob_new(voted_for, strlen(voted_for), 1) : NULL;
    if (voted_for && !v) ML_END(-12);
    blob_unref(l->live.voted_for);
    l->live.voted_for = v;
    l->live.term = term;
    ML_END(0);
}

static int ml_load_commit_index(void *user, uint64_t *index) {
    ML_BEGIN(0)
    *index = l->live.commit;
    ML_END(0);
}

static int ml_save_commit_index(void *user, uint64_t index) {
    ML_BEGIN(1)
    l->live.commit = index;
    ML_END(0);
}

static int ml_load_bootstrap_config(void *user, const uint8_t **config, size_t *len) {
    ML_BEGIN(0)
    *config = l->live.bootstrap ? l->live.bootstrap->bytes : NULL;
    *len = l->live.bootstrap ? l->live.bootstrap->len : 0;
    ML_END(0);
}

static int ml_save_bootstrap_config(void *user, const uint8_t *config, size_t len) {
    ML_BEGIN(1)
    blob *b = blob_new(config, len, 0);
    if (!b) ML_END(-12);
    blob_unref(l->live.bootstrap);
    l->live.bootstrap = b;
    ML_END(0);
}

static int ml_load_bounds(void *user, uint64_t *prefix_index, uint64_t *prefix_term, uint64_t *last_index) {
    ML_BEGIN(0)
    *prefix_index = l->live.prefix_index;
    *prefix_term = l->live.prefix_term;
    *last_index = state_last(&l->live);
    ML_END(0);
}

static int ml_read_entries(void *user, uint64_t from, uint64_t through, re_log_put_fn put, void *ctx) {
    ML_BEGIN(0)
    if (from <= l->live.prefix_index || through > state_last(&l->live)) ML_END(-22);
    for (uint64_t i = from; i <= through; i++) {
        const mem_entry *e = &l->live.entries[i - l->live.prefix_index - 1];
        re_log_entry r = {.index = e->index, .term = e->term, .kind = e->kind,
                          .data = e->data ? e->data->bytes : NULL, .data_len = e->data ? e->data->len : 0};
        if (put(ctx, &r) != 0) break;
    }
    ML_END(0);
}

static int ml_append(void *user, const re_log_entry *entries, size_t count) {
    ML_BEGIN(1)
    if (l->fail_appends) ML_END(-28);
    mem_state *s = &l->live;
    if (count == 0 || entries[0].index != state_last(s) + 1) ML_END(-22);
    if (s->count + count > s->cap) {
        size_t cap = (s->count + count) * 2;
        mem_entry *grown = realloc(s->entries, sizeof *grown * cap);
        if (!grown) ML_END(-12);
        s->entries = grown;
        s->cap = cap;
    }
    for (size_t i = 0; i < count; i++) {
        blob *d = entries[i].data_len ? blob_new(entries[i].data, entries[i].data_len, 0) : NULL;
        if (entries[i].data_len && !d) ML_END(-12);
        s->entries[s->count++] = (mem_entry){entries[i].index, entries[i].term, entries[i].kind, d};
    }
    l->appends++;
    ML_END(0);
}

static int ml_truncate(void *user, uint64_t from) {
    ML_BEGIN(1)
    mem_state *s = &l->live;
    if (from <= s->prefix_index) ML_END(-22);
    while (state_last(s) >= from) blob_unref(s->entries[--s->count].data);
    ML_END(0);
}

static int ml_store_snapshot(mem_log *l, const uint8_t *meta, size_t meta_len, const uint8_t *data, size_t data_len) {
    blob *m = blob_new(meta, meta_len, 0), *d = blob_new(data, data_len, 0);
    if (!m || !d) {
        blob_unref(m);
        blob_unref(d);
        return -12;
    }
    blob_unref(l->live.snap_meta);
    blob_unref(l->live.snap_data);
    l->live.snap_meta = m;
    l->live.snap_data = d;
    return 0;
}

static int ml_save_snapshot(void *user, const uint8_t *meta, size_t meta_len, const uint8_t *data, size_t data_len,
                            uint64_t compact_through, uint64_t compact_term) {
    ML_BEGIN(1)
    if (ml_store_snapshot(l, meta, meta_len, data, data_len) != 0) ML_END(-12);
    if (compact_through > l->live.prefix_index) {
        state_drop_through(&l->live, compact_through);
        l->live.prefix_index = compact_through;
        l->live.prefix_term = compact_term;
    }
    l->snapshots_saved++;
    ML_END(0);
}

static int ml_install_snapshot(void *user, const uint8_t *meta, size_t meta_len, const uint8_t *data, size_t data_len,
                               uint64_t index, uint64_t term, int keep_entries) {
    ML_BEGIN(1)
    if (ml_store_snapshot(l, meta, meta_len, data, data_len) != 0) ML_END(-12);
    state_drop_through(&l->live, keep_entries ? index : UINT64_MAX);
    l->live.prefix_index = index;
    l->live.prefix_term = term;
    l->snapshots_installed++;
    ML_END(0);
}

static int ml_load_snapshot(void *user, const uint8_t **meta, size_t *meta_len, const uint8_t **data, size_t *data_len) {
    ML_BEGIN(0)
    *meta = l->live.snap_meta ? l->live.snap_meta->bytes : NULL;
    *meta_len = l->live.snap_meta ? l->live.snap_meta->len : 0;
    *data = l->live.snap_data ? l->live.snap_data->bytes : NULL;
    *data_len = l->live.snap_data ? l->live.snap_data->len : 0;
    l->snapshot_loads++;
    ML_END(0);
}

static int ml_load_broken(void *user, int *broken) {
    ML_BEGIN(0)
    *broken = l->live.broken;
    ML_END(0);
}

static int ml_save_broken(void *user, int broken) {
    ML_BEGIN(1)
    l->live.broken = broken;
    ML_END(0);
}

static int ml_sync(void *user) {
    ML_BEGIN(0)
    if (l->crash_at_sync && l->unsynced > 0) {
        /* The crash: what was written since the last sync is gone, and so is the node. */
        state_copy(&l->live, &l->synced);
        l->discarded += l->unsynced;
        l->unsynced = 0;
        l->crash_at_sync = 0;
        l->crashed = 1;
        ML_END(-5);
    }
    if (state_copy(&l->synced, &l->live) != 0) ML_END(-12);
    l->unsynced = 0;
    l->syncs++;
    ML_END(0);
}

static void ml_close(void *user) {
    mem_log *l = user;
    pthread_mutex_lock(&l->lock);
    l->closes++;
    pthread_mutex_unlock(&l->lock);
}

static const re_log_vtable mem_log_vtable = {
    .size = sizeof(re_log_vtable),
    .load_hard_state = ml_load_hard_state,
    .save_hard_state = ml_save_hard_state,
    .load_commit_index = ml_load_commit_index,
    .save_commit_index = ml_save_commit_index,
    .load_bootstrap_config = ml_load_bootstrap_config,
    .save_bootstrap_config = ml_save_bootstrap_config,
    .load_bounds = ml_load_bounds,
    .read_entries = ml_read_entries,
    .append = ml_append,
    .truncate = ml_truncate,
    .save_snapshot = ml_save_snapshot,
    .install_snapshot = ml_install_snapshot,
    .load_snapshot = ml_load_snapshot,
    .load_broken = ml_load_broken,
    .save_broken = ml_save_broken,
    .sync = ml_sync,
    .close = ml_close,
};

#endif
