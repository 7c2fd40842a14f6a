import Glibc
import RaftCore
import RaftStorage

/// The fault mode's storage: every node keeps a real FileLog on a `SimDisk` of its own, so a
/// crash can be a power loss (unsynced writes lost, torn or reordered) and a disk can fill up
/// (the node stops on ENOSPC, and restarts once the operator freed space).
final class SimStorageFaults {
    /// Small segments, so a run rolls segments, preallocates and compacts often.
    static let logOptions = FileLog.Options(segmentSize: 4 << 10, maxRecordSize: 64 << 10, cacheEntries: 16)

    private(set) var disks: [NodeID: SimDisk] = [:]
    /// Failures the storage caused that no node may show: a log that would not reopen.
    private(set) var failures: [String] = []
    /// How many injected failures of each disk the last restart already dealt with.
    private var ioErrorsSeen: [NodeID: Int] = [:]

    func disk(for id: NodeID) -> SimDisk {
        if let d = disks[id] { return d }
        let d = SimDisk(semantics: .strict)
        d.makeDurableDirectory("/raft")
        disks[id] = d
        return d
    }

    func openLog(_ id: NodeID) throws -> RaftLog {
        try FileLog(directory: "/raft/\(Self.directoryName(id))", options: Self.logOptions, fileSystem: disk(for: id))
    }

    private static func directoryName(_ id: NodeID) -> String {
        String(id.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// The node crashes and its machine loses power: what was not synced is lost or torn.
    func powerLoss(_ c: SimCluster, _ id: NodeID, seed: UInt64) {
        c.crash(id)
        disk(for: id).powerLoss(seed: seed)
    }

    /// The node's disk fills up `slack` bytes from now.
    func fill(_ id: NodeID, slack: Int) {
        let d = disk(for: id)
        d.capacity = d.usedBytes + slack
    }

    /// Commands a client was told applied that the recovered cluster does not hold: each must
    /// sit, at the index some node applied it at, in the final leader's log or under its
    /// snapshot — and then every member applied that index (recovery checked they caught up).
    func acknowledgedButLost(_ proposed: [(rid: UInt64, command: String)], in c: SimCluster) -> [String] {
        guard let leader = c.leader, let raft = leader.raft else { return ["no leader to check acknowledged commands against"] }
        var appliedAt: [String: LogIndex] = [:]
        for id in c.ids {
            for r in c.node(id).history.records {
                if let cmd = r.command { appliedAt[String(decoding: cmd, as: UTF8.self)] = r.index }
            }
        }
        var lost: [String] = []
        for p in proposed {
            guard case .applied? = c.outcome(p.rid) else { continue }
            guard let index = appliedAt[p.command] else {
                lost.append("acknowledged command \(p.command) was applied by no node")
                continue
            }
            if index > raft.commitIndex {
                lost.append("acknowledged command \(p.command) at index \(index) is past the leader's commit \(raft.commitIndex)")
            } else if index > leader.log.prefix.index {
                let data = (try? leader.log.entry(at: index))?.data
                if data != Array(p.command.utf8) {
                    lost.append("acknowledged command \(p.command) at index \(index): the leader holds \(data.map { String(decoding: $0, as: UTF8.self) } ?? "nothing")")
                }
            }
        }
        return lost
    }

    /// The operator frees space on every disk (before the fault mode's recovery).
    func freeAllSpace() {
        for d in disks.values { d.clearFaults() }
    }

    /// The node's `n`-th next file call fails with `errno` (once).
    func failOneCall(_ id: NodeID, within n: Int, errno code: Int32) {
        let d = disk(for: id)
        let at = d.calls + n
        d.fault = { _, _, call in call == at ? code : nil }
    }

    /// Stopped by a storage failure (not crashed, not removed): what an operator restarts
    /// after freeing space.
    static func stoppedByStorage(_ n: SimNode) -> Bool {
        guard !n.crashed, n.raft?.stopped ?? false else { return false }
        return n.events.contains { if case .stopCommanded(reason: .storageFailed) = $0 { return true } else { return false } }
    }

    /// Space freed (faults cleared), then the node restarts on its log; a log that does not
    /// reopen after a power loss or a full disk is a failure of the storage.
    func restart(_ c: SimCluster, _ id: NodeID, step: Int) {
        let d = disk(for: id)
        d.clearFaults()
        // After an I/O error the operator reboots the machine before restarting the node
        // (docs/operations.md): Linux keeps the pages a failed fsync dropped in its cache, and
        // a restarted process would read them as if they were on the disk.
        if d.injected.count > ioErrorsSeen[id, default: 0], d.injected.dropFirst(ioErrorsSeen[id, default: 0]).contains(where: { $0.errno == EIO }) {
            if !c.node(id).crashed { c.crash(id) }
            d.reboot()
        }
        ioErrorsSeen[id] = d.injected.count
        c.restart(id)
        if c.node(id).crashed {
            let why = c.node(id).events.reversed().compactMap { e -> String? in
                if case .error(let s) = e { return s } else { return nil }
            }.first ?? "unknown"
            failures.append("step \(step): \(id) could not restart on its disk: \(why)")
        }
    }
}
