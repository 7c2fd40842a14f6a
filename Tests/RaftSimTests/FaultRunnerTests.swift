import Testing
import RaftCore
import RaftSim

/// The fault runner opened up: its cluster, trace and action log, its rates, pre-vote, the
/// test's invariants and machine, seed ranges and node counts.
@Suite struct FaultRunnerTests {
    @Test func aPreparedRunShowsItsClusterAndActionLogTurnByTurn() {
        var o = FaultRunner.Options()
        o.trace = true
        let run = FaultRunner(seed: 7, options: o).prepare()
        #expect(run.cluster.ids.count == 3)
        #expect(run.actionLog.isEmpty)
        run.runTurns(50)
        #expect(run.turns == 50)
        #expect(run.actionLog.count == 50)
        #expect(run.actionLog.map(\.turn) == Array(0..<50))
        #expect(zip(run.actionLog, run.actionLog.dropFirst()).allSatisfy { $0.step <= $1.step })
        #expect(!run.cluster.trace.sections.isEmpty)
        let report = run.finish()
        #expect(report.ok, "\(report.violations)")
        #expect(run.turns == o.steps)
        #expect(report.actions.values.reduce(0, +) == run.actionLog.count)
    }

    @Test func theSameSeedReplaysTheSameActions() {
        let a = FaultRunner(seed: 42).prepare()
        let b = FaultRunner(seed: 42).prepare()
        let ra = a.finish(), rb = b.finish()
        #expect(a.actionLog == b.actionLog)
        #expect(ra.committed == rb.committed && ra.actions == rb.actions)
        #expect(a.cluster.stateDescription == b.cluster.stateDescription)
    }

    @Test func ratesChooseTheActions() {
        var o = FaultRunner.Options()
        o.rates = FaultRunner.Rates()
        o.rates.crash = 0
        o.rates.restart = 0
        o.rates.partition = 0
        o.rates.heal = 0
        o.rates.drop = 0
        o.rates.duplicate = 0
        o.rates.clusterOperation = 0
        // Seed 3 runs its syncs off the loop: without this its sync jobs would be drawn too.
        o.rates.syncJob = 0
        let report = FaultRunner(seed: 3, options: o).run()
        #expect(report.ok, "\(report.violations)")
        #expect(Set(report.actions.keys).isSubset(of: ["deliver", "advance", "propose"]), "\(report.actions)")
        #expect(report.actions["propose", default: 0] > 0)
    }

    /// Lossy and slow links in the fault mode: still safe, and recovery still commits.
    @Test func linkFaultsRunUnderTheFaultMode() {
        var o = FaultRunner.Options()
        o.rates.linkFault = 60
        var faults = 0
        for seed in UInt64(1)...20 {
            let r = FaultRunner(seed: seed, options: o).run()
            #expect(r.ok, "seed \(seed): \(r.violations.prefix(2))")
            faults += r.actions["linkFault", default: 0]
        }
        #expect(faults > 100)
    }

    @Test func preVoteAndBatchApplyCanBeFixed() {
        for on in [true, false] {
            var o = FaultRunner.Options()
            o.preVote = on
            o.batchApply = on
            let run = FaultRunner(seed: 11, options: o).prepare()
            #expect(run.cluster.options.settings.preVote == on)
            #expect(run.cluster.options.batchApply == on)
        }
    }

    @Test func aBrokenInvariantFailsTheSeedWithItsStep() {
        var o = FaultRunner.Options()
        o.invariants = [FaultRunner.Invariant("at most 2 committed") { c in
            let top = c.ids.compactMap { c.node($0).raft?.commitIndex }.max() ?? 0
            return top <= 2 ? nil : "commit index \(top)"
        }]
        // Inline syncs: the seed's own choice (off the loop) commits nothing past 2 in its turns.
        o.syncPlacement = .inline
        let run = FaultRunner(seed: 5, options: o).prepare()
        let report = run.finish()
        #expect(!report.ok)
        let v = run.violations.first
        #expect(v?.property == "at most 2 committed")
        #expect(v.map { $0.step > 0 && $0.step <= run.cluster.step } == true)
        #expect(report.violations.first?.hasPrefix("at most 2 committed: commit index ") == true, "\(report.violations)")
        // The run stopped at that turn.
        #expect(run.turns < o.steps)
    }

    @Test func aSweepRunsARangeOverNodeCountsAndStopsAtTheFirstFailure() {
        let clean = FaultRunner.sweep(1...6, nodeCounts: [3, 5])
        #expect(clean.seedsRun == 6)
        #expect(clean.bySize == [3: 3, 5: 3])
        #expect(clean.failures.isEmpty)
        #expect(FaultRunner.nodeCount(for: 5, among: [3, 5]) == 5)

        var o = FaultRunner.Options()
        o.invariants = [FaultRunner.Invariant("nothing commits") { c in
            (c.ids.compactMap { c.node($0).raft?.commitIndex }.max() ?? 0) <= 1 ? nil : "a commit"
        }]
        let failing = FaultRunner.sweep(10...20, nodeCounts: [3], options: o, stopAtFirstFailure: true)
        #expect(failing.firstFailingSeed != nil)
        #expect(failing.failures.count == 1)
        #expect(failing.seedsRun == Int(failing.firstFailingSeed! - 9))
    }

    /// The test's own machine and commands under the fault mode; its invariant: every live
    /// node's store matches what its history says it applied.
    @Test func aUserMachineRunsUnderFaults() {
        var o = FaultRunner.Options()
        o.makeMachine = { _ in TinyKV() }
        o.makeCommand = { n in "set k\(n % 4) \(n)" }
        o.invariants = [FaultRunner.Invariant("store matches history") { c in
            for id in c.ids {
                let n = c.node(id)
                guard n.isUp, let kv = n.machine(as: TinyKV.self) else { continue }
                var expected: [String: String] = [:]
                var restored = false
                for r in n.history.records(lifetime: n.lifetime) {
                    if r.kind == .snapshotRestore {
                        restored = true
                        expected = [:]
                    }
                    if let cmd = r.command {
                        let w = String(decoding: cmd, as: UTF8.self).split(separator: " ")
                        expected[String(w[1])] = String(w[2])
                    }
                }
                // After a restore the state came from elsewhere: only check what was set since.
                if restored {
                    if expected.contains(where: { kv.values[$0.key] != $0.value }) { return "\(id) diverged after restore" }
                } else if kv.values != expected {
                    return "\(id) holds \(kv.values), history says \(expected)"
                }
            }
            return nil
        }]
        for seed in UInt64(1)...8 {
            let r = FaultRunner(seed: seed, options: o).run()
            #expect(r.ok, "seed \(seed): \(r.violations.prefix(2))")
        }
    }
}
