#include "crc32c_hw.h"

#include <string.h>

#if defined(__x86_64__)

int raftengine_crc32c_hw_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

__attribute__((target("sse4.2")))
uint32_t raftengine_crc32c_hw(uint32_t state, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t crc = state;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8); /* unaligned-safe; compiles to one load */
        crc = __builtin_ia32_crc32di(crc, word);
        p += 8;
        count -= 8;
    }
    uint32_t c = (uint32_t)crc;
    while (count > 0) {
        c = __builtin_ia32_crc32qi(c, *p++);
        count--;
    }
    return c;
}

#else

int raftengine_crc32c_hw_available(void) { return 0; }

uint32_t raftengine_crc32c_hw(uint32_t state, const void *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return state; /* never called: raftengine_crc32c_hw_available() is 0 */
}

#endif
