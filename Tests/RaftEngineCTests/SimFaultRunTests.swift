import Testing
import CRaftEngineABI
import RaftCore
import RaftSim
@testable import RaftEngineC

/// The C fault mode is the Swift one: the same seed and options through re_sim_fault_run_seed
/// and through FaultRunner take the same actions, at the same steps, on the same nodes, and
/// commit as much.
@Suite struct SimFaultRunTests {
    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func theCRunIsTheSwiftRun(seed: UInt64) throws {
        var c = re_sim_fault_options()
        re_sim_fault_options_init(&c)
        c.steps = 200
        c.nodes = seed % 2 == 0 ? 5 : 3
        c.rates.crash = 60
        c.rates.link_fault = 20
        var handle: OpaquePointer?
        #expect(re_sim_fault_run_seed(seed, &c, &handle) == 0)
        let run = try #require(handle)
        defer { re_sim_fault_run_free(run) }

        var o = FaultRunner.Options()
        o.steps = 200
        o.nodeCount = Int(c.nodes)
        o.rates.crash = 60
        o.rates.linkFault = 20
        let swift = FaultRunner(seed: seed, options: o).prepare()
        let report = swift.finish()

        let ids = swift.cluster.ids
        var fromC: [String] = []
        for i in 0..<re_sim_fault_run_action_count(run) {
            var turn = 0, step: UInt64 = 0, node: Int32 = 0
            var kind: UnsafePointer<CChar>?
            #expect(re_sim_fault_run_action(run, i, &turn, &step, &kind, &node) == 0)
            let id = node == 0 ? "-" : ids[Int(node) - 1]
            fromC.append("\(turn) \(step) \(String(cString: kind!)) \(id)")
        }
        let fromSwift = swift.actionLog.map { "\($0.turn) \($0.step) \($0.kind.rawValue) \($0.node ?? "-")" }
        #expect(fromC == fromSwift)
        #expect(re_sim_fault_run_committed(run) == report.committed)
        #expect(re_sim_fault_run_violation_count(run) == report.violations.count)
        #expect(re_sim_fault_run_turns(run) == swift.turns)
    }
}
