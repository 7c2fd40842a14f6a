/* For the C tests: a node's status snapshot copied into a plain struct, read through the
 * header's getters (re_node_get_status and re_status_*). */
#ifndef RAFTENGINE_NODE_INFO_H
#define RAFTENGINE_NODE_INFO_H

#include <stdio.h>
#include "raftengine.h"

typedef struct node_info {
    int role;  /* enum re_role */
    uint64_t term, commit_index, applied_index, last_index;
    size_t voters, learners;
    int stopped;
    char leader_id[64];
    char leader_address[128];
} node_info;

static inline int get_info(const re_node *node, node_info *out) {
    re_status_snapshot *s = NULL;
    int rc = re_node_get_status(node, &s);
    if (rc != RE_OK) return rc;
    out->role = re_status_role(s);
    out->stopped = out->role == RE_ROLE_STOPPED;
    out->term = re_status_term(s);
    out->commit_index = re_status_commit_index(s);
    out->applied_index = re_status_applied_index(s);
    out->last_index = re_status_last_index(s);
    out->voters = re_status_voter_count(s);
    out->learners = re_status_member_count(s) - out->voters;
    const char *l = re_status_leader_id(s);
    snprintf(out->leader_id, sizeof out->leader_id, "%s", l ? l : "");
    const char *a = re_status_leader_address(s);
    snprintf(out->leader_address, sizeof out->leader_address, "%s", a ? a : "");
    re_status_free(s);
    return RE_OK;
}

#endif
