#ifndef RAFTENGINE_CRC32C_HW_H
#define RAFTENGINE_CRC32C_HW_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C with the CPU's own instruction (x86-64 SSE4.2), for RaftStorage's checksums.
 * raftengine_crc32c_hw_available() is 1 when this CPU has it; only then may raftengine_crc32c_hw be called.
 * `state` is the running, non-inverted register (start with 0xFFFFFFFF, invert at the end),
 * so the result equals the portable table-driven code's. */
int raftengine_crc32c_hw_available(void);
uint32_t raftengine_crc32c_hw(uint32_t state, const void *bytes, size_t count);

#endif
