#ifndef RAFTENGINE_CLIBUV_SHIM_H
#define RAFTENGINE_CLIBUV_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <uv.h>

/* pthread_setname_np is a GNU extension Swift's Glibc module does not show. */
static inline int raftengine_name_this_thread(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
#endif
