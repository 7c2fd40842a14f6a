/* The disk's floor for a commit, as bench/canonical/run.py --disk-floor reports it: N threads
 * (one per node of a cluster on this one disk) each append 100-byte records to a file of their
 * own, all starting each round together (a barrier), and make them durable the two ways the
 * systems do — a buffered pwrite + fdatasync (RaftEngine's FileLog) and an O_DIRECT | O_DSYNC
 * write of the 512-byte-aligned tail (canonical/raft's uv backend) — in preallocated files.
 * Prints one line per mode: p50, p90, p99 in µs, as seen by one thread.
 * usage: disk_floor DIR THREADS ROUNDS */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int threads, rounds, direct;
static const char *dir;
static pthread_barrier_t barrier;
static double *samples;

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *writer(void *arg) {
    long k = (long)arg;
    char path[512];
    snprintf(path, sizeof path, "%s/disk-floor-%ld", dir, k);
    void *buf;
    if (posix_memalign(&buf, 4096, 8192) != 0) return NULL;
    memset(buf, 'x', 8192);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || posix_fallocate(fd, 0, 4 << 20) != 0 || fsync(fd) != 0) { perror(path); exit(1); }
    close(fd);
    fd = open(path, O_RDWR | (direct ? O_DIRECT | O_DSYNC : 0));
    if (fd < 0) { perror(path); exit(1); }
    long off = 0;
    for (int i = 0; i < rounds; i++) {
        pthread_barrier_wait(&barrier);
        double t0 = now_us();
        ssize_t rc;
        if (direct) {
            long start = off / 512 * 512, end = (off + 100 + 511) / 512 * 512;
            rc = pwrite(fd, buf, (size_t)(end - start), start);
        } else {
            rc = pwrite(fd, buf, 100, off);
            if (rc == 100 && fdatasync(fd) != 0) rc = -1;
        }
        if (rc < 0) { perror("write"); exit(1); }
        off += 100;
        if (k == 0) samples[i] = now_us() - t0;
    }
    close(fd);
    unlink(path);
    free(buf);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: disk_floor DIR THREADS ROUNDS\n"); return 2; }
    dir = argv[1];
    threads = atoi(argv[2]);
    rounds = atoi(argv[3]);
    if (threads < 1 || threads > 16 || rounds < 10) { fprintf(stderr, "1-16 threads, at least 10 rounds\n"); return 2; }
    samples = calloc((size_t)rounds, sizeof *samples);
    for (direct = 0; direct <= 1; direct++) {
        pthread_barrier_init(&barrier, NULL, (unsigned)threads);
        pthread_t t[16];
        for (long k = 0; k < threads; k++) pthread_create(&t[k], NULL, writer, (void *)k);
        for (int k = 0; k < threads; k++) pthread_join(t[k], NULL);
        pthread_barrier_destroy(&barrier);
        qsort(samples, (size_t)rounds, sizeof *samples, cmp);
        printf("DISKFLOOR mode=%s threads=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f\n", direct ? "direct-dsync" : "fdatasync",
               threads, samples[rounds / 2], samples[rounds * 9 / 10], samples[rounds * 99 / 100]);
    }
    free(samples);
    return 0;
}
