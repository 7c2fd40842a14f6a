/* The counter machine the simulator's C tests run (test_sim*.c): a command that is a decimal
 * number is added to the total, "=N" sets it (a register's write), anything else adds 0; the
 * result is the new total as text, but for "name", which answers "counter". Its snapshot is
 * the total. The factory keeps each node's current machine and counts what it made, destroyed
 * and restored, so tests see restarts and snapshot installs. Include after the CHECK macros. */
#ifndef SIM_COUNTER_H
#define SIM_COUNTER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftengine.h"

typedef struct machine {
    int node;
    long long total;
    unsigned applied;
    unsigned restores;
} machine;

#define MAX_NODES 16
typedef struct factory {
    machine *current[MAX_NODES];
    unsigned created[MAX_NODES];
    unsigned made, destroyed;
} factory;

static void *machine_create(void *f, int node) {
    factory *fa = f;
    machine *m = calloc(1, sizeof *m);
    m->node = node;
    if (node >= 0 && node < MAX_NODES) {
        fa->current[node] = m;
        fa->created[node]++;
    }
    fa->made++;
    return m;
}

static void machine_destroy(void *f, int node, void *user) {
    factory *fa = f;
    if (node >= 0 && node < MAX_NODES && fa->current[node] == user) fa->current[node] = NULL;
    fa->destroyed++;
    free(user);
}

static int machine_apply(void *user, uint64_t index, const uint8_t *cmd, size_t len, uint8_t **result, size_t *result_len) {
    machine *m = user;
    (void)index;
    char text[32] = {0};
    memcpy(text, cmd, len < sizeof text - 1 ? len : sizeof text - 1);
    if (text[0] == '=') m->total = strtoll(text + 1, NULL, 10);
    else m->total += strtoll(text, NULL, 10);
    m->applied++;
    char out[32];
    int n = strcmp(text, "name") == 0 ? snprintf(out, sizeof out, "counter") : snprintf(out, sizeof out, "%lld", m->total);
    *result = malloc((size_t)n);
    memcpy(*result, out, (size_t)n);
    *result_len = (size_t)n;
    return 0;
}

static int machine_snapshot(void *user, uint8_t **data, size_t *len) {
    machine *m = user;
    *data = malloc(sizeof m->total);
    memcpy(*data, &m->total, sizeof m->total);
    *len = sizeof m->total;
    return 0;
}

static int machine_restore(void *user, const uint8_t *data, size_t len) {
    machine *m = user;
    if (len != sizeof m->total) return -1;
    memcpy(&m->total, data, len);
    m->restores++;
    return 0;
}

static const re_sim_machine counter_table = {
    .apply = machine_apply, .snapshot = machine_snapshot, .restore = machine_restore,
    .create = machine_create, .destroy = machine_destroy,
};

/* Proposes `cmd` at `node`; its request id. */
static inline uint64_t propose(re_sim *sim, int node, const char *cmd) {
    uint64_t rid = 0;
    CHECK_EQ(re_sim_propose(sim, node, (const uint8_t *)cmd, strlen(cmd), &rid), RE_OK);
    return rid;
}

#endif
