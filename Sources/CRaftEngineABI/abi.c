/* The C ABI's types come from include/raftengine.h (linked into this target's include/), so
 * the Swift implementation and the published header cannot drift apart. This file only gives
 * the target something to compile. */
#include "raftengine.h"
