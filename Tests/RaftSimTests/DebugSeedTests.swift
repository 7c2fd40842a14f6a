import Foundation
import Testing
import RaftCore
import RaftSim

@Suite struct DebugSeedTests {
    @Test func debugSeed() {
        guard let s = ProcessInfo.processInfo.environment["RAFT_DEBUG_SEED"].flatMap(UInt64.init) else { return }
        var o = FaultRunner.Options()
        o.nodeCount = s % 3 == 0 ? 5 : 3
        let r = FaultRunner(seed: s, options: o).run()
        print(r.violations, r.actions)
    }
}
