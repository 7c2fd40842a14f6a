#ifndef RAFTENGINE_ABI_INTERNAL_H
#define RAFTENGINE_ABI_INTERNAL_H
/* Not part of the published header, not exported from libraftengine.so: the Swift side's
 * access to the C helpers of abi.c. */
void raftengine_internal_set_errmsg(const char *message);
#endif
