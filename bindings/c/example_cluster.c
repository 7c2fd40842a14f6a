/* A 3-node RaftEngine cluster in one process: each node keeps a counter, the program submits
 * a few commands through the leader and prints what every node applied.
 *   cc example_cluster.c $(pkg-config --cflags --libs raftengine) -lpthread -o example */
#define _GNU_SOURCE
#include <time.h>
#include <unistd.h>

#include "counter.h"

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp/raftengine-example";
    int base_port = argc > 2 ? atoi(argv[2]) : 7101;
    re_host *host = NULL;
    int rc = re_host_new(&host);
    if (rc != RE_OK) {
        fprintf(stderr, "re_host_new: %s\n", re_strerror(rc));
        return 1;
    }
    counter machines[3];
    re_node *nodes[3] = {0};
    for (int i = 0; i < 3; i++) {
        counter_init(&machines[i]);
        re_config *c = NULL;
        char buf[256];
        re_config_new(&c);
        snprintf(buf, sizeof buf, "n%d", i + 1);
        re_config_set_id(c, buf);
        snprintf(buf, sizeof buf, "%s/n%d", dir, i + 1);
        re_config_set_data_dir(c, buf);
        snprintf(buf, sizeof buf, "127.0.0.1:%d", base_port + i);
        re_config_set_listen_address(c, buf);
        for (int j = 0; j < 3; j++) {
            if (j == i) continue;
            char id[16], addr[32];
            snprintf(id, sizeof id, "n%d", j + 1);
            snprintf(addr, sizeof addr, "127.0.0.1:%d", base_port + j);
            re_config_add_peer(c, id, addr);
        }
        re_config_set_state_machine(c, counter_apply, counter_snapshot, counter_restore, &machines[i]);
        rc = re_node_start(host, c, &nodes[i]);
        re_config_free(c);
        if (rc != RE_OK) {
            fprintf(stderr, "start n%d: %s\n", i + 1, re_strerror(rc));
            re_host_free(host);
            return 1;
        }
    }
    printf("3 nodes started; waiting for a leader\n");
    const char *commands[] = {"10", "20", "-5", "100"};
    for (size_t k = 0; k < sizeof commands / sizeof *commands; k++) {
        for (int attempt = 0; attempt < 500; attempt++) {
            int leader = -1;
            for (int i = 0; i < 3; i++) {
                re_status_snapshot *st = NULL;
                if (re_node_get_status(nodes[i], &st) == RE_OK && re_status_role(st) == RE_ROLE_LEADER) leader = i;
                re_status_free(st);
            }
            if (leader < 0) {
                usleep(10000);
                continue;
            }
            uint8_t *out = NULL;
            size_t out_len = 0;
            rc = re_node_submit_sync(nodes[leader], (const uint8_t *)commands[k], strlen(commands[k]), 2000, &out, &out_len, NULL, NULL, 0);
            if (rc == RE_OK) {
                printf("n%d applied %-4s -> total %.*s\n", leader + 1, commands[k], (int)out_len, out ? (char *)out : "");
                free(out);
                break;
            }
            free(out);
            usleep(10000);
        }
    }
    usleep(200000);  /* followers learn the last commit with the next heartbeat */
    for (int i = 0; i < 3; i++) printf("n%d total %" PRId64 "\n", i + 1, counter_total(&machines[i]));
    for (int i = 0; i < 3; i++) re_node_free(nodes[i]);
    re_host_free(host);
    return 0;
}
