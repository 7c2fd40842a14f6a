import Foundation
import Testing
import RaftCore
import RaftStorage
@testable import RaftUV

/// Closed-loop load at one node: `batches` batches of `size` commands ("1" unless given), each resubmitted
/// from its completion while every command of it applied; counts every command's outcomes.
final class BatchLoad: @unchecked Sendable {
    private let lock = NSLock()
    private let node: HostedNode
    private let size: Int
    private let command: [UInt8]
    private(set) var applied = 0
    private(set) var otherOutcomes = 0
    private(set) var repeatedOutcomes = 0
    private var open = 0

    init(_ node: HostedNode, size: Int, command: [UInt8] = Array("1".utf8)) {
        self.node = node
        self.size = size
        self.command = command
    }

    var outstanding: Int { lock.lock(); defer { lock.unlock() }; return open }
    var appliedCount: Int { lock.lock(); defer { lock.unlock() }; return applied }

    func start(batches: Int) { for _ in 0..<batches { submit() } }

    private func submit() {
        lock.lock(); open += 1; lock.unlock()
        var seen = [Bool](repeating: false, count: size)
        var left = size
        var allApplied = true
        let posted = node.submitBatch([[UInt8]](repeating: command, count: size)) { [self] outcomes in
            lock.lock()
            for (k, o) in outcomes {
                if seen[k] { repeatedOutcomes += 1; continue }
                seen[k] = true
                left -= 1
                if case .applied = o { applied += 1 } else { otherOutcomes += 1; allApplied = false }
            }
            let done = left == 0
            if done { open -= 1 }
            lock.unlock()
            if done && allApplied { submit() }
        }
        if !posted { lock.lock(); open -= 1; lock.unlock() }
    }
}

/// Restarts every node of `c` from its data dir; then every node's state holds at least
/// `acknowledged` and, after one more command, all agree.
func expectEveryAcknowledgedCommandAfterARestart(_ c: LoopbackCluster, acknowledged: Int64, within timeout: Double) throws {
    try c.startAll()
    #expect(waitUntil(timeout) { c.machines.values.allSatisfy { $0.total >= acknowledged } })
    #expect(c.submit("0") != nil)
    #expect(waitUntil { Set(c.machines.values.map(\.total)).count == 1 })
    #expect(c.machines.values.allSatisfy { $0.total >= acknowledged })
}

/// Syncs on the node's sync thread (HostedNode+Sync): stopping with one in flight, and every
/// acknowledged command surviving a restart in each placement, with log space zeroed ahead.
@Suite(.serialized) struct SyncThreadTests {
    @Test func stopWhileASyncIsInFlight() throws {
        let c = try LoopbackCluster()
        c.syncPlacement = .offLoop
        defer { c.shutdown() }
        try c.startAll()
        #expect(c.submit("1") != nil)
        var sawInFlight = false
        for _ in 0..<10 where !sawInFlight {
            guard waitUntil(10, { c.leader != nil }), let l = c.leader, let node = c.nodes[l] else { break }
            let load = BatchLoad(node, size: 64)
            load.start(batches: 4)
            #expect(waitUntil { load.appliedCount > 0 })
            let started = Date()
            node.stop()
            #expect(Date().timeIntervalSince(started) < 2)
            sawInFlight = sawInFlight || node.stoppedWithSyncInFlight
            // Its sync thread is gone, and every command had exactly one outcome.
            #expect(node.syncThread == nil)
            #expect(waitUntil { load.outstanding == 0 })
            #expect(load.repeatedOutcomes == 0)
            // The data dir is free again and holds every entry the node had appended.
            let last = try #require(node.status()).lastIndex
            let reopened = try FileLog(directory: "\(c.dir)/\(l)")
            #expect(reopened.lastIndex == last)
            reopened.close()
            try c.start(l)
        }
        #expect(sawInFlight)
    }

    @Test(arguments: SyncPlacement.allCases)
    func acknowledgedCommandsSurviveARestart(placement: SyncPlacement) throws {
        let c = try LoopbackCluster()
        c.syncPlacement = placement
        defer { c.shutdown() }
        try c.startAll()
        #expect(c.submit("1") != nil)
        let l = try #require(c.leader)
        let load = BatchLoad(c.nodes[l]!, size: 32)
        load.start(batches: 8)
        #expect(waitUntil { load.appliedCount >= 2_000 })
        // Stopping every node ends the load; what was acknowledged is in the state after
        // restarting all of them from their data dirs.
        for id in c.ids { c.nodes[id]!.stop() }
        #expect(waitUntil { load.outstanding == 0 })
        #expect(load.repeatedOutcomes == 0)
        let acknowledged = Int64(load.appliedCount + 1)
        // Each node zeroed log space ahead on its zero thread while it ran (HostedNode+ZeroFill).
        for id in c.ids {
            #expect(((c.nodes[id]!.log as? FileLog)?.zeroFillCount ?? 0) > 0, "\(id) zeroed no space ahead")
            let stats = c.nodes[id]!.syncStats
            #expect(stats.zeroFills >= 1 && stats.zeroFillBytes >= stats.zeroFills * 4096
                    && stats.zeroFillBytes <= stats.zeroFills << 20)
            #expect(c.nodes[id]!.zeroFillThread == nil)
        }
        try expectEveryAcknowledgedCommandAfterARestart(c, acknowledged: acknowledged, within: 20)
    }

    /// Commands large enough that flushes of a megabyte and more go out as direct writes, most
    /// of them run on the sync thread while the loop frames the next (BehindWrite): every
    /// acknowledged command is in the state after restarting every node, and the threads are
    /// gone after stop.
    @Test func largeCommandsWrittenBehindTheLoopSurviveARestart() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        try c.startAll()
        #expect(c.submit("1") != nil)
        let l = try #require(c.leader)
        // 64 KiB that the counter reads as 1.
        let big = Array(String(repeating: "0", count: (64 << 10) - 1).utf8) + Array("1".utf8)
        let load = BatchLoad(c.nodes[l]!, size: 24, command: big)
        load.start(batches: 2)
        #expect(waitUntil(60) { load.appliedCount >= 480 })
        for id in c.ids { c.nodes[id]!.stop() }
        #expect(waitUntil { load.outstanding == 0 })
        #expect(load.repeatedOutcomes == 0)
        let acknowledged = Int64(load.appliedCount + 1)
        for id in c.ids {
            let log = try #require(c.nodes[id]!.log as? FileLog)
            #expect(c.nodes[id]!.syncThread == nil)
            // A file system that refuses O_DIRECT (tmpfs) writes through the page cache instead.
            if log.directWriteCount > 0 { #expect(log.behindWriteCount > 0, "\(id) wrote nothing behind the loop") }
        }
        try expectEveryAcknowledgedCommandAfterARestart(c, acknowledged: acknowledged, within: 30)
    }

    /// A leader that is the only voter syncs a small round inline (no thread wake-ups for one
    /// command at a time) and large rounds on its sync thread; what it acknowledged is in the
    /// state after a restart either way.
    @Test func aSoleVoterSyncsSmallRoundsInlineAndLargeOnesOnItsThread() throws {
        let c = try LoopbackCluster(size: 1)
        defer { c.shutdown() }
        try c.startAll()
        for _ in 0..<20 { #expect(c.submit("1") != nil) }
        let node = try #require(c.nodes["n1"])
        final class Flag: @unchecked Sendable { var value = false }
        let threadStarted = Flag()
        #expect(c.host.runOnLoop { threadStarted.value = node.syncThread != nil })
        #expect(!threadStarted.value, "one command at a time started the sole voter's sync thread")
        // Rounds of up to 64 commands of 1 KiB: past the inline limit.
        let kib = Array(String(repeating: "0", count: 1023).utf8) + Array("1".utf8)
        let load = BatchLoad(node, size: 64, command: kib)
        load.start(batches: 4)
        #expect(waitUntil { load.appliedCount >= 2_000 })
        #expect(c.host.runOnLoop { threadStarted.value = node.syncThread != nil })
        #expect(threadStarted.value, "large rounds stayed on the loop")
        node.stop()
        #expect(waitUntil { load.outstanding == 0 })
        let acknowledged = Int64(20 + load.appliedCount)
        try c.startAll()
        #expect(waitUntil(20) { (c.machines["n1"]?.total ?? 0) >= acknowledged })
    }
}
