import Foundation
import Testing
import RaftCore
import RaftStorage
@testable import RaftUV

/// Snapshot files written on the sync thread (HostedNode+SnapshotWrite) in a live cluster on
/// FileLog: compaction follows, a lagging follower gets the snapshot (also one whose file is
/// not written yet), and the data survives a restart.
@Suite(.serialized) struct SnapshotWriteTests {
    /// The node's FileLog, read on its loop thread.
    func onLog<T>(_ node: HostedNode, _ read: @escaping (FileLog) -> T) -> T? {
        let result: T?? = node.loop.sync { (node.log as? FileLog).map(read) }
        return result ?? nil
    }

    /// Proposes `count` "1" commands at `node` and waits for their outcomes; how many applied.
    func applyBatch(_ node: HostedNode, count: Int) -> Int {
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var left: Int
            var applied = 0
            let done = Semaphore()
            init(_ n: Int) { left = n }
        }
        let tally = Tally(count)
        let posted = node.submitBatch([[UInt8]](repeating: Array("1".utf8), count: count)) { outcomes in
            tally.lock.lock()
            tally.left -= outcomes.count
            tally.applied += outcomes.filter { if case .applied = $0.1 { return true } else { return false } }.count
            let finished = tally.left == 0
            tally.lock.unlock()
            if finished { tally.done.signal() }
        }
        guard posted, tally.done.wait(timeout: 10) else { return 0 }
        return tally.applied
    }

    @Test func snapshotsCompactReachALaggingFollowerAndSurviveARestart() throws {
        let c = try LoopbackCluster()
        // Only the snapshot writes use the sync thread, so blocking it below stalls nothing else.
        c.syncPlacement = .inline
        c.snapshotThreshold = 200
        c.snapshotTrailing = 10
        defer { c.shutdown() }
        try c.startAll()
        #expect(c.submit("1") != nil)
        let l = try #require(c.leader)
        let leader = try #require(c.nodes[l])
        let lagging = try #require(c.ids.first { $0 != l })
        c.nodes[lagging]!.stop()
        let laggingLast = try #require(c.nodes[lagging]!.status()).lastIndex

        // Snapshots are taken, written off the loop and finished: the log is compacted.
        var applied = 0
        for _ in 0..<30 { applied += applyBatch(leader, count: 50) }
        #expect(applied == 1_500)
        #expect(waitUntil { onLog(leader) { !$0.hasPendingSnapshot && $0.prefix.index > laggingLast } == true })
        let durable = try #require(onLog(leader) { $0.snapshotMeta?.index } ?? nil)
        #expect(try #require(leader.status()).counters.snapshotsTaken >= 2)
        #expect(try #require(leader.status()).firstIndex > laggingLast + 1)

        // The leader's sync thread is held: its next snapshot stays pending, file unwritten.
        let gate = Semaphore()
        var released = false
        defer { if !released { gate.signal() } }
        _ = leader.loop.sync {
            if leader.syncThread == nil { leader.syncThread = SyncThread() }
            leader.syncThread!.submit { gate.wait() }
        }
        #expect(c.submit("1") != nil)
        // The request is answered only once the log is compacted, so not while the write waits.
        let answer = Semaphore()
        let taken = ResultBox<CommandOutcome>()
        leader.takeSnapshot { outcome in
            taken.value = outcome
            answer.signal()
        }
        #expect(waitUntil { onLog(leader) { $0.hasPendingSnapshot } == true })
        let pending = try #require(onLog(leader) { $0.hasPendingSnapshot ? $0.snapshotMeta?.index : nil } ?? nil)
        #expect(pending > durable)

        // The follower is behind the leader's prefix: it gets the pending snapshot.
        try c.start(lagging)
        let follower = c.nodes[lagging]!
        #expect(waitUntil(20) { (follower.status()?.counters.snapshotsInstalled ?? 0) >= 1 })
        #expect(waitUntil { follower.status()?.firstIndex == pending + 1 })
        #expect(waitUntil { c.machines[lagging]!.total == c.machines[l]!.total })
        #expect(onLog(leader) { $0.hasPendingSnapshot } == true)
        #expect(!answer.wait(timeout: 0.2))

        // Released, the write finishes: the leader compacts past it and answers the request.
        gate.signal()
        released = true
        #expect(answer.wait(timeout: 5))
        if case .applied = taken.value {} else { Issue.record("takeSnapshot: \(String(describing: taken.value))") }
        #expect(onLog(leader) { !$0.hasPendingSnapshot && $0.snapshotMeta?.index == pending } == true)
        #expect(try #require(onLog(leader) { $0.prefix.index }) > durable)

        // Everything acknowledged is there after restarting every node from its data dir.
        let acknowledged = c.machines[l]!.total
        for id in c.ids { c.nodes[id]!.stop() }
        let reopened = try FileLog(directory: "\(c.dir)/\(l)")
        #expect(reopened.snapshotMeta?.index == pending)
        #expect(reopened.prefix.index > durable)
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(c.dir)/\(l)")
        #expect(names.filter { $0.hasPrefix("snapshot-") }.count == 1)
        reopened.close()
        try c.startAll()
        #expect(waitUntil(20) { c.machines.values.allSatisfy { $0.total >= acknowledged } })
        #expect(c.submit("0") != nil)
        #expect(waitUntil { Set(c.machines.values.map(\.total)).count == 1 })
    }
}
