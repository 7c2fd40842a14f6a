#ifndef RAFTENGINE_CLIBCRYPTO_SHIM_H
#define RAFTENGINE_CLIBCRYPTO_SHIM_H
/* OpenSSL's libcrypto (Debian libssl-dev) for peer authentication: HMAC-SHA256, a CSPRNG for
 * nonces and a constant-time comparison. Nothing here is hand-written crypto. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#endif
