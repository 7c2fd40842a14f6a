/* A full disk under one node of a C host's cluster: the node stops cleanly and says why
 * (RE_EVENT_ERROR, RE_EVENT_STOPPED "STORAGE_FAILURE", role stopped, submits RE_ESTOPPED), the
 * other two go on committing, nothing acknowledged is lost, and once space is freed the node
 * restarts on its data dir and catches up. Its data dir is a small tmpfs (root only; skipped
 * with the reason printed where mounting is not possible). Run under valgrind by `make test`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "test_support.h"

static uint64_t free_bytes(const char *path) {
    struct statvfs st;
    return statvfs(path, &st) == 0 ? (uint64_t)st.f_bavail * st.f_frsize : 0;
}

/* Fills the file system at `dir` with one file until `leave` bytes remain. */
static int fill_leaving(const char *dir, uint64_t leave, char *filler, size_t cap) {
    snprintf(filler, cap, "%s/filler", dir);
    int fd = open(filler, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) return -1;
    uint64_t avail = free_bytes(dir);
    int rc = avail > leave ? posix_fallocate(fd, 0, (off_t)(avail - leave)) : 0;
    close(fd);
    return rc;
}

/* Submits `count` commands of "1" at node `at` with all of them in flight; how many were
 * acknowledged (RE_OK). *sent counts the ones the node took (acknowledged or not: one in
 * flight when the node stopped may still have committed on the others). */
static int submit_ones(cluster *c, int at, int count, int64_t *taken) {
    static op_wait w[64];
    int sent = 0, ok = 0;
    if (count > 64) count = 64;
    for (int i = 0; i < count; i++) {
        memset(&w[i], 0, sizeof w[i]);
        if (re_node_submit(c->nodes[at], (const uint8_t *)"1", 1, on_op, &w[i]) != RE_OK) break;
        sent++;
    }
    *taken += sent;
    for (int i = 0; i < sent; i++)
        if (wait_op(&w[i], 10000) == RE_OK) ok++;
    return ok;
}

int main(void) {
    cluster c;
    CHECK_EQ(cluster_init(&c, 3, NULL), RE_OK);
    char n1dir[300];
    snprintf(n1dir, sizeof n1dir, "%s/n1", c.dir);
    CHECK_EQ(mkdir(n1dir, 0755), 0);
    if (geteuid() != 0 || mount("tmpfs", n1dir, "tmpfs", 0, "size=2m") != 0) {
        printf("skipped: cannot mount a small tmpfs (%s)\n", geteuid() != 0 ? "not root" : strerror(errno));
        cluster_free(&c);
        return test_report();
    }
    CHECK_EQ(cluster_start_all(&c), RE_OK);
    op_wait w;
    CHECK_EQ(cluster_submit(&c, "1", &w, 10000), RE_OK);
    int64_t acknowledged = 1, taken = 1;

    /* n1 leads (so the client writes go through the node whose disk fills), then its disk
     * fills up to the last 12 KiB. */
    if (cluster_leader(&c) != 0) {
        memset(&w, 0, sizeof w);
        CHECK_EQ(re_node_transfer_leadership(c.nodes[cluster_leader(&c)], "n1", on_op, &w), RE_OK);
        CHECK_EQ(wait_op(&w, 10000), RE_OK);
        CHECK(WAIT_UNTIL_MS(cluster_leader(&c) == 0, 5000));
    }
    char filler[340];
    CHECK_EQ(fill_leaving(n1dir, 12 << 10, filler, sizeof filler), 0);

    uint64_t end = now_ms() + 60000;
    while (!node_stopped(c.nodes[0]) && now_ms() < end) acknowledged += submit_ones(&c, 0, 64, &taken);
    CHECK(node_stopped(c.nodes[0]));

    /* It said why, once, in the words of the OS. */
    recorded_event ev[4];
    CHECK_EQ(events_of(&c.events[0], RE_EVENT_STOPPED, ev, 4), 1);
    CHECK_STR(ev[0].value, "STORAGE_FAILURE");
    CHECK(strstr(ev[0].detail, "No space left on device") != NULL);
    CHECK(events_of(&c.events[0], RE_EVENT_ERROR, ev, 4) >= 1);
    CHECK(strstr(ev[0].detail, "No space left on device") != NULL);
    node_info st;
    CHECK_EQ(get_info(c.nodes[0], &st), RE_OK);
    CHECK_EQ(st.role, RE_ROLE_STOPPED);
    /* The status says why, as the event did. */
    re_status_snapshot *snap = NULL;
    CHECK_EQ(re_node_get_status(c.nodes[0], &snap), RE_OK);
    CHECK_STR(re_status_stop_reason(snap), "STORAGE_FAILURE");
    CHECK(re_status_stop_detail(snap) && strstr(re_status_stop_detail(snap), "No space left on device"));
    re_status_free(snap);
    CHECK_EQ(re_node_get_status(c.nodes[1], &snap), RE_OK);
    CHECK(re_status_stop_reason(snap) == NULL && re_status_stop_detail(snap) == NULL);
    re_status_free(snap);
    memset(&w, 0, sizeof w);
    CHECK_EQ(re_node_submit(c.nodes[0], (const uint8_t *)"1", 1, on_op, &w), RE_ESTOPPED);

    /* The other two elect a leader among themselves and keep every acknowledged command. */
    CHECK_EQ(cluster_submit(&c, "1", &w, 15000), RE_OK);
    acknowledged++, taken++;
    /* The new leader's total: every acknowledged command, and none that was never taken. */
    int64_t total = counter_total(&c.machines[cluster_leader(&c) < 0 ? 1 : cluster_leader(&c)]);
    CHECK(total >= acknowledged && total <= taken);
    CHECK(cluster_wait_totals(&c, total, 10000, 0));
    printf("n1 stopped on a full disk: %lld commands acknowledged, %lld taken, %lld committed\n",
           (long long)acknowledged, (long long)taken, (long long)total);

    /* Space freed: n1 restarts on the same data dir (a fresh process's empty machine) and
     * catches up with everything. */
    CHECK_EQ(unlink(filler), 0);
    re_node_free(c.nodes[0]);
    c.nodes[0] = NULL;
    counter_free(&c.machines[0]);
    counter_init(&c.machines[0]);
    CHECK_EQ(cluster_start(&c, 0), RE_OK);
    CHECK_EQ(cluster_submit(&c, "1", &w, 15000), RE_OK);
    CHECK(cluster_wait_totals(&c, total + 1, 15000, -1));
    CHECK(!node_stopped(c.nodes[0]));

    for (int i = 0; i < c.n; i++) {
        re_node_free(c.nodes[i]);
        c.nodes[i] = NULL;
    }
    CHECK_EQ(umount2(n1dir, MNT_DETACH), 0);
    cluster_free(&c);
    return test_report();
}
