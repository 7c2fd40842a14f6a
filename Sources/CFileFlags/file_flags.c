#define _GNU_SOURCE
#include <fcntl.h>

#include "file_flags.h"

int raftengine_o_direct(void) { return O_DIRECT; }
