#ifndef RAFTENGINE_CLIBUV_SHIM_H
#define RAFTENGINE_CLIBUV_SHIM_H
#include <uv.h>
#endif
