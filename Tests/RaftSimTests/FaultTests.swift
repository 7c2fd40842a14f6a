import Foundation
import Testing
import RaftCore
import RaftSim

/// The randomized fault mode over many seeds, with cluster operations (membership changes,
/// transfers, snapshots) on. Environment:
/// - RAFT_FAULT_SEEDS: how many seeds (default 500);
/// - RAFT_FAULT_SEED_START: the first seed (default 1), so any range replays;
/// - RAFT_FAULT_NODES: node counts to cycle through, e.g. "5" or "3,5,7" (default 3,5,7);
/// - RAFT_FAULT_SEED: replay one seed (with its node count from the cycle, or RAFT_FAULT_NODES);
/// - RAFT_FAULT_SYNC_PLACEMENT: inline, leader or always for every seed (default: each seed
///   chooses; a third each way).
@Suite struct FaultTests {
    static var env: [String: String] { ProcessInfo.processInfo.environment }

    static var seeds: ClosedRange<UInt64> {
        if let one = env["RAFT_FAULT_SEED"].flatMap(UInt64.init) { return one...one }
        let start = env["RAFT_FAULT_SEED_START"].flatMap(UInt64.init) ?? 1
        let count = UInt64(max(1, env["RAFT_FAULT_SEEDS"].flatMap(Int.init) ?? 500))
        return start...(start + count - 1)
    }

    static var nodeCounts: [Int] {
        let given = (env["RAFT_FAULT_NODES"] ?? "").split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return given.isEmpty ? [3, 5, 7] : given
    }

    static var syncPlacement: SimCluster.SyncPlacement? {
        env["RAFT_FAULT_SYNC_PLACEMENT"].flatMap { SimCluster.SyncPlacement(rawValue: $0) }
    }

    @Test func safetyHoldsUnderRandomFaults() {
        let started = Date()
        var options = FaultRunner.Options()
        options.syncPlacement = Self.syncPlacement
        let sweep = FaultRunner.sweep(Self.seeds, nodeCounts: Self.nodeCounts, options: options)
        let seconds = Date().timeIntervalSince(started)
        let count = sweep.seedsRun
        let failures = sweep.failures.map { r in
            "seed \(r.seed) (\(r.nodeCount) nodes): " + r.violations.prefix(3).joined(separator: "; ")
        }
        print("fault mode: \(count) seeds \(Self.seeds.lowerBound)...\(Self.seeds.upperBound) " +
              "(\(sweep.bySize.sorted { $0.key < $1.key }.map { "\($0.value)×\($0.key) nodes" }.joined(separator: ", "))) " +
              "in \(String(format: "%.1f", seconds)) s, \(String(format: "%.0f", Double(count) / max(seconds, 0.001))) seeds/s, " +
              "\(failures.count) failing")
        if !failures.isEmpty {
            print("fault-mode failures (replay with RAFT_FAULT_SEED=<seed>):\n" + failures.prefix(20).joined(separator: "\n"))
        }
        #expect(failures.isEmpty, "\(failures.count) failing seeds; first: \(failures.first ?? "")")
        // The runs did real work, not only elections.
        #expect(sweep.committed > LogIndex(count))
    }
}
