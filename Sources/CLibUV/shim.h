#ifndef RAFTENGINE_CLIBUV_SHIM_H
#define RAFTENGINE_CLIBUV_SHIM_H
#include <pthread.h>
#include <uv.h>

/* pthread_setname_np is a GNU extension that Swift's Glibc module does not show. Declared
 * here rather than through _GNU_SOURCE, which would make this module's view of the system
 * headers (fd_set, ...) differ from SwiftGlibc's. */
extern int pthread_setname_np(pthread_t thread, const char *name);

static inline int raftengine_name_this_thread(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
#endif
