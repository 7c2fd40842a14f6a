import Foundation
import Glibc
import Testing
import RaftCore
import RaftSim
import RaftStorage

/// The fault mode with storage faults: every node on a real FileLog over a simulated disk,
/// crashes that are power losses (unsynced writes lost, torn or reordered), disks that fill
/// up (the node stops on ENOSPC; restarted once space is freed), file calls failing with EIO
/// (the node stops; restarted later), plus every fault of the plain
/// mode. The safety checker's properties hold (no committed entry lost or changed, so nothing
/// acknowledged is lost), every log reopens after a power loss or a full disk, and the cluster
/// recovers. Environment: RAFT_STORAGE_FAULT_SEEDS (default 150), RAFT_STORAGE_FAULT_SEED_START
/// (default 1), RAFT_STORAGE_FAULT_SEED (replay one); node counts cycle 3, 5, 7;
/// RAFT_FAULT_SYNC_PLACEMENT (inline, leader or always; default: each seed chooses).
@Suite struct StorageFaultTests {
    static var env: [String: String] { ProcessInfo.processInfo.environment }

    static var seeds: ClosedRange<UInt64> {
        if let one = env["RAFT_STORAGE_FAULT_SEED"].flatMap(UInt64.init) { return one...one }
        let start = env["RAFT_STORAGE_FAULT_SEED_START"].flatMap(UInt64.init) ?? 1
        let count = UInt64(max(1, env["RAFT_STORAGE_FAULT_SEEDS"].flatMap(Int.init) ?? 150))
        return start...(start + count - 1)
    }

    @Test func safetyHoldsUnderPowerLossAndFullDisks() {
        var options = FaultRunner.Options()
        options.storageFaults = true
        options.syncPlacement = FaultTests.syncPlacement
        let started = Date()
        let sweep = FaultRunner.sweep(Self.seeds, nodeCounts: [3, 5, 7], options: options)
        let seconds = Date().timeIntervalSince(started)
        var actions: [String: Int] = [:]
        for seed in Self.seeds.prefix(20) {
            var o = options
            o.nodeCount = FaultRunner.nodeCount(for: seed, among: [3, 5, 7])
            for (k, v) in FaultRunner(seed: seed, options: o).run().actions { actions[k, default: 0] += v }
        }
        let failures = sweep.failures.map { "seed \($0.seed) (\($0.nodeCount) nodes): " + $0.violations.prefix(3).joined(separator: "; ") }
        print("storage fault mode: \(sweep.seedsRun) seeds in \(String(format: "%.1f", seconds)) s, " +
              "\(String(format: "%.0f", Double(sweep.seedsRun) / max(seconds, 0.001))) seeds/s, \(failures.count) failing; " +
              "first 20 seeds: \(actions["powerLoss"] ?? 0) power losses, \(actions["powerLossAll"] ?? 0) of all nodes at once, " +
              "\(actions["diskFull"] ?? 0) full disks, \(actions["diskError"] ?? 0) EIOs, " +
              "\(actions["restart"] ?? 0) restarts")
        if !failures.isEmpty {
            print("storage-fault failures (replay with RAFT_STORAGE_FAULT_SEED=<seed>):\n" + failures.prefix(20).joined(separator: "\n"))
        }
        #expect(failures.isEmpty, "\(failures.count) failing seeds; first: \(failures.first ?? "")")
        #expect((actions["powerLoss"] ?? 0) > 0 && (actions["diskFull"] ?? 0) > 0)
        #expect(sweep.committed > LogIndex(sweep.seedsRun))
    }
}

/// A leader whose snapshot write fails stops, as for every failed write of its log (the
/// storage fault mode found it leading on with a log that refused every write).
@Suite struct SnapshotWriteFailureTests {
    @Test func aFailedSnapshotWriteStopsTheNodeAndSaysWhy() throws {
        var disks: [NodeID: SimDisk] = [:]
        let c = SimCluster.elected { o in
            o.makeLog = { id in
                let d = disks[id] ?? { let d = SimDisk(); d.makeDurableDirectory("/raft"); disks[id] = d; return d }()
                return try FileLog(directory: "/raft/\(id.count)-\(id.hashValue & 0xFFFF)", fileSystem: d)
            }
        }
        for i in 1...5 { #expect(c.runCommand("add \(i)") != nil) }
        let leader = try #require(c.leader)
        disks[leader.id]!.fault = { call, path, _ in call == .write && path.contains("snapshot") ? EIO : nil }
        var thrown: Error?
        c.with(leader.id) { raft in
            do { _ = try raft.takeSnapshot() } catch { thrown = error }
        }
        #expect(thrown != nil)
        #expect(!leader.isUp)
        #expect(leader.events.contains { if case .stopCommanded(reason: .storageFailed(let why)) = $0 { return why.contains("Input/output error") } else { return false } })
        // The others elect a new leader and go on.
        c.enableTimers()
        c.run(for: 2_000_000_000)
        #expect(c.leader != nil && c.leader?.id != leader.id)
    }
}
