#ifndef RAFTENGINE_FILE_FLAGS_H
#define RAFTENGINE_FILE_FLAGS_H

/* open(2) flags that Swift's Glibc module does not import (they need _GNU_SOURCE), for
 * RaftStorage. Their values differ between architectures, so they come from the C headers. */
int raftengine_o_direct(void);

#endif
