import RaftCore
import RaftUV

/// What the client side of the node counts, for INFO and the metrics endpoint.
struct ClientCounts {
    var connected = 0
    var connectionsReceived = 0
    var commandsProcessed = 0
    var errorReplies = 0
}

/// The node's metrics in Prometheus text: its Raft state, the leader's view of each follower,
/// the core's counters, log sync latency, peer transport and clients.
enum NodeMetrics {
    static func render(node: HostedNode, version: String, clients: ClientCounts, keys: Int, expiringKeys: Int) -> String {
        var p = PrometheusText()
        p.family("raftengine_info", .gauge, "Constant 1, labelled with the node id and version.")
        p.sample("raftengine_info", [("id", node.id), ("version", version)], 1)
        guard let s = node.status() else { return p.text }
        p.family("raftengine_role", .gauge, "1 for the role the node is in, 0 for the others.")
        for role in ["follower", "candidate", "leader", "stopped"] {
            let current = s.stopped ? "stopped" : s.role.description.lowercased()
            p.sample("raftengine_role", [("role", role)], current == role ? 1 : 0)
        }
        p.single("raftengine_term", .gauge, "Current term.", Int(s.term))
        p.single("raftengine_commit_index", .gauge, "Highest log index known committed.", Int(s.commitIndex))
        p.single("raftengine_applied_index", .gauge, "Highest log index applied to the state machine.", Int(s.appliedIndex))
        p.single("raftengine_last_index", .gauge, "Last index in the local log.", Int(s.lastIndex))
        p.single("raftengine_first_index", .gauge, "First index still in the local log (after the snapshot).",
                 Int(s.firstIndex))
        p.single("raftengine_voters", .gauge, "Voters in the configuration in force.", s.config.voterIDs.count)
        p.single("raftengine_learners", .gauge, "Learners in the configuration in force.",
                 s.config.members.count - s.config.voterIDs.count)

        let (now, followers) = node.followerProgress()
        p.family("raftengine_follower_match_index", .gauge, "Leader only: highest index known on each follower.")
        for f in followers { p.sample("raftengine_follower_match_index", [("follower", f.id)], Int(f.match)) }
        p.family("raftengine_follower_lag_entries", .gauge, "Leader only: entries each follower lacks.")
        for f in followers {
            p.sample("raftengine_follower_lag_entries", [("follower", f.id)], Int(s.lastIndex - min(s.lastIndex, f.match)))
        }
        p.family("raftengine_follower_last_contact_seconds", .gauge,
                 "Leader only: seconds since each follower last answered (-1: never).")
        for f in followers {
            let age = f.lastContact.map { Double(now &- $0) / 1e9 } ?? -1
            p.sample("raftengine_follower_last_contact_seconds", [("follower", f.id)], age)
        }

        let c = s.counters
        p.single("raftengine_proposals_total", .counter, "Commands this node appended as leader.", c.proposals)
        p.single("raftengine_proposals_refused_total", .counter,
                 "Commands refused before the log (not leader, transfer, too large, stopped).", c.refusedProposals)
        p.single("raftengine_elections_started_total", .counter, "Elections this node started.", c.electionsStarted)
        p.single("raftengine_leader_changes_total", .counter, "Changes of the known leader.", c.leaderChanges)
        p.single("raftengine_snapshots_taken_total", .counter, "Snapshots taken.", c.snapshotsTaken)
        p.single("raftengine_snapshots_installed_total", .counter, "Snapshots installed from a leader.",
                 c.snapshotsInstalled)
        p.single("raftengine_apply_failures_total", .counter, "Entries whose apply failed.", c.applyFailures)
        p.single("raftengine_errors_total", .counter, "Error events (storage failures and the like).", c.errors)

        let sync = node.syncStats
        p.family("raftengine_log_sync_duration_seconds", .histogram, "Time each log sync (fsync) took.")
        for (bound, n) in zip(SyncStats.bucketBoundsMicros, sync.cumulative) {
            p.sample("raftengine_log_sync_duration_seconds_bucket", [("le", PrometheusText.format(Double(bound) / 1e6))], n)
        }
        p.sample("raftengine_log_sync_duration_seconds_bucket", [("le", "+Inf")], sync.count)
        p.sample("raftengine_log_sync_duration_seconds_sum", [], Double(sync.totalMicros) / 1e6)
        p.sample("raftengine_log_sync_duration_seconds_count", [], sync.count)
        p.single("raftengine_log_sync_failures_total", .counter, "Log syncs that failed.", sync.failures)
        p.single("raftengine_log_zero_fills_total", .counter,
                 "Stretches of log space written with zeros ahead of the records.", sync.zeroFills)
        p.single("raftengine_log_zero_fill_bytes_total", .counter,
                 "Bytes of log space written with zeros ahead of the records.", sync.zeroFillBytes)

        let conns = node.connectionCounts()
        p.family("raftengine_peer_connections", .gauge, "Open peer connections.")
        p.sample("raftengine_peer_connections", [("direction", "inbound")], conns.inbound)
        p.sample("raftengine_peer_connections", [("direction", "outbound")], conns.outbound)
        let t = node.transportStats
        p.single("raftengine_frames_received_total", .counter, "Frames received from peers.", t.framesReceived)
        p.single("raftengine_frames_sent_total", .counter, "Frames sent to peers.", t.framesSent)
        p.family("raftengine_frames_rejected_total", .counter, "Frames or connections refused, by reason.")
        for (reason, n) in [("malformed", t.malformed), ("oversized", t.oversized), ("unknown_sender", t.unknownSender),
                            ("spoofed_sender", t.spoofedSender), ("auth_failed", t.authFailed),
                            ("wrong_cluster", t.wrongCluster)] {
            p.sample("raftengine_frames_rejected_total", [("reason", reason)], n)
        }
        p.single("raftengine_peer_connect_failures_total", .counter, "Failed connects to peers.", t.connectsFailed)
        p.single("raftengine_frames_dropped_total", .counter, "Frames dropped while a peer stayed unreachable.",
                 t.droppedWhileDisconnected)

        p.single("raftengine_client_connections", .gauge, "Open client connections.", clients.connected)
        p.single("raftengine_client_connections_total", .counter, "Client connections accepted.",
                 clients.connectionsReceived)
        p.single("raftengine_client_commands_total", .counter, "Client commands processed.", clients.commandsProcessed)
        p.single("raftengine_client_error_replies_total", .counter, "Error replies sent to clients.", clients.errorReplies)
        p.single("raftengine_keys", .gauge, "Keys in the store.", keys)
        p.single("raftengine_keys_expiring", .gauge, "Keys with a time to live.", expiringKeys)
        return p.text
    }
}
