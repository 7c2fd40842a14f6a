/// Operator repairs on a stopped node's log, for what Raft itself cannot recover from. Both
/// run on a log no node has open, and sync before returning.
public enum LogRecovery {
    /// Clears the mark a halted apply left (apply policy `halt`). Once the state machine is
    /// fixed, the node replays its snapshot and log into it as on any restart.
    public static func clearBroken(_ log: RaftLog) throws {
        do {
            try log.setBroken(false)
            try log.sync()
        } catch { throw RaftError.storage("\(error)") }
    }

    /// The membership a node restarted on `log` would be in (its last config entry, else its
    /// snapshot's or bootstrap configuration); nil for a node that never joined one.
    public static func configuration(of log: RaftLog) throws -> ClusterConfig? {
        if let i = log.lastConfigIndex(atOrBefore: log.lastIndex) {
            let e = try log.entry(at: i)
            guard let c = try? ClusterConfig(decoding: e.data) else { throw RaftError.corruptConfigEntry(i) }
            return c
        }
        return log.snapshotMeta?.config ?? log.bootstrapConfig
    }

    /// Quorum loss: makes `id` the only voter, by appending a configuration entry that names
    /// only it (its settings kept). Restarted, the node elects itself and commits everything in
    /// its log; others are then added again (each with an empty data dir, joining).
    ///
    /// Unsafe by nature, and only for when a majority is gone for good: entries committed by
    /// the lost majority but missing here are lost, and the removed members must never run
    /// again on their old data (with a majority of the old configuration they would elect a
    /// second leader). Returns the configuration before and after.
    @discardableResult
    public static func forceSoleVoter(_ log: RaftLog, id: NodeID) throws -> (before: ClusterConfig, after: ClusterConfig) {
        guard let before = try configuration(of: log) else { throw RaftError.unknownNode(id) }
        guard let me = before.member(id) else { throw RaftError.unknownNode(id) }
        var after = before
        after.members = [Member(id: id, address: me.address, isVoter: true)]
        // The node's own term: never below the last entry's, so the log stays ordered by term.
        let term = max(log.hardState.term, log.lastTerm)
        let entry = Entry(index: log.lastIndex + 1, term: term, kind: .config, data: after.encoded())
        do {
            try log.append([entry])
            try log.sync()
        } catch { throw RaftError.storage("\(error)") }
        return (before, after)
    }
}
