/* A fault-injecting TCP proxy for the C tests (forward, reset mid-stream, blackhole), one
 * thread per proxy, plain sockets. Include after defining nothing; it brings now_ms() and
 * loopback(). */
#ifndef RAFTENGINE_TEST_PROXY_H
#define RAFTENGINE_TEST_PROXY_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef RESET_AFTER_MS
#define RESET_AFTER_MS 30      /* a proxied connection lives this long in reset mode */
#endif

static inline uint64_t proxy_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline struct sockaddr_in proxy_loopback(uint16_t port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* ---- A fault-injecting TCP proxy: one thread, plain blocking sockets ------------------ */

/* FORWARD: bytes flow both ways. RESET: every connection is aborted RESET_AFTER_MS after it
 * opens (or the mode was set). BLACKHOLE: connections are accepted and what arrives is read
 * and dropped, so the sender sees no error and the receiver nothing; connections that dropped
 * bytes are closed when the mode changes again (their stream lost data mid-frame). */
enum { PROXY_FORWARD, PROXY_RESET, PROXY_BLACKHOLE };
#define MAX_PAIRS 32

typedef struct proxy_pair {
    int client, upstream;
    uint64_t deadline;         /* reset mode ends the pair then (now_ms) */
    int dropped;               /* blackhole mode discarded bytes of this pair */
} proxy_pair;

typedef struct proxy {
    int listener, wake[2];
    uint16_t target;
    atomic_int mode, generation, stopping, resets;
    pthread_t thread;
    proxy_pair pairs[MAX_PAIRS];  /* proxy thread only */
    int npairs;
} proxy;

/* A FIN, then an RST (SO_LINGER {1, 0}): the RST finds the peer's socket in CLOSE_WAIT, so
 * the peer's very next write fails with EPIPE and raises SIGPIPE (after a bare RST the
 * first write gets ECONNRESET and only the second raises it). */
static inline void abort_socket(int fd) {
    shutdown(fd, SHUT_WR);
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

static inline int proxy_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = proxy_loopback(port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Moves what `from` has to `to` (drops it when `to` is -1). Writes block (the frames here are
 * small) and never raise SIGPIPE: the proxy must not die of the signal the library is being
 * tested against. Returns -1 when either side is gone. */
static inline int forward(int from, int to) {
    char buf[16384];
    ssize_t n = recv(from, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return -1;
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    if (to < 0) return 0;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        off += w;
    }
    return 0;
}

/* The mode now. A switch to reset starts every open pair's clock; any switch closes the
 * pairs that lost bytes in a blackhole. */
static inline int proxy_refresh(proxy *p, int *seen) {
    int mode = atomic_load(&p->mode);
    int gen = atomic_load(&p->generation);
    if (gen != *seen) {
        *seen = gen;
        int kept = 0;
        for (int i = 0; i < p->npairs; i++) {
            if (p->pairs[i].dropped && mode != PROXY_BLACKHOLE) {
                abort_socket(p->pairs[i].client);
                abort_socket(p->pairs[i].upstream);
                continue;
            }
            if (mode == PROXY_RESET) p->pairs[i].deadline = proxy_now_ms() + RESET_AFTER_MS;
            p->pairs[kept++] = p->pairs[i];
        }
        p->npairs = kept;
    }
    return mode;
}

static inline void *proxy_main(void *arg) {
    proxy *p = arg;
    int seen = -1;
    while (!atomic_load(&p->stopping)) {
        int mode = proxy_refresh(p, &seen);
        struct pollfd fds[2 + 2 * MAX_PAIRS];
        fds[0] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        fds[1] = (struct pollfd){.fd = p->npairs < MAX_PAIRS ? p->listener : -1, .events = POLLIN};
        int timeout = -1;
        uint64_t now = proxy_now_ms();
        for (int i = 0; i < p->npairs; i++) {
            fds[2 + 2 * i] = (struct pollfd){.fd = p->pairs[i].client, .events = POLLIN};
            fds[3 + 2 * i] = (struct pollfd){.fd = p->pairs[i].upstream, .events = POLLIN};
            if (mode == PROXY_RESET) {
                int left = p->pairs[i].deadline > now ? (int)(p->pairs[i].deadline - now) : 0;
                if (timeout < 0 || left < timeout) timeout = left;
            }
        }
        int npolled = p->npairs;
        if (poll(fds, (nfds_t)(2 + 2 * npolled), timeout) < 0 && errno != EINTR) break;
        if (fds[0].revents) {
            char b[64];
            while (read(p->wake[0], b, sizeof b) > 0) {}
        }
        mode = proxy_refresh(p, &seen);
        now = proxy_now_ms();
        int kept = 0;
        for (int i = 0; i < npolled; i++) {
            proxy_pair *q = &p->pairs[i];
            int hole = mode == PROXY_BLACKHOLE;
            if (hole && (fds[2 + 2 * i].revents || fds[3 + 2 * i].revents)) q->dropped = 1;
            int gone = (fds[2 + 2 * i].revents && forward(q->client, hole ? -1 : q->upstream) < 0) ||
                       (fds[3 + 2 * i].revents && forward(q->upstream, hole ? -1 : q->client) < 0);
            if (gone) {
                close(q->client);
                close(q->upstream);
            } else if (mode == PROXY_RESET && q->deadline <= now) {
                abort_socket(q->client);
                abort_socket(q->upstream);
                atomic_fetch_add(&p->resets, 1);
            } else {
                p->pairs[kept++] = *q;
            }
        }
        p->npairs = kept;
        if (fds[1].revents & POLLIN) {
            int c = accept(p->listener, NULL, NULL);
            if (c >= 0) {
                int u = proxy_connect(p->target);
                if (u < 0) {
                    abort_socket(c);
                } else {
                    int one = 1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    p->pairs[p->npairs++] = (proxy_pair){c, u, proxy_now_ms() + RESET_AFTER_MS, 0};
                }
            }
        }
    }
    for (int i = 0; i < p->npairs; i++) {
        close(p->pairs[i].client);
        close(p->pairs[i].upstream);
    }
    p->npairs = 0;
    return NULL;
}

static inline int proxy_start(proxy *p, uint16_t port, uint16_t target) {
    memset(p, 0, sizeof *p);
    p->target = target;
    p->listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(p->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = proxy_loopback(port);
    if (bind(p->listener, (struct sockaddr *)&a, sizeof a) != 0 || listen(p->listener, 64) != 0 || pipe(p->wake) != 0) {
        perror("proxy");
        close(p->listener);
        return -1;
    }
    fcntl(p->wake[0], F_SETFL, O_NONBLOCK);
    fcntl(p->wake[1], F_SETFL, O_NONBLOCK);
    return pthread_create(&p->thread, NULL, proxy_main, p);
}

static inline void proxy_set_mode(proxy *p, int mode) {
    atomic_store(&p->mode, mode);
    atomic_fetch_add(&p->generation, 1);
    (void)!write(p->wake[1], "w", 1);
}

static inline void proxy_stop(proxy *p) {
    atomic_store(&p->stopping, 1);
    (void)!write(p->wake[1], "s", 1);
    pthread_join(p->thread, NULL);
    close(p->listener);
    close(p->wake[0]);
    close(p->wake[1]);
}

#endif
