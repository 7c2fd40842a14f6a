/*
 * raftengine.h — C interface of RaftEngine, a Raft consensus engine.
 *
 * Link with -lraftengine (pkg-config: raftengine). The library runs each host's nodes on
 * one libuv loop thread of its own; this header states, next to every function, who owns
 * each pointer and from which threads the function may be called.
 *
 * Conventions
 *   - Every function that can fail returns an int status: RE_OK (0) or a negative RE_E*
 *     code; re_strerror() names it.
 *   - Strings passed in are NUL-terminated UTF-8 and are copied before the call returns:
 *     the caller keeps ownership and may free them at once.
 *   - Byte buffers passed in (commands, snapshot data) are copied before the call returns.
 *   - Pointers passed to callbacks are valid only for the duration of the callback; copy
 *     what you need to keep.
 *   - Callbacks (state machine, events, completions) run on the host's loop thread, one at
 *     a time. They must not block for long and must not call re_host_free() or
 *     re_node_free() on their own host/node; every other function may be called from them.
 *   - Functions marked "any thread" are thread-safe: they queue work for the loop thread.
 */
#ifndef RAFTENGINE_H
#define RAFTENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 0.x: the ABI may still change between minor versions (the SONAME stays libraftengine.so.0);
 * docs/decisions.md lists the changes. */
#define RAFTENGINE_VERSION_MAJOR 0
#define RAFTENGINE_VERSION_MINOR 3
#define RAFTENGINE_VERSION_PATCH 0
#define RAFTENGINE_VERSION_STRING "0.3.0"

/* ---- Status codes ------------------------------------------------------------------ */

/*
 * The one table of status codes. Each comment reads "BindingName: meaning"; the library's
 * re_strerror() texts and the Python exception classes (bindings/python/raftengine/_status.py)
 * are generated from these lines by scripts/gen_status.py, and `make test` checks that the
 * generated files are current.
 */
enum re_status {
    RE_OK = 0,              /* Ok: success */
    RE_EINVAL = -1,         /* InvalidArgument: an argument is NULL, empty or out of range */
    RE_ENOMEM = -2,         /* OutOfMemory: out of memory */
    RE_EADDR = -3,          /* AddressError: an address cannot be parsed or bound */
    RE_EDUPLICATE = -4,     /* DuplicateId: an id is given twice (a peer with the node's own id, or a repeated peer) */
    RE_ELOCKED = -5,        /* DataDirLocked: the data directory is held by another process or node */
    RE_EIO = -6,            /* StorageError: the data directory cannot be created, written or read */
    RE_ECORRUPT = -7,       /* CorruptLog: stored data is corrupt (not a torn tail, which is repaired) */
    RE_EBROKEN = -8,        /* LogBroken: the log was marked broken by a failed apply under RE_APPLY_HALT */
    RE_ETOOBIG = -9,        /* CommandTooLarge: a command is larger than the configured maximum */
    RE_ESTOPPED = -10,      /* NodeStopped: the node or host is stopped */
    RE_ENOTLEADER = -11,    /* NotLeader: this node is not the leader; see the leader id and address */
    RE_ERETRY = -12,        /* RetryLater: no leader can take it now (election, transfer): retry later */
    RE_ETIMEOUT = -13,      /* CommandTimeout: not done in time; a command may still commit later */
    RE_EAPPLY = -14,        /* ApplyError: the state machine refused the command (the message says why) */
    RE_EBUSY = -15,         /* ChangeInProgress: a cluster change or leadership transfer is already in progress */
    RE_ENOTFOUND = -16,     /* UnknownNode: unknown node id (or counter name) */
    RE_ESTATE = -17,        /* WrongState: wrong state for this call (a config missing a field, a wait on the loop thread) */
    RE_EREJECTED = -18,     /* Rejected: the cluster refused the request (the message says why) */
    RE_EEXIST = -19,        /* AlreadyMember: the node is already a member (or already a voter) */
    RE_EINDETERMINATE = -20 /* OutcomeUnknown: the leader stepped down before the change committed; it may still commit */
};

/* Name of a status code, e.g. "RE_ENOTLEADER: not the leader". Static storage; never NULL. */
const char *re_strerror(int status);

/*
 * Why the last call that failed on this thread failed: one sentence naming the argument,
 * setting, path, errno or node ("peer n1 has this node's own id", "heartbeat_ms 4294967295
 * is above the maximum of 60000"). Any thread: each thread has its own, as errno. Calls that
 * succeed leave it as it was. Valid until this thread's next failing call; never NULL ("" if
 * nothing failed yet). Outcomes that arrive in a completion carry their own `message`.
 */
const char *re_errmsg(void);

/* The library's version, "MAJOR.MINOR.PATCH". Static storage. */
const char *re_version(void);

/* ---- Opaque handles ---------------------------------------------------------------- */

typedef struct re_config re_config;  /* settings for one node, before it starts */
typedef struct re_host re_host;      /* one libuv loop thread carrying nodes */
typedef struct re_node re_node;      /* a running node */

/* ---- Callbacks ----------------------------------------------------------------------- */

/*
 * Applies a committed command (loop thread, in log order, once per command per node).
 * Return 0 and set *result / *result_len to a buffer allocated with malloc() (the library
 * frees it; NULL/0 for an empty result). Return non-zero when the command cannot be applied;
 * *result / *result_len may then hold a malloc()ed UTF-8 message saying why (the library
 * frees it). The cluster's apply policy decides what the failure means (see
 * re_config_set_apply_policy). `command` is valid only during the call.
 */
typedef int (*re_apply_fn)(void *user, uint64_t index, const uint8_t *command, size_t command_len,
                           uint8_t **result, size_t *result_len);

/*
 * Optional, for hosts where each call costs (interpreters): applies a run of committed
 * commands in one call. The commands' bytes are valid only during the call and lie packed one
 * after another, in order, in one buffer (commands[i + 1].data == commands[i].data +
 * commands[i].len), so a host may copy them all at once. For each command it processes, in
 * order, the host fills results[i]: status 0 and its result (or NULL/0), or non-zero and
 * optionally a UTF-8 message saying why. Result buffers are the host's and only borrowed: they
 * must stay valid until the host's next callback for this node (the library copies them as
 * soon as apply_batch returns), so a host may reuse one buffer for every call. It returns how
 * many it processed: all of them when stop_at_failure is 0 (the reject policy), otherwise it
 * must stop after the first failure (retry and halt: nothing after a failed command may apply
 * first). Returning fewer means the rest were not applied; they are offered again. Loop
 * thread, in log order, as re_apply_fn.
 */
typedef struct re_command {
    uint64_t index;
    const uint8_t *data;
    size_t len;
} re_command;

typedef struct re_apply_result {
    int status;
    const uint8_t *result;
    size_t result_len;
} re_apply_result;

typedef size_t (*re_apply_batch_fn)(void *user, const re_command *commands, size_t count, int stop_at_failure,
                                    re_apply_result *results);

/* Serializes the whole state machine into a malloc()ed buffer (the library frees it).
 * Return 0 on success. */
typedef int (*re_snapshot_fn)(void *user, uint8_t **data, size_t *data_len);

/* Replaces the whole state machine with a snapshot's bytes (valid during the call).
 * Return 0 on success. */
typedef int (*re_restore_fn)(void *user, const uint8_t *data, size_t data_len);

/* Events. Each carries its kind; `value` is a name for logs, `number` the value to branch on. */
enum re_event_kind {
    RE_EVENT_ROLE = 1,             /* number: the new role (enum re_role); value: "FOLLOWER", "CANDIDATE", "LEADER" */
    RE_EVENT_TERM = 2,             /* number: the new term */
    RE_EVENT_LEADER = 3,           /* value: the leader's id, or NULL when unknown */
    RE_EVENT_ELECTION = 4,         /* value: the step, e.g. "START_PRE_ELECTION", "WON", "LEADER_LOST" */
    RE_EVENT_RESYNC = 5,           /* value: the step; node: the follower */
    RE_EVENT_MEMBERSHIP_DONE = 6,  /* number: enum re_membership_op; value: "ADD", "REMOVE", "PROMOTE"; node: the member */
    RE_EVENT_MEMBERSHIP_ABORTED = 7, /* the same, plus detail: the reason */
    RE_EVENT_SETTINGS = 8,         /* new cluster settings committed and in force */
    RE_EVENT_SNAPSHOT = 9,         /* number: the snapshot's index; value: "TAKEN" or "INSTALLED" */
    RE_EVENT_STOPPED = 10,         /* the node stopped itself; value: "REMOVED", "APPLY_HALTED" or
                                      "STORAGE_FAILURE"; detail: why */
    RE_EVENT_ERROR = 11,           /* detail: what failed */
    RE_EVENT_APPLY_FAILED = 12     /* number: the entry's index; value: the policy ("reject", "retry",
                                      "halt"); detail: the state machine's message */
};

enum re_membership_op { RE_MEMBERSHIP_ADD = 1, RE_MEMBERSHIP_REMOVE = 2, RE_MEMBERSHIP_PROMOTE = 3 };

typedef struct re_event {
    int kind;              /* enum re_event_kind */
    const char *value;     /* may be NULL */
    const char *node;      /* may be NULL */
    const char *detail;    /* may be NULL */
    uint64_t number;
} re_event;

/* Observes node events (loop thread). `event` and its strings are valid during the call. */
typedef void (*re_event_fn)(void *user, const re_event *event);

/*
 * How a command or a cluster operation ended (loop thread). status is RE_OK (result holds
 * the state machine's result for commands), RE_ENOTLEADER (leader_id / leader_address name
 * the leader, either may be NULL), RE_ERETRY, RE_ETIMEOUT, RE_EAPPLY / RE_EREJECTED (message
 * says why), RE_ETOOBIG or RE_ESTOPPED. All pointers are valid during the call only.
 */
typedef struct re_result {
    int status;
    const uint8_t *result;
    size_t result_len;
    const char *leader_id;
    const char *leader_address;
    const char *message;
} re_result;

typedef void (*re_done_fn)(void *user, const re_result *result);

/* ---- Configuration (any thread, but one config must not be used by two threads at once) */

/* Creates an empty config; *out receives it; free it with re_config_free(). */
int re_config_new(re_config **out);
/* Frees a config (NULL is ignored). A started node keeps its own copy. */
void re_config_free(re_config *config);

/*
 * Why the last call on `config` failed: a setter, or re_node_start() with this config. One
 * sentence naming the setting, id, address, path or errno, e.g. "peer n1 has this node's own
 * id". Empty ("") after a call that succeeded. The string belongs to the config and is valid
 * until the next call on it or re_config_free(); same thread rule as the config. NULL config:
 * a static message.
 */
const char *re_config_errmsg(const re_config *config);

int re_config_set_id(re_config *config, const char *id);                 /* required, non-empty */
int re_config_set_data_dir(re_config *config, const char *path);         /* required (but see re_config_set_storage); created if missing */
/* Required (optional with re_config_set_transport, see there), "HOST:PORT" with HOST an IPv4
 * literal, [IPv6] or localhost; port 0 picks a free port (see re_node_listen_port). RE_EADDR when
 * it cannot be parsed or the port is not 0-65535. */
int re_config_set_listen_address(re_config *config, const char *host_port);
/*
 * Adds another member of the initial cluster (used only when the data dir is new). Refused:
 * the node's own id or a peer given twice (RE_EDUPLICATE), an address that cannot be parsed
 * or a port outside 1-65535 (RE_EADDR), a config with join addresses (RE_EINVAL).
 */
int re_config_add_peer(re_config *config, const char *id, const char *host_port);
/*
 * Makes this a node that joins a running cluster instead of starting one: `host_ports` lists
 * raft addresses of members, comma-separated ("10.0.0.1:7001,10.0.0.2:7001"). The node never
 * bootstraps: it starts with no configuration, never campaigns and applies only what the
 * leader sends, and after re_node_start it asks each address in turn (backoff 100 ms doubling
 * to 2 s) to add it as a voter until its addition commits (RE_EVENT_MEMBERSHIP_DONE "ADD" with
 * its own id). A data dir that already holds its membership is not joined again. Refused
 * together with peers (RE_EINVAL) and for a bad address (RE_EADDR).
 */
int re_config_set_join(re_config *config, const char *host_ports);
/* Default "raftengine". Frames from nodes of another cluster id are dropped and counted. */
int re_config_set_cluster_id(re_config *config, const char *cluster_id);
/*
 * Peer authentication (off by default). With a secret, every connection between nodes starts
 * with a mutual challenge-response: each side sends a fresh random nonce and proves it knows
 * the secret with HMAC-SHA256 over both nonces, the cluster id and both node ids. The secret
 * never crosses the wire; the stream after the handshake is NOT encrypted (docs/security.md).
 * A peer that fails is disconnected and counted ("auth_failed", re_node_counter), never fatal;
 * after the handshake a frame naming another sender closes the connection ("spoofed_sender").
 * Every member needs the secret; a node without one is refused by secured nodes and refuses
 * them. `secret` (copied) must have 16 to 4096 bytes (RE_EINVAL otherwise).
 */
int re_config_set_cluster_secret(re_config *config, const uint8_t *secret, size_t len);
/*
 * One more secret this node accepts from peers (it still proves with the cluster secret): for
 * rotating a secret without stopping the cluster. Restart the nodes one at a time with the
 * old secret set and the new one accepted, then one at a time with the new one set and the
 * old one accepted, then (optionally) without the old one.
 */
int re_config_accept_cluster_secret(re_config *config, const uint8_t *secret, size_t len);
/* Cluster settings (they travel in the log; a new cluster takes those of the node that
 * bootstraps it, a joining node those of the cluster). RE_EINVAL outside the ranges given. */
/* Default 10 ms; 1 to 60000, and below the election timeout minimum (checked at start). */
int re_config_set_heartbeat_ms(re_config *config, uint32_t ms);
/* Default 150-300 ms; 1 <= min_ms <= max_ms <= 600000. */
int re_config_set_election_timeout_ms(re_config *config, uint32_t min_ms, uint32_t max_ms);
/* Default on: a candidate first asks whether it could win (no disruptive term bumps). */
int re_config_set_pre_vote(re_config *config, int enabled);
/* Default on: a leader that hears from no majority for an election timeout steps down. */
int re_config_set_check_quorum(re_config *config, int enabled);
/*
 * What a failed apply means; a cluster setting (in the log, the same on every member).
 *   RE_APPLY_REJECT (default): the failure is the command's result. The proposer's completion
 *     gets RE_EAPPLY with the apply callback's message; every replica reports
 *     RE_EVENT_APPLY_FAILED and goes on. For deterministic state machines, which refuse a bad
 *     command on every replica alike.
 *   RE_APPLY_RETRY: the entry is applied again later (backoff from 10 ms doubling to 1 s) and
 *     nothing after it applies first; each failure is an RE_EVENT_APPLY_FAILED. For
 *     idempotent machines whose failures are transient. The proposer waits for success or
 *     its command timeout.
 *   RE_APPLY_HALT: the log is marked broken and the node stops (RE_EVENT_STOPPED); it will
 *     not start again (RE_EBROKEN) until the host repairs it. For machines whose failures
 *     mean local corruption.
 * Returns RE_EINVAL for any other value.
 */
enum re_apply_policy { RE_APPLY_REJECT = 0, RE_APPLY_RETRY = 1, RE_APPLY_HALT = 2 };
int re_config_set_apply_policy(re_config *config, int policy);
/* Default 20; 1 to 100000 entries per append message. */
int re_config_set_max_entries_per_message(re_config *config, uint32_t count);
/* Flow control toward each follower: at most this many append messages unacknowledged
 * (default 64; 1 to 100000) and at most this many bytes of entries in them (default 32 MiB;
 * 1 byte to 2^40; a soft cap: one larger append still goes out alone). Since 0.3.0. */
int re_config_set_max_inflight(re_config *config, uint32_t messages);
int re_config_set_max_inflight_bytes(re_config *config, uint64_t bytes);
/* Node options (not replicated). */
/* Default 1 MiB; 1 byte to 64 MiB. A larger command is refused with RE_ETOOBIG. */
int re_config_set_max_command_size(re_config *config, size_t bytes);
/* Default 16 MiB; 4096 bytes to 1 GiB: the largest frame accepted from a peer. */
int re_config_set_max_frame_size(re_config *config, size_t bytes);
/* Default 5000 ms; 1 to 3600000: how long a command may wait for its outcome. */
int re_config_set_command_timeout_ms(re_config *config, uint32_t ms);
/* Default 0: automatic snapshot after this many applied entries (0 = only on request);
 * at most 2^40. */
int re_config_set_snapshot_threshold(re_config *config, uint64_t entries);
/* Default 1000: entries a snapshot keeps before its index, so a follower slightly behind gets
 * entries instead of the whole snapshot (the leader also keeps what its slowest follower
 * lacks, up to one threshold more); at most 2^40. */
int re_config_set_snapshot_trailing(re_config *config, uint64_t entries);
/* Registers the state machine; `user` is passed back unchanged and must outlive the node. */
int re_config_set_state_machine(re_config *config, re_apply_fn apply, re_snapshot_fn snapshot,
                                re_restore_fn restore, void *user);
/* Also applies through `apply_batch` (optional; `apply` stays required, for hosts that mix
 * both); it gets the state machine's `user`. */
int re_config_set_apply_batch(re_config *config, re_apply_batch_fn apply_batch);
/* Registers an event observer (optional); `user` must outlive the node. */
int re_config_set_event_callback(re_config *config, re_event_fn callback, void *user);

/* ---- Hosts --------------------------------------------------------------------------- */

/* Starts a host: a libuv loop on a new thread. Free it with re_host_free(). Any thread. */
int re_host_new(re_host **out);
/* Stops every node of the host, closes every handle, joins the loop thread and frees the
 * host. Not from a callback of this host. NULL is ignored. */
void re_host_free(re_host *host);
/* Runs fn(user) on the host's loop thread and waits for it to return (at once when called
 * from that thread): for setting up what the host's callbacks need on their thread (an
 * interpreter's thread state, thread-local storage). RE_EINVAL for NULLs, RE_ESTOPPED once the
 * host is being freed. Any thread. */
int re_host_run(re_host *host, void (*fn)(void *user), void *user);

/* ---- Nodes --------------------------------------------------------------------------- */

/*
 * Starts a node on `host` from `config` (copied). Opens or creates its data directory,
 * binds its listen address and joins its loop. *out receives the node, which stays valid
 * until re_node_free() (also after it stopped). Any thread except the host's callbacks.
 * Errors: RE_EINVAL, RE_EADDR, RE_EDUPLICATE, RE_ELOCKED, RE_EIO, RE_ECORRUPT, RE_EBROKEN,
 * RE_ESTATE (id, data dir, listen address or state machine missing); re_config_errmsg(config)
 * then says why (the path and errno, the setting, the address).
 */
int re_node_start(re_host *host, const re_config *config, re_node **out);

/* Stops the node (pending commands end with RE_ESTOPPED) and waits until its handles are
 * closed and its log is synced and closed; the data dir can be reopened at once. Any thread
 * except the host's callbacks. Idempotent. */
int re_node_stop(re_node *node);

/* Stops the node if needed and frees it. NULL is ignored. Not from the host's callbacks. */
void re_node_free(re_node *node);

/* The port the node listens on (useful with port 0). Any thread. */
int re_node_listen_port(const re_node *node, uint16_t *port);

/* Submits a command (copied). `done` runs once on the loop thread with the outcome.
 * Any thread. Called from a completion or event callback it goes to the core at once (a
 * closed-loop client resubmitting from `done` costs no extra wake-up); called from inside
 * a state machine callback it is queued until that callback returns. `done` never runs
 * before re_node_submit returns. Returns RE_EINVAL, RE_ETOOBIG or RE_ESTOPPED without
 * calling `done`. */
int re_node_submit(re_node *node, const uint8_t *command, size_t len, re_done_fn done, void *user);

/*
 * Submits `count` commands in one call (copied): command i is lens[i] bytes, packed one
 * after another in `data`. Each is proposed as re_node_submit would, and gets its own
 * outcome, but outcomes are delivered in batches: `done` runs on the loop thread with an
 * array of results (each naming its command by tag: first_tag + i), as many as are ready
 * at once; every command's outcome arrives exactly once. The array and its pointers are
 * valid during the call only; the non-empty results of one call lie packed one after another,
 * in array order, in one buffer (so a host may copy them all at once). Any thread. RE_EINVAL,
 * RE_ETOOBIG (one command too large: none is submitted) or RE_ESTOPPED without calling `done`.
 */
typedef struct re_batch_result {
    uint64_t tag;
    int status;                  /* as re_result's */
    const uint8_t *result;
    size_t result_len;
    const char *leader_id;       /* RE_ENOTLEADER: the leader, when known */
    const char *leader_address;
    const char *message;
} re_batch_result;

typedef void (*re_batch_done_fn)(void *user, const re_batch_result *results, size_t count);

int re_node_submit_batch(re_node *node, const uint8_t *data, const size_t *lens, size_t count, uint64_t first_tag,
                         re_batch_done_fn done, void *user);

/*
 * Submits a command and waits up to timeout_ms for the outcome. On RE_OK, *result receives
 * a malloc()ed copy of the state machine's result (free() it; NULL when empty). On
 * RE_ENOTLEADER, leader_id / leader_address (if non-NULL, capacity `leader_cap` bytes each)
 * receive the leader, NUL-terminated and truncated to fit. Never call from the host's own
 * loop thread (it would wait on itself: returns RE_ESTATE).
 */
int re_node_submit_sync(re_node *node, const uint8_t *command, size_t len, uint32_t timeout_ms,
                        uint8_t **result, size_t *result_len,
                        char *leader_id, char *leader_address, size_t leader_cap);

/*
 * Status: a consistent snapshot of the node, read through getters (so no struct layout is
 * ever frozen). re_node_get_status (any thread; from other threads than the loop's it waits a
 * moment for the loop) gives *out a snapshot to free with re_status_free(). Getters take a
 * snapshot and never fail; strings belong to the snapshot and stay valid until it is freed.
 */
typedef struct re_status_snapshot re_status_snapshot;

enum re_role {
    RE_ROLE_FOLLOWER = 0,
    RE_ROLE_CANDIDATE = 1,
    RE_ROLE_LEADER = 2,
    RE_ROLE_STOPPED = 3    /* the node stopped (itself, or through re_node_stop) */
};

int re_node_get_status(const re_node *node, re_status_snapshot **out);
void re_status_free(re_status_snapshot *status);                 /* NULL is ignored */
int re_status_role(const re_status_snapshot *status);            /* enum re_role */
uint64_t re_status_term(const re_status_snapshot *status);
uint64_t re_status_commit_index(const re_status_snapshot *status);
uint64_t re_status_applied_index(const re_status_snapshot *status);
uint64_t re_status_last_index(const re_status_snapshot *status);
uint64_t re_status_first_index(const re_status_snapshot *status); /* first entry kept (after compaction) */
const char *re_status_leader_id(const re_status_snapshot *status);      /* NULL when unknown or stopped */
const char *re_status_leader_address(const re_status_snapshot *status); /* NULL when unknown */
/* Why the node stopped itself, as RE_EVENT_STOPPED reported it: "REMOVED", "APPLY_HALTED" or
 * "STORAGE_FAILURE" (e.g. a full disk), and the detail ("storage failure: ... No space left on
 * device"). NULL while it runs, and when re_node_stop() stopped it. Since 0.3.0. */
const char *re_status_stop_reason(const re_status_snapshot *status);
const char *re_status_stop_detail(const re_status_snapshot *status);
/* Members of the configuration in force: voters and learners, in configuration order. */
size_t re_status_member_count(const re_status_snapshot *status);
size_t re_status_voter_count(const re_status_snapshot *status);
const char *re_status_member_id(const re_status_snapshot *status, size_t i);      /* NULL if i is out of range */
const char *re_status_member_address(const re_status_snapshot *status, size_t i); /* "" when unknown */
int re_status_member_is_voter(const re_status_snapshot *status, size_t i);        /* 1 voter, 0 learner, -1 out of range */
/*
 * On the leader, member i's replication: the highest index known on it and the milliseconds
 * since it last answered (-1: never, in this term). RE_ESTATE when this snapshot is not a
 * leader's or member i is the leader itself; RE_EINVAL when i is out of range. Either output
 * may be NULL.
 */
int re_status_member_progress(const re_status_snapshot *status, size_t i, uint64_t *match_index, int64_t *ms_since_contact);

/*
 * A counter by name (any thread), counted since the node started. The transport's:
 * "frames_received", "frames_sent", "unknown_sender", "spoofed_sender", "auth_failed",
 * "wrong_cluster", "malformed_frames", "oversized_frames", "connects_failed",
 * "dropped_while_disconnected". The node's: "proposals" (commands appended as leader),
 * "refused_proposals", "elections_started", "leader_changes", "snapshots_taken",
 * "snapshots_installed", "apply_failures", "errors". The log's: "log_syncs",
 * "log_sync_micros_total" (time spent in syncs), "log_sync_failures", "log_zero_fills" and
 * "log_zero_fill_bytes" (log space written with zeros ahead of the records on a thread of the
 * node's own, so that small syncs need no file system journal commit). RE_ENOTFOUND for any
 * other name.
 */
int re_node_counter(const re_node *node, const char *name, uint64_t *value);

/* ---- Cluster operations (any thread; `done` runs on the loop thread) ---------------- */

/*
 * A linearizable read point (ReadIndex, thesis §6.4): `done` gets RE_OK once this node has
 * confirmed with a majority that it still leads and has applied everything committed before
 * the call, so reading the host's own state machine from then on sees every write
 * acknowledged before re_node_read was called. Anywhere else it never completes RE_OK:
 * RE_ENOTLEADER (the leader named), RE_ERETRY (no leader), RE_ETIMEOUT (leadership could not
 * be confirmed in time: a deposed leader cut off from the others). Any thread.
 */
int re_node_read(re_node *node, re_done_fn done, void *user);
/* Leader: adds a server (as_voter 0 = learner) after catching it up, or promotes a learner. */
int re_node_add_server(re_node *node, const char *id, const char *host_port, int as_voter,
                       re_done_fn done, void *user);
/* Leader: removes a server (itself included: it hands over leadership and stops). */
int re_node_remove_server(re_node *node, const char *id, re_done_fn done, void *user);
/* A node started without peers (see also re_config_set_join, which does this by itself): asks
 * the leader at `leader_address` to add it, as a voter or (as_voter 0) as a learner that
 * receives the log but neither votes nor counts; re_node_add_server on the leader promotes a
 * learner later. A follower asked answers RE_ENOTLEADER naming the leader. */
int re_node_join(re_node *node, const char *leader_id, const char *leader_address, int as_voter,
                 re_done_fn done, void *user);
/* Leaves the cluster; the node stops once its removal commits. */
int re_node_exit(re_node *node, re_done_fn done, void *user);
/* Leader: hands leadership to `target_id`. */
int re_node_transfer_leadership(re_node *node, const char *target_id, re_done_fn done, void *user);
/* Takes a snapshot at the applied index and compacts the log. */
int re_node_take_snapshot(re_node *node, re_done_fn done, void *user);
/* Leader: replicates new timing settings (0 keeps a value); in force once committed. */
int re_node_update_settings(re_node *node, uint32_t heartbeat_ms, uint32_t election_min_ms,
                            uint32_t election_max_ms, uint32_t max_entries_per_message,
                            re_done_fn done, void *user);

/* ---- Host-provided transport -------------------------------------------------------- */
/* Not bound in the Python package on purpose: the transport callback runs on the loop thread
 * for every frame, and a Python callback there would hold the GIL per frame on the hot path;
 * Python hosts use the built-in TCP transport (with peer authentication). */

/*
 * Sends one frame to node `to_id` (loop thread), for every frame the node sends. `frame` is
 * valid during the call only: copy it. Hand it to that node with re_node_deliver() however and
 * whenever the host likes, or drop it: Raft tolerates loss, duplication and reordering. Must
 * not block for long. May call re_node_deliver() (even for a node of the same host: the frame
 * is handled on a later loop turn, never inside this call). Never called after re_node_stop()
 * of the sending node returns.
 */
typedef void (*re_send_fn)(void *user, const char *to_id, const uint8_t *frame, size_t len);

/*
 * Replaces TCP with the host's own transport: the node neither listens nor connects, and its
 * frames go to `send`; `user` is passed back unchanged and must outlive the node. Then:
 *   - the listen address is optional and never bound (re_node_start cannot fail with
 *     RE_EADDR): when set, it is only the address this node advertises as its member address,
 *     which re_status_info.leader_address and RE_ENOTLEADER results report; without it the
 *     node advertises none. Peer addresses likewise are labels, never dialled. Node ids are
 *     what frames are routed by. re_node_listen_port() gives 0.
 *   - the cluster id is not checked (frames carry none), and a cluster secret or join
 *     addresses make re_node_start fail with RE_EINVAL: both belong to the TCP handshake. A
 *     host transport authenticates its peers itself; a new node joins with re_node_join(),
 *     which names the leader by id.
 * RE_EINVAL when `send` is NULL. Not bound in Python (see the note above re_send_fn).
 */
int re_config_set_transport(re_config *config, re_send_fn send, void *user);

/*
 * Hands `node` a frame that node `from_id` sent through its re_send_fn. Any thread; `frame` is
 * copied before the call returns (NULL only when len is 0) and handled later on the loop
 * thread. `from_id` is checked against the sender the frame names: a frame speaking for
 * another node is dropped and counted ("spoofed_sender", re_node_counter), as the TCP
 * transport closes a connection that speaks for an id its handshake did not name. A frame that
 * does not decode is dropped and counted ("malformed_frames"); one from a node outside the
 * configuration or addressed to another node likewise ("unknown_sender"). None is fatal, and
 * none is reported by the return value, which says only whether the frame was queued:
 * RE_OK; RE_EINVAL (NULL node, NULL or empty from_id, NULL frame with len > 0); RE_ETOOBIG (len
 * above the max frame size, counted as "oversized_frames"); RE_ESTATE (the node has no host
 * transport: it uses TCP); RE_ESTOPPED (the node stopped). Not bound in Python, with
 * re_config_set_transport.
 */
int re_node_deliver(re_node *node, const char *from_id, const uint8_t *frame, size_t len);

/* ---- Host-provided storage --------------------------------------------------------- */

/*
 * Instead of a FileLog in its data dir, a node can keep its log in the host's storage: a table
 * of functions mirroring the library's log interface, with a `void *user` passed back to each.
 *
 * Threads: the library calls them on the host's loop thread only, one at a time: every load_*
 * and a read of all retained entries while re_node_start runs (before it returns), then reads
 * and writes while the node runs. After re_node_stop() returns (or re_node_start failed) it
 * never calls them again; `close` says so. One node at a time per `user`; the same `user` may
 * serve the node restarted after it.
 *
 * Results: 0 is success; any other value is a failure. A load that fails makes re_node_start
 * fail with RE_EIO (re_config_errmsg names the function and the value returned); stored data
 * the library finds inconsistent, RE_ECORRUPT. A write or sync that fails while the node runs
 * stops it, as any storage failure does (RE_EVENT_ERROR, then RE_EVENT_STOPPED
 * "STORAGE_FAILURE"); the library makes no further write after a failed one.
 *
 * Memory: what the library passes in (entries, byte buffers, strings) is valid during the call
 * only; copy what you keep. What the host passes out (through out-parameters, or in the entries
 * it gives `put`) stays the host's and must stay valid until the library's next call into the
 * table; the library copies it before then. Nothing is freed across the boundary.
 *
 * Durability, one rule for every write (the save_* functions, append, truncate, save_snapshot,
 * install_snapshot, save_broken): a write may stay buffered until the next `sync`; once `sync`
 * returns 0, every write made before it must be durable. A crash may lose writes made since the
 * last successful sync, but only from the end: after a restart the loads must describe the
 * state after some prefix of the writes, each write whole or not at all (a host may simply
 * apply writes to a working copy and make that copy durable in `sync`). The library reveals no
 * write to another node (a vote, an acknowledgement) before a sync that followed it returned
 * 0. The commit index alone may lag further (see save_commit_index).
 *
 * The library keeps the term of every retained entry and the positions of configuration entries
 * itself, rebuilt when the node starts by reading the retained entries once (read_entries) and
 * kept up to date by every append, truncate and compaction: the table needs no per-index
 * lookups, and none can fail in the middle of a protocol decision.
 */

enum re_entry_kind {
    RE_ENTRY_COMMAND = 0,     /* a state machine command */
    RE_ENTRY_TERM_START = 1,  /* the no-op a new leader appends */
    RE_ENTRY_CONFIG = 2       /* a cluster configuration (library-encoded) */
};

/* One log entry: store index, term, kind and data as given and hand them back unchanged. */
typedef struct re_log_entry {
    uint64_t index;
    uint64_t term;
    int kind;                 /* enum re_entry_kind */
    const uint8_t *data;      /* may be NULL when data_len is 0 */
    size_t data_len;
} re_log_entry;

/* Takes one entry from read_entries (copied during the call). Returns 0 for the next one, or
 * non-zero when the library has enough: read_entries then stops and returns 0. */
typedef int (*re_log_put_fn)(void *ctx, const re_log_entry *entry);

typedef struct re_log_vtable {
    /* sizeof(re_log_vtable) as the host was compiled: fields are only ever appended, and the
     * library reads those that fit in `size`. Every field before `close` is required. */
    size_t size;

    /* Current term and vote (term 0, no vote for a new log). *voted_for: a NUL-terminated node
     * id, or NULL or "" for none. save: voted_for NULL for none; a write (durable at the next
     * sync; a vote is sent only after it). */
    int (*load_hard_state)(void *user, uint64_t *term, const char **voted_for);
    int (*save_hard_state)(void *user, uint64_t term, const char *voted_for);

    /* Highest index known committed (0 for a new log); it only grows. It may lag: the host may
     * keep it lazily, even past a sync (a restarted node then applies less at first and learns
     * the rest from the leader), but a load must never give more than was saved. save: a write
     * that alone may be lost even after a sync. */
    int (*load_commit_index)(void *user, uint64_t *index);
    int (*save_commit_index)(void *user, uint64_t index);

    /* The configuration the cluster bootstrapped with: opaque bytes (library-encoded). load:
     * *config NULL and *len 0 when none was saved. save: a write, once, at a new node's start. */
    int (*load_bootstrap_config)(void *user, const uint8_t **config, size_t *len);
    int (*save_bootstrap_config)(void *user, const uint8_t *config, size_t len);

    /* The retained entries are prefix_index+1 ... last_index (none when equal); (prefix_index,
     * prefix_term) is the position of the last entry compacted away, (0, 0) when none. A new
     * log: all 0. */
    int (*load_bounds)(void *user, uint64_t *prefix_index, uint64_t *prefix_term, uint64_t *last_index);

    /* Calls put(ctx, &entry) for the entries from, from+1, ..., through in order, until put
     * returns non-zero or `through` is given; then returns 0. The library asks only for
     * retained entries (prefix_index < from <= through <= last_index) and limits how many bytes
     * it takes itself. */
    int (*read_entries)(void *user, uint64_t from, uint64_t through, re_log_put_fn put, void *ctx);

    /* Appends `count` (>= 1) entries whose indexes run on from last_index + 1. A write: the
     * node acknowledges entries to the leader (and a leader counts its own) only after a sync. */
    int (*append)(void *user, const re_log_entry *entries, size_t count);

    /* Removes every entry at or above `from` (prefix_index < from <= last_index; never a
     * committed entry). A write: lost in a crash only together with the appends after it. */
    int (*truncate)(void *user, uint64_t from);

    /* A snapshot this node took: stores it (meta: opaque, library-encoded; data: the state
     * machine's bytes), replacing the one before, and when compact_through > prefix_index drops
     * the entries at or below compact_through, whose last has term compact_term: (compact_through,
     * compact_term) becomes the prefix. compact_through <= last_index; entries after it stay.
     * A write like the others: durable at the next sync (which follows at once), whole or not
     * at all: a crash must not leave the entries dropped without the snapshot stored. */
    int (*save_snapshot)(void *user, const uint8_t *meta, size_t meta_len, const uint8_t *data, size_t data_len,
                         uint64_t compact_through, uint64_t compact_term);

    /* A snapshot received from the leader: stores it as save_snapshot does and makes (index,
     * term) the prefix. keep_entries non-zero: entries at or below `index` are dropped, those
     * after it stay. Zero: every entry is dropped (last_index becomes `index`, which may lie
     * beyond the old last_index). The library then raises the commit index to `index`. A
     * write, whole or not at all, like save_snapshot. */
    int (*install_snapshot)(void *user, const uint8_t *meta, size_t meta_len, const uint8_t *data, size_t data_len,
                            uint64_t index, uint64_t term, int keep_entries);

    /* The stored snapshot: *meta NULL and *meta_len 0 when there is none. Called at start and
     * when this node, leading, sends it to a follower. */
    int (*load_snapshot)(void *user, const uint8_t **meta, size_t *meta_len, const uint8_t **data, size_t *data_len);

    /* Set when an apply failed under RE_APPLY_HALT; a node will not start on a broken log
     * (RE_EBROKEN) until the host clears it. save: a write (the stopping node syncs it). */
    int (*load_broken)(void *user, int *broken);
    int (*save_broken)(void *user, int broken);

    /* Makes every write so far durable (see Durability above); returns 0 only once they are.
     * Called once per loop turn that wrote (group commit), and when the node stops. */
    int (*sync)(void *user);

    /* Optional (NULL: none). Called once after the library's last call for this node: when it
     * stops (after its last sync) or when re_node_start fails after the first load. */
    void (*close)(void *user);
} re_log_vtable;

/*
 * Keeps the node's log in the host's storage instead of a FileLog: the data dir is then not
 * needed (and not used). `log` is copied (the host may free it at once); `user` is passed back
 * to every function unchanged and must outlive the node. RE_EINVAL when `log` is NULL, its
 * `size` is too small for the required fields or one of them is NULL.
 */
int re_config_set_storage(re_config *config, const re_log_vtable *log, void *user);

/* ---- Repairs of a stopped node's data directory --------------------------------------- */

/*
 * For an operator, on a data dir no running node holds (RE_ELOCKED otherwise). Both sync
 * before returning and never create a data dir (RE_EIO when `data_dir` holds no node data).
 * Any thread; no host needed. On failure re_errmsg() says why.
 */

/* Clears the broken mark a halted apply (RE_APPLY_HALT) left, after the state machine has been
 * fixed: the next start replays the snapshot and the log into it. */
int re_data_dir_clear_broken(const char *data_dir);

/* 1 when the log in `data_dir` is marked broken, 0 when not, a negative status on failure. */
int re_data_dir_is_broken(const char *data_dir);

/*
 * Quorum loss: makes node `id` the only voter of the membership stored in `data_dir`, by
 * appending a configuration entry naming only it. Started again, the node elects itself and
 * commits its whole log; add the others back as new, empty nodes that join. UNSAFE BY NATURE,
 * for a majority lost for good: entries the lost majority committed but this log lacks are
 * gone, and the removed members must never run again on their old data (a majority of the old
 * membership would elect a second leader). RE_ENOTFOUND when `id` is not in that membership.
 */
int re_data_dir_force_sole_voter(const char *data_dir, const char *id);

/* ---- Deterministic simulator ---------------------------------------------------------- */

/*
 * A simulated cluster of N nodes in one process, for testing a state machine under Raft's
 * faults step by step: virtual time, an in-memory network the caller drives message by
 * message, crashes, partitions, and a trace of every step as the seed document's tables.
 * Nothing runs on its own: no thread, no timer, no socket, no file (but the trace files asked
 * for). The same calls with the same seed give the same run.
 *
 * Threading: a cluster is single-threaded. Every re_sim_* call on one cluster must come from
 * one thread at a time; the state machine callbacks run inside those calls, on the caller's
 * thread, and must not call re_sim_* on their own cluster. Different clusters are independent.
 *
 * Nodes are numbered 1..N (their ids in the trace are "sim://1" ...). A call naming a node
 * outside 1..N fails with RE_EINVAL; getters return 0 (re_sim_role: -1). Timers are off
 * until re_sim_enable_timers(): elections happen through re_sim_elect() / re_sim_campaign().
 */
typedef struct re_sim re_sim;

/*
 * The nodes' state machines: the callbacks of re_config_set_state_machine (same contract;
 * they run inside re_sim_* calls) plus a factory. `create(factory, node)` makes the machine of
 * node `node` when the node is created and again at each restart (a crash loses the volatile
 * machine; the new one is rebuilt from the node's snapshot and log) and returns the `user`
 * pointer its callbacks get. `destroy` (optional, NULL: none) is called once for each machine
 * the simulator no longer uses: replaced at a restart, or at re_sim_free().
 */
typedef struct re_sim_machine {
    re_apply_fn apply;
    re_snapshot_fn snapshot;
    re_restore_fn restore;
    void *(*create)(void *factory, int node);
    void (*destroy)(void *factory, int node, void *user);
} re_sim_machine;

/*
 * Creates a cluster of `nodes` voters (1 to 15), its randomness drawn from `seed`, pre-vote
 * on when `pre_vote` is non-zero (heartbeat 10 ms, election timeout 150-300 ms, 10 entries
 * per message). `machine` is copied; `factory` must outlive the cluster. No node leads yet.
 * Free with re_sim_free().
 */
int re_sim_new(int nodes, uint64_t seed, int pre_vote, const re_sim_machine *machine, void *factory, re_sim **out);
/* Frees the cluster (NULL is ignored); `destroy` runs for every machine still in use. */
void re_sim_free(re_sim *sim);
int re_sim_node_count(const re_sim *sim);

/* -- Commands -- */

/* Proposes a copy of `command` at `node` (any role: a follower answers RE_ENOTLEADER).
 * *request receives the id to ask re_sim_outcome() about. Fails (RE_ESTOPPED) if the node
 * is down. */
int re_sim_propose(re_sim *sim, int node, const uint8_t *command, size_t len, uint64_t *request);
/*
 * The outcome of a proposal: 1 when known (*status: RE_OK, RE_ENOTLEADER, RE_EAPPLY, ...),
 * 0 while still pending, a negative status on a bad argument. *result / *result_len receive
 * the state machine's result when *status is RE_OK, else the outcome's message (UTF-8, no
 * NUL); the buffer belongs to the cluster and stays valid until the next re_sim_* call on it.
 */
int re_sim_outcome(re_sim *sim, uint64_t request, int *status, const uint8_t **result, size_t *result_len);

/* -- Messages. A node's output waits in its outbox until moved onto the network
 * (re_sim_transmit, or re_sim_deliver_all as it goes); there it lands in the receiver's inbox, is held, or is
 * lost (receiver down, partition, cut). -- */

/* Moves `node`'s outbox onto the network (0: every node's, in node order). */
int re_sim_transmit(re_sim *sim, int node);
/* `node` handles the message at `position` (0: the oldest) of its inbox; 1 if it did, 0 if
 * there was none there. Nothing is transmitted first, and its replies stay in its outbox. */
int re_sim_deliver(re_sim *sim, int node, size_t position);
/* Transmits and handles messages, each node in turn, until none is left or `max_steps`
 * messages were handled; *steps (may be NULL) receives how many. Returns 1 when the network
 * went quiet, 0 when the cap stopped it. */
int re_sim_deliver_all(re_sim *sim, size_t max_steps, size_t *steps);
/* Delivers one message at a time (as re_sim_deliver_all) until `until(user)` returns non-zero,
 * asked before each message; 1 when it did, 0 when the network went quiet or `max_steps`
 * messages were handled first. `until` runs on this thread and may read the cluster (status
 * getters, re_sim_outcome) but not change it. */
int re_sim_deliver_until(re_sim *sim, int (*until)(void *user), void *user, size_t max_steps);
size_t re_sim_inbox_count(const re_sim *sim, int node);
/* Loses / duplicates the message at `position` of `node`'s inbox (RE_ENOTFOUND: none). */
int re_sim_drop(re_sim *sim, int node, size_t position);
int re_sim_duplicate(re_sim *sim, int node, size_t position);
/* From now on, messages sent from `from` to `to` (0 for either: any node) are held instead
 * of delivered (`hold` non-zero), or no longer (0). */
int re_sim_hold(re_sim *sim, int from, int to, int hold);
size_t re_sim_held_count(const re_sim *sim);
/* Releases up to `limit` held messages from `from` to `to` (0: any), oldest first, as if sent
 * now (lost if the receiver is down or cut off); *released (may be NULL): how many reached an
 * inbox. re_sim_drop_held loses them instead. */
int re_sim_release_held(re_sim *sim, int from, int to, size_t limit, size_t *released);
int re_sim_drop_held(re_sim *sim, int from, int to);

/* -- Faults -- */

/* Splits the network: groups[i] is the group of node i + 1 (any int; `count` must be the
 * node count). Messages between groups are lost, including those already in inboxes. */
int re_sim_partition(re_sim *sim, const int *groups, size_t count);
/* Ends every partition and one-way cut. */
int re_sim_heal(re_sim *sim);
/* One-way: messages from `from` to `to` are lost (re_sim_uncut ends it). */
int re_sim_cut(re_sim *sim, int from, int to);
int re_sim_uncut(re_sim *sim, int from, int to);
/* Crash: the node's volatile state (Raft state, machine, queues) is lost; its log stays. */
int re_sim_crash(re_sim *sim, int node);
/* Restarts a node (a running one is shut down cleanly first) with a new machine from
 * `create`, rebuilt from its log. */
int re_sim_restart(re_sim *sim, int node);

/* -- Time and elections -- */

/* Advances virtual time by `ms`, firing the timers that fall due on nodes with timers on.
 * re_sim_advance_node moves one node's clock ahead alone (its due timers fire at the next
 * re_sim_advance). */
int re_sim_advance(re_sim *sim, uint64_t ms);
int re_sim_advance_node(re_sim *sim, int node, uint64_t ms);
/* Timers (heartbeats, elections, command timeouts) on or off for every node; off at start. */
int re_sim_enable_timers(re_sim *sim, int enabled);
/* Advances `ms` with timers firing, delivering every message after each simulated 1 ms. */
int re_sim_run(re_sim *sim, uint64_t ms);
/* `node` starts an election now (re_sim_elect: then delivers until quiet). */
int re_sim_campaign(re_sim *sim, int node);
int re_sim_elect(re_sim *sim, int node);
/* The leader sends a heartbeat now (followers learn its commit index). */
int re_sim_heartbeat(re_sim *sim, int node);

/* -- Simulator: links, nodes and cluster operations -- */

/*
 * Creation options beyond re_sim_new's arguments: make them with re_sim_options_new (the
 * same nodes, seed and pre_vote as re_sim_new), set what differs, create the cluster with
 * re_sim_new_with_options (the options are copied; free them with re_sim_options_free at
 * any time after). Any thread, but one options object must not be used by two threads at
 * once.
 */
typedef struct re_sim_options re_sim_options;
int re_sim_options_new(int nodes, uint64_t seed, int pre_vote, re_sim_options **out);
void re_sim_options_free(re_sim_options *options);   /* NULL is ignored */
/* Node `node`'s own election timeout range (1 to 15, also a node re_sim_add_node creates
 * later; 0: every node), instead of the 150-300 ms the others keep. 1 <= min_ms <= max_ms
 * <= 600000. */
int re_sim_options_set_election_timeout(re_sim_options *options, int node, uint32_t min_ms, uint32_t max_ms);
/* `on` non-zero: each node's memory log keeps only what it synced, so a crash loses every
 * write since its last sync (off: a memory log keeps every write across a crash). */
int re_sim_options_set_lose_unsynced_writes(re_sim_options *options, int on);
/* re_sim_new with `options`; `machine` and `factory` as there. Free with re_sim_free(). */
int re_sim_new_with_options(const re_sim_options *options, const re_sim_machine *machine, void *factory, re_sim **out);

/* re_sim_restart with `node`'s own election timeout range changed first (min_ms = max_ms =
 * 0: back to the cluster's 150-300 ms; else 1 <= min_ms <= max_ms <= 600000); the range stays
 * for its later restarts. A node's options are not replicated: a host changes them this way. */
int re_sim_restart_with_election_timeout(re_sim *sim, int node, uint32_t min_ms, uint32_t max_ms);

/* A slow disk at `node`: while `on`, its syncs wait for re_sim_finish_sync, so its writes stay
 * unsynced and the messages that must follow a sync (acknowledgements, votes) wait with them.
 * re_sim_finish_sync carries out the awaited sync now (nothing when none is awaited). */
int re_sim_set_syncs_deferred(re_sim *sim, int node, int on);
int re_sim_finish_sync(re_sim *sim, int node);

/* The runtime's sync thread at `node` (placement: a re_sim_sync_placement, default
 * RE_SIM_SYNC_INLINE; see re_sim_fault_options). Off the loop a round that writes starts a
 * sync job (what it covers is taken then; at most 2 in flight, later rounds wait for the
 * next), and the acknowledgements and votes it covers wait for it. re_sim_run_sync_job runs the
 * node's oldest job not run yet (its fdatasync); re_sim_complete_sync_job takes back the oldest
 * job once it ran (the node counts what it covered as durable, its messages leave). *done (may
 * be NULL): 1 if there was such a job, else 0. re_sim_sync_jobs: jobs in flight and how many of
 * them ran (either may be NULL). A crash drops the jobs; re_sim_run completes them as it goes. */
int re_sim_set_sync_placement(re_sim *sim, int node, int placement);
int re_sim_run_sync_job(re_sim *sim, int node, int *done);
int re_sim_complete_sync_job(re_sim *sim, int node, int *done);
int re_sim_sync_jobs(const re_sim *sim, int node, size_t *in_flight, size_t *ran);

/* Links. re_sim_set_link_fault: each message from `from` to `to` (two different nodes) is lost
 * with probability `loss` (0 to 1, drawn from the cluster's seeded generator, so the same seed
 * loses the same messages), and the rest arrive `delay_ms` of virtual time after they were
 * sent (at most 86400000; re_sim_advance lands them). loss 0 and delay 0 clear the link's
 * fault. re_sim_clear_link_faults clears every link's (messages already delayed still land).
 * Partitions and cuts are separate: re_sim_heal leaves link faults. */
int re_sim_set_link_fault(re_sim *sim, int from, int to, double loss, uint64_t delay_ms);
int re_sim_clear_link_faults(re_sim *sim);
size_t re_sim_in_flight_count(const re_sim *sim);   /* delayed messages not landed yet */
size_t re_sim_lost_count(const re_sim *sim);        /* messages lost so far, for any reason */

/* Delivery of some messages only. re_sim_deliver_between handles only messages between `a`
 * and `b` (both ways) until none is left or `max_steps` were handled, transmitting as it
 * goes; other messages stay in their inboxes, in order. re_sim_deliver_count handles exactly
 * `count` messages (fewer if the network goes quiet) in re_sim_deliver_all's order. *steps /
 * *handled (may be NULL): how many were handled. */
int re_sim_deliver_between(re_sim *sim, int a, int b, size_t max_steps, size_t *steps);
int re_sim_deliver_count(re_sim *sim, size_t count, size_t *handled);
/* re_sim_release_held, taking the held messages of the link in `order`. */
enum re_sim_held_order { RE_SIM_OLDEST_FIRST = 0, RE_SIM_NEWEST_FIRST = 1 };
int re_sim_release_held_in_order(re_sim *sim, int from, int to, size_t limit, int order, size_t *released);

/*
 * Cluster operations. Each starts the operation and puts its request id in *request (may be
 * NULL) for re_sim_outcome(); the outcome is known once the messages that decide it were
 * delivered (RE_OK, or RE_ENOTLEADER, RE_EBUSY, RE_EEXIST, RE_ETIMEOUT, ... as for the
 * re_node_* operations). A node that is down fails the call with RE_ESTOPPED.
 *
 * re_sim_add_node creates node N + 1 outside the configuration, running on a machine from
 * `create` (at most 15 nodes); *node receives its number. It takes part once added: by
 * re_sim_join (it asks `via`, the leader, to add it: as a voter, or a learner when as_voter is
 * 0) or by re_sim_add_server at the leader (which also promotes a learner). A node not caught
 * up gets the leader's log, or its snapshot when the log no longer holds what it lacks.
 */
int re_sim_add_node(re_sim *sim, int *node);
int re_sim_join(re_sim *sim, int node, int via, int as_voter, uint64_t *request);
int re_sim_add_server(re_sim *sim, int leader, int node, int as_voter, uint64_t *request);
int re_sim_remove_server(re_sim *sim, int leader, int node, uint64_t *request);
/* `node` leaves the cluster by itself (through its leader when it is not the leader). */
int re_sim_exit_cluster(re_sim *sim, int node, uint64_t *request);
int re_sim_transfer_leadership(re_sim *sim, int leader, int target, uint64_t *request);
/* Takes a snapshot of `node`'s machine at its applied index and compacts its log, keeping
 * `keep_trailing` entries before it; *index (may be NULL) receives the snapshot's index, 0
 * when there was nothing new to snapshot. A failure of the machine's snapshot is RE_EIO. */
int re_sim_take_snapshot(re_sim *sim, int node, uint64_t keep_trailing, uint64_t *index);

/* Whether `member` is in the configuration `node` has in force. */
enum re_sim_membership { RE_SIM_NOT_MEMBER = 0, RE_SIM_VOTER = 1, RE_SIM_LEARNER = 2 };
int re_sim_membership(const re_sim *sim, int node, int member);   /* enum re_sim_membership; -1: bad node or down */

/* The leader's view of a follower. */
enum re_sim_replication { RE_SIM_PROBE = 0, RE_SIM_REPLICATE = 1, RE_SIM_SNAPSHOT = 2 };
typedef struct re_sim_progress {
    int node;                 /* the follower */
    int state;                /* enum re_sim_replication */
    uint64_t match;           /* highest index known to be on the follower */
    uint64_t next;            /* next index the leader sends */
    uint64_t snapshot_index;  /* RE_SIM_SNAPSHOT: the index of the snapshot being sent; else 0 */
    size_t inflight;          /* appends sent and not yet acknowledged */
} re_sim_progress;
/* Fills out[0 .. capacity) with the leader's view of each node it replicates to, by node
 * number; *count receives how many there are (0 unless `leader` is a live leader), which may
 * exceed `capacity` (then only `capacity` are written; out may be NULL with capacity 0). */
int re_sim_follower_progress(const re_sim *sim, int leader, re_sim_progress *out, size_t capacity, size_t *count);

/*
 * Apply history: every command and snapshot restore node `node`'s machines took in, over all
 * its lifetimes (lifetime 1 from creation, one more per restart; a crash does not lose the
 * history). A snapshot restore covers every index up to its `index` (0 until the node learns
 * which index the snapshot it is installing covers).
 */
enum re_sim_apply_kind { RE_SIM_APPLY_COMMAND = 0, RE_SIM_APPLY_SNAPSHOT = 1 };
typedef struct re_sim_apply_record {
    int lifetime;
    int kind;                 /* enum re_sim_apply_kind */
    uint64_t index;
    const uint8_t *command;   /* RE_SIM_APPLY_COMMAND: the command's bytes; else NULL */
    size_t command_len;
} re_sim_apply_record;
/* *records receives the history in order, *count its length: one malloc()ed block holding the
 * records and their commands, which the caller frees with one free() (NULL when empty). */
int re_sim_apply_history(const re_sim *sim, int node, re_sim_apply_record **records, size_t *count);
/* Indexes whose command reached the machine's state more than once, ascending; a snapshot
 * restore counts as one application of what it covers. machine_survives_restart 0 (each
 * lifetime has a new machine, as `create` makes) starts counting afresh at each lifetime;
 * non-zero adds the lifetimes up (a factory that hands back the same durable machine).
 * *indexes: a malloc()ed array for the caller to free() (NULL when there are none). */
int re_sim_reapplied_indexes(const re_sim *sim, int node, int machine_survives_restart, uint64_t **indexes,
                             size_t *count);
int re_sim_lifetime(const re_sim *sim, int node);   /* starts so far: 1 after creation; 0: bad node */

/* -- Status: one node's state now (node down: role RE_ROLE_STOPPED, the rest as its log
 * says). -- */

int re_sim_role(const re_sim *sim, int node);                /* enum re_role; -1 bad node */
uint64_t re_sim_term(const re_sim *sim, int node);
uint64_t re_sim_commit_index(const re_sim *sim, int node);
uint64_t re_sim_applied_index(const re_sim *sim, int node);
uint64_t re_sim_last_index(const re_sim *sim, int node);
int re_sim_leader_of(const re_sim *sim, int node);           /* whom `node` follows; 0: none */
int re_sim_leader(const re_sim *sim);                        /* the live leader of the highest term; 0: none */

/* -- Trace -- */

enum re_sim_trace_format { RE_SIM_TRACE_RST = 0, RE_SIM_TRACE_CSV = 1, RE_SIM_TRACE_PLANTUML = 2 };

/* Starts a titled section of the trace (the rows before the first form an untitled one). */
int re_sim_section(re_sim *sim, const char *title);
size_t re_sim_section_count(const re_sim *sim);
/*
 * The trace as text: section `section` (from 1), or with 0 every section (RST: one document
 * with a heading per section; CSV and PlantUML: the sections one after another). *out
 * receives a NUL-terminated malloc()ed string the caller frees with free().
 * RE_ENOTFOUND: no such section. re_sim_write_trace writes the same text to `path` (created
 * or replaced whole; RE_EIO when it cannot be written).
 */
int re_sim_trace(const re_sim *sim, int format, size_t section, char **out);
int re_sim_write_trace(const re_sim *sim, int format, size_t section, const char *path);

/* -- Fault mode -- */

/*
 * Randomized fault testing: runs seeds first_seed .. first_seed + count - 1 (first_seed >= 1),
 * each a cluster of node_counts[seed % n_counts] nodes (node_counts NULL: 3, 5, 7 in turn)
 * through random delivery order, loss, duplication, crashes, restarts, partitions,
 * proposals and cluster operations, checking Raft's safety properties after every action
 * and recovery at the end. `machine` NULL runs the library's counter machine; otherwise
 * yours (proposals are unique text commands "c<n>"; `create` gets node 0 for the spare nodes
 * the fault mode adds to a cluster). Stops at the first failing seed when
 * `stop_at_failure` is non-zero. *seeds_run: how many ran; *first_failing: the first failing
 * seed, 0 if none; *violation (may be NULL): NULL if none, else a malloc()ed text saying what
 * failed (free it). The same seed always replays the same run. Calls the machine callbacks
 * on this thread.
 */
int re_sim_fault_sweep(uint64_t first_seed, uint64_t count, const int *node_counts, size_t n_counts,
                       const re_sim_machine *machine, void *factory, int stop_at_failure,
                       uint64_t *seeds_run, uint64_t *first_failing, char **violation);

/* -- Simulator: fault mode and client histories -- */

/* The fault mode's random actions and their relative weights, on any scale (the defaults add
 * up to 1000); 0 turns an action off. */
typedef struct re_sim_fault_rates {
    uint32_t deliver, advance, propose, drop, duplicate, crash, restart, partition, heal;
    uint32_t cluster_operation;   /* membership changes, transfers, snapshots (with cluster_operations) */
    uint32_t link_fault;          /* a random loss and delay on a link, or clearing it; default 0 */
    /* A crash that is also a power loss, a full disk, every node's power at once, an EIO:
     * only with storage_faults. */
    uint32_t power_loss, disk_full, power_loss_all, disk_error;
} re_sim_fault_rates;

/*
 * A property of yours that must hold after every step of a fault run: return 0 when it holds;
 * otherwise non-zero, having written why into `why` (why_len bytes with the NUL; what does
 * not fit is cut; empty is allowed). `sim` is the cluster under test: read it with the re_sim_*
 * getters (re_sim_role, re_sim_term, re_sim_commit_index, re_sim_leader, re_sim_node_count...,
 * nodes the fault mode added are numbered on from N + 1) and change nothing. It runs inside
 * the fault mode's call, on its thread; `sim` is valid only during the call.
 */
typedef int (*re_sim_invariant_fn)(void *user, const re_sim *sim, char *why, size_t why_len);

typedef struct re_sim_invariant {
    const char *name;             /* names its violations (NUL-terminated; copied) */
    re_sim_invariant_fn check;
    void *user;                   /* handed to check; must outlive the call */
} re_sim_invariant;

/*
 * The fault mode's options. Fill them with re_sim_fault_options_init(), which writes the
 * defaults (those re_sim_fault_sweep runs with) and `size`, then change what you need. `size`
 * is sizeof(re_sim_fault_options) as the host was compiled: fields are only ever appended, and
 * the library reads those that fit in `size` (the others keep their defaults). The options and
 * the invariant array are copied during the call; `machine`'s table too, `factory` and the
 * invariants' `user` must outlive it.
 */
typedef struct re_sim_fault_options {
    size_t size;
    int nodes;                    /* node count, 1 to 15 (default 3); a sweep's node_counts override it */
    size_t steps;                 /* turns (random actions) per seed before recovery (default 400) */
    re_sim_fault_rates rates;
    int pre_vote;                 /* 1 on, 0 off, -1 (default): the seed chooses */
    int cluster_operations;       /* membership changes, transfers, snapshots (default 1) */
    int check_recovery;           /* at the end heal, restart, require a final command everywhere (default 1) */
    int storage_faults;           /* real logs on simulated disks: power losses, full disks, EIO (default 0) */
    int trace;                    /* record the trace for re_sim_trace (slower; default 0) */
    const re_sim_machine *machine;  /* NULL (default): the library's counter machine; otherwise
                                     * yours, proposals being the text commands "c1", "c2", ... and
                                     * the added nodes' machines made with node 0 */
    void *factory;
    const re_sim_invariant *invariants;  /* n_invariants of them (default none) */
    size_t n_invariants;
    /* Where the nodes' syncs run, as the runtime's sync placement: a re_sim_sync_placement, or
     * -1 (default): the seed chooses (a third each way). Off the loop a sync is a job whose
     * fdatasync and completion are separate random actions ("syncRun", "syncComplete"), so
     * faults land between a job's start, its fdatasync and its completion. */
    int sync_placement;
    uint32_t sync_job_rate;       /* weight of those actions (default 150); drawn only off the loop */
} re_sim_fault_options;

/* RE_SIM_SYNC_INLINE: in the step. RE_SIM_SYNC_LEADER: on a sync thread while leading, inline
 * otherwise (the runtime's default). RE_SIM_SYNC_ALWAYS: on a sync thread in every role. */
enum re_sim_sync_placement { RE_SIM_SYNC_INLINE = 0, RE_SIM_SYNC_LEADER = 1, RE_SIM_SYNC_ALWAYS = 2 };

/* Writes the defaults and size into *options. */
void re_sim_fault_options_init(re_sim_fault_options *options);

/* As re_sim_fault_sweep with every option of `options` (NULL: the defaults); node_counts NULL
 * (or n_counts 0) runs every seed with options->nodes nodes. */
int re_sim_fault_sweep_with(uint64_t first_seed, uint64_t count, const int *node_counts, size_t n_counts,
                            const re_sim_fault_options *options, int stop_at_failure,
                            uint64_t *seeds_run, uint64_t *first_failing, char **violation);

/*
 * One seed of the fault mode, run to its end (recovery included when check_recovery), kept
 * for reading: the replay of a failing seed of a sweep (same seed, options and node count give
 * the same run). *out receives the run; free it with re_sim_fault_run_free(). Strings the
 * getters give belong to the run and live until it is freed. The machine and invariant
 * callbacks run inside this call, on its thread; a run is then read from one thread at a time.
 */
typedef struct re_sim_fault_run re_sim_fault_run;
int re_sim_fault_run_seed(uint64_t seed, const re_sim_fault_options *options, re_sim_fault_run **out);
void re_sim_fault_run_free(re_sim_fault_run *run);   /* NULL is ignored */
/* Turns taken (at most `steps`: fewer when a violation stopped the run) and the highest commit index. */
size_t re_sim_fault_run_turns(const re_sim_fault_run *run);
uint64_t re_sim_fault_run_committed(const re_sim_fault_run *run);
/*
 * What failed, safety violations first: violation i (from 0) of the count. *property: the
 * broken property ("election safety", "state machine safety", ..., an invariant's name, or
 * "recovery" for the end's liveness check); *message: the text; *step: the cluster step after
 * which it was seen (any pointer may be NULL). RE_ENOTFOUND: no violation i.
 */
size_t re_sim_fault_run_violation_count(const re_sim_fault_run *run);
int re_sim_fault_run_violation(const re_sim_fault_run *run, size_t i, const char **property, const char **message,
                               uint64_t *step);
/*
 * The action log: action i (from 0) the fault mode took, in order. *turn: its turn; *step: the
 * cluster step before it; *kind: "deliver", "advance", "propose", "drop", "duplicate", "crash",
 * "restart", "partition", "heal", "linkFault", "powerLoss", "diskFull", "powerLossAll",
 * "diskError", "clusterOperation" (none could run), "snapshot", "transfer", "remove", "add",
 * "promote"; *node: the node acted on, 0 for none. RE_ENOTFOUND: no action i.
 */
size_t re_sim_fault_run_action_count(const re_sim_fault_run *run);
int re_sim_fault_run_action(const re_sim_fault_run *run, size_t i, size_t *turn, uint64_t *step, const char **kind,
                            int *node);
/* The run's cluster as it ended, for the re_sim_* getters and re_sim_trace (recorded with
 * options->trace). It belongs to the run: never re_sim_free it, and change nothing. */
const re_sim *re_sim_fault_run_sim(const re_sim_fault_run *run);

/*
 * A history of client operations on one object, for a linearizability check (Wing & Gong's
 * search with Lowe's memo; exponential at worst: meant for a test's small histories). The
 * model says what the object does: a register (write v; read gives the last write, `initial`
 * before any) or a counter (add n answers the total after it; read gives the total). Values
 * are int64_t. A history is single-threaded, like a cluster: the calls that take a cluster
 * follow its thread rule, and its operations complete inside that cluster's later calls.
 * Free it with re_sim_history_free (before or after the cluster).
 */
typedef struct re_sim_history re_sim_history;
enum re_sim_model { RE_SIM_MODEL_REGISTER = 0, RE_SIM_MODEL_COUNTER = 1 };
/* An operation: read (either model), write (register), add (counter). */
enum re_sim_op { RE_SIM_OP_READ = 0, RE_SIM_OP_WRITE = 1, RE_SIM_OP_ADD = 2 };
/* An operation's completion: no answer yet or one that leaves open whether it took effect (a
 * timeout, a leader that stepped down); answered; known not to have taken effect. */
enum re_sim_completion { RE_SIM_PENDING = 0, RE_SIM_COMPLETED = 1, RE_SIM_FAILED = 2 };
enum re_sim_linearizability { RE_SIM_NOT_LINEARIZABLE = 0, RE_SIM_LINEARIZABLE = 1, RE_SIM_UNDECIDED = 2 };

int re_sim_history_new(int model, int64_t initial, re_sim_history **out);
void re_sim_history_free(re_sim_history *history);   /* NULL is ignored */

/*
 * Through a cluster. re_sim_history_propose proposes `command` at `node` as operation `op`
 * with argument `arg` (a read: 0) of client `client` (NULL: "c"): invoked now, completed when
 * its outcome comes (inside a later re_sim_* call): applied, with the machine's result as the
 * output (for add and read a decimal integer; anything else is a wrong answer); refused or
 * redirected: failed; a timeout or a stepped-down leader: left pending. *id (may be NULL): the
 * operation's id in the history; *request (may be NULL): the request for re_sim_outcome.
 * RE_ESTOPPED when the node is down, RE_EINVAL for an op the model lacks.
 */
int re_sim_history_propose(re_sim_history *history, re_sim *sim, int node, const uint8_t *command, size_t len, int op,
                           int64_t arg, const char *client, size_t *id, uint64_t *request);
/* The value of a read: node `node`'s state as your machine holds it, into *value; 0, or non-zero
 * when it cannot say (the read's answer is then wrong). May read `sim`, not change it. */
typedef int (*re_sim_value_fn)(void *user, const re_sim *sim, int node, int64_t *value);
/* A linearizable read (ReadIndex) at `node`: once the node confirms it still leads and has
 * applied up to the read's index, `value` is asked (inside that later re_sim_* call; `user`
 * must stay valid until then). A redirect fails it. */
int re_sim_history_read(re_sim_history *history, re_sim *sim, int node, re_sim_value_fn value, void *user,
                        const char *client, size_t *id, uint64_t *request);
/* A read of `node`'s local state with no check that it still leads: invoked and answered now
 * (`value` is asked during the call). It can be stale. */
int re_sim_history_read_locally(re_sim_history *history, re_sim *sim, int node, re_sim_value_fn value, void *user,
                                const char *client, size_t *id);

/* By hand: invoke an operation (*id receives its id), then complete it with its output, or fail
 * it; never completed, it stays pending. RE_EINVAL: an op the model lacks, no such id, or an
 * operation already completed or failed. */
int re_sim_history_invoke(re_sim_history *history, int op, int64_t arg, const char *client, size_t *id);
int re_sim_history_complete(re_sim_history *history, size_t id, int64_t output);
int re_sim_history_fail(re_sim_history *history, size_t id);

/* Operation `id` (from 0) of the count: its op, argument, completion (enum re_sim_completion)
 * and output (0 unless completed); any pointer may be NULL. RE_ENOTFOUND: no such id. */
size_t re_sim_history_count(const re_sim_history *history);
int re_sim_history_operation(const re_sim_history *history, size_t id, int *op, int64_t *arg, int *completion,
                             int64_t *output);
/*
 * Checks the history: returns a value of enum re_sim_linearizability, or a negative status.
 * The search gives up after `limit` states (0: 1,000,000): RE_SIM_UNDECIDED. *description (may be NULL):
 * a malloc()ed text (free it): the verdict, a linearization order when there is one, and the
 * operations one per line.
 */
int re_sim_history_check(const re_sim_history *history, size_t limit, char **description);

#ifdef __cplusplus
}
#endif

#endif /* RAFTENGINE_H */
