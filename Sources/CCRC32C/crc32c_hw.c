#include "crc32c_hw.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)

int raftengine_crc32c_hw_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

/* The crc32 instruction takes three cycles but can start one per cycle, so one running CRC
 * uses a third of it. Long buffers go as three streams of STREAM bytes at once, joined with
 * the identity crc(s, A || B) = shift(crc(s, A)) ^ crc(0, B), where shift advances a register
 * over STREAM zero bytes (linear in the register, so four 256-entry tables apply it). */
#define STREAM 4096

static uint32_t shift_table[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2")))
static uint32_t over_zeros(uint32_t state, size_t count) {
    uint64_t crc = state;
    for (size_t i = 0; i < count; i += 8) crc = __builtin_ia32_crc32di(crc, 0);
    return (uint32_t)crc;
}

static void build_shift_table(void) {
    uint32_t bit[32];
    for (int i = 0; i < 32; i++) bit[i] = over_zeros(1u << i, STREAM);
    for (int k = 0; k < 4; k++) {
        for (int b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int j = 0; j < 8; j++) {
                if (b & (1 << j)) v ^= bit[8 * k + j];
            }
            shift_table[k][b] = v;
        }
    }
}

static inline uint32_t shift(uint32_t c) {
    return shift_table[0][c & 0xFF] ^ shift_table[1][(c >> 8) & 0xFF] ^ shift_table[2][(c >> 16) & 0xFF]
        ^ shift_table[3][c >> 24];
}

static inline uint64_t load64(const unsigned char *p) {
    uint64_t word;
    memcpy(&word, p, 8); /* unaligned-safe; compiles to one load */
    return word;
}

__attribute__((target("sse4.2")))
uint32_t raftengine_crc32c_hw(uint32_t state, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t crc = state;
    if (count >= 3 * STREAM) {
        pthread_once(&shift_once, build_shift_table);
        while (count >= 3 * STREAM) {
            uint64_t c0 = crc, c1 = 0, c2 = 0;
            for (size_t i = 0; i < STREAM; i += 8) {
                c0 = __builtin_ia32_crc32di(c0, load64(p + i));
                c1 = __builtin_ia32_crc32di(c1, load64(p + STREAM + i));
                c2 = __builtin_ia32_crc32di(c2, load64(p + 2 * STREAM + i));
            }
            crc = shift(shift((uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
            p += 3 * STREAM;
            count -= 3 * STREAM;
        }
    }
    while (count >= 8) {
        crc = __builtin_ia32_crc32di(crc, load64(p));
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
