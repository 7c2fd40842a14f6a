import Foundation
import Testing
import RaftCore
import RaftSim

/// The randomized fault mode over many seeds. RAFT_FAULT_SEEDS sets how many (default 500);
/// RAFT_FAULT_SEED replays one.
@Suite struct FaultTests {
    static var seeds: [UInt64] {
        let env = ProcessInfo.processInfo.environment
        if let one = env["RAFT_FAULT_SEED"].flatMap(UInt64.init) { return [one] }
        let count = env["RAFT_FAULT_SEEDS"].flatMap(Int.init) ?? 500
        return (1...UInt64(max(1, count))).map { $0 }
    }

    @Test func safetyHoldsUnderRandomFaults() {
        var failures: [String] = []
        var committed: LogIndex = 0
        for seed in Self.seeds {
            var o = FaultRunner.Options()
            o.nodeCount = seed % 3 == 0 ? 5 : 3
            let report = FaultRunner(seed: seed, options: o).run()
            committed += report.committed
            if !report.ok {
                failures.append("seed \(seed): " + report.violations.prefix(3).joined(separator: "; "))
            }
        }
        if !failures.isEmpty {
            print("fault-mode failures (replay with RAFT_FAULT_SEED=<seed>):\n" + failures.prefix(20).joined(separator: "\n"))
        }
        #expect(failures.isEmpty, "\(failures.count) failing seeds; first: \(failures.first ?? "")")
        // The runs did real work, not only elections.
        #expect(committed > LogIndex(Self.seeds.count))
    }
}
