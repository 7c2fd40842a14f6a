/* The C ABI's types come from include/raftengine.h (linked into this target's include/), so
 * the Swift implementation and the published header cannot drift apart. The few functions
 * written in C are those whose truth is the header itself (the version macros) or that need
 * C's thread-local storage. */
#include <stdio.h>
#include <string.h>

#include "raftengine.h"
#include "abi_internal.h"

const char *re_version(void) { return RAFTENGINE_VERSION_STRING; }

/* The last failing call's message, one per thread, as errno is. */
static _Thread_local char last_error[512];

void raftengine_internal_set_errmsg(const char *message) {
    snprintf(last_error, sizeof last_error, "%s", message ? message : "");
}

const char *re_errmsg(void) { return last_error; }
