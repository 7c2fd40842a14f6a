import Testing
import RaftCore
import RaftSim

/// Several observers, filters and invariants at once, each removable; violations carry the
/// step after which they were seen.
@Suite struct SimHooksTests {
    @Test func severalApplyObserversEachSeeEveryApply() {
        let c = SimCluster.elected()
        var a: [LogIndex] = []
        var b: [NodeID] = []
        var legacy = 0
        c.onApply = { _, _, _ in legacy += 1 }
        c.addApplyObserver { _, index, _ in a.append(index) }
        let tb = c.addApplyObserver { node, _, _ in b.append(node) }
        c.runCommand("add 1")
        #expect(a == [2, 2, 2])
        #expect(b.sorted() == c.ids)
        #expect(legacy == 3)
        c.removeHook(tb)
        c.runCommand("add 1")
        #expect(a.count == 6)
        #expect(b.count == 3)
    }

    @Test func stepObserversCountTheSameStepsAsTheCluster() {
        let c = SimCluster.elected()
        let before = c.step
        var seen: [Int] = []
        var legacy = 0
        c.afterStep = { legacy += 1 }
        c.addStepObserver { cluster in seen.append(cluster.step) }
        c.runCommand("add 1")
        #expect(!seen.isEmpty)
        #expect(seen == Array((before + 1)...c.step))
        #expect(legacy == seen.count)
    }

    @Test func filtersComposeAndTheFirstNonDeliverVerdictDecides() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        var consulted = 0
        let hold = c.addFilter { m in m.to == n2 ? .hold : .deliver }
        let drop = c.addFilter { m in
            consulted += 1
            return m.to == n2 || m.to == n3 ? .drop : .deliver
        }
        c.propose(n1, "add 1")
        c.deliverAll()
        // To N2: held by the first filter, the second never asked. To N3: dropped by the second.
        #expect(!c.held.isEmpty && c.held.allSatisfy { $0.to == n2 })
        #expect(c.node(n3).lastIndex == 1)
        #expect(consulted > 0)
        c.removeHook(hold)
        c.removeHook(drop)
        c.releaseHeld()
        c.deliverAll()
        #expect(c.held.isEmpty)
        #expect(c.node(n2).lastIndex == 2)
        c.heartbeat(n1)
        c.deliverAll()
        #expect(c.node(n3).lastIndex == 2)
    }

    @Test func anInvariantIsCheckedAfterEveryStepAndItsViolationCarriesTheStep() throws {
        let c = SimCluster.elected()
        let n1 = c.id(1)
        var checks = 0
        c.addInvariant("total below 3") { cluster in
            checks += 1
            let worst = cluster.ids.map { cluster.node($0).total }.max() ?? 0
            return worst < 3 ? nil : "a node's total reached \(worst)"
        }
        c.runCommand("add 2")
        #expect(c.invariantViolations.isEmpty)
        #expect(checks > 0)
        let start = c.step
        c.propose(n1, "add 5")
        c.deliverAll()
        let first = try #require(c.invariantViolations.first)
        #expect(first.property == "total below 3")
        #expect(first.message == "total below 3: a node's total reached 7")
        #expect(first.step > start && first.step <= c.step)
        #expect(first.description.hasSuffix("(step \(first.step))"))
    }

    @Test func theSafetyCheckerRecordsTheStepOfAViolation() {
        let c = SimCluster(SimCluster.Options(nodeCount: 3))
        let checker = SafetyChecker()
        checker.attach(to: c, checkEveryStep: true)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.partition([[n1, n2], [n3]])
        c.runCommand("add 1", at: n1)
        #expect(checker.found.isEmpty)
        c.with(n3) {
            $0.testingForceTerm(5)
            $0.testingForceRole(.leader)
        }
        let v = checker.found.first
        #expect(v?.property == "leader completeness")
        #expect(v?.step == c.step)
        #expect(checker.violations.first?.hasSuffix("(step \(c.step))") == true)
    }

    /// `checkApply` is public: a test can feed it applies from anywhere.
    @Test func checkApplyReportsDifferentCommandsAtOneIndex() {
        let checker = SafetyChecker()
        checker.checkApply(node: "a", index: 3, command: [1], step: 10)
        checker.checkApply(node: "b", index: 3, command: [1], step: 11)
        #expect(checker.found.isEmpty)
        checker.checkApply(node: "c", index: 3, command: [2], step: 12)
        #expect(checker.found == [Violation(property: "state machine safety",
                                            message: "state machine safety: c applied a different command at index 3",
                                            step: 12)])
    }

    /// Attaching the checker keeps the test's own apply observer.
    @Test func attachingTheCheckerLeavesOtherObserversInPlace() {
        let c = SimCluster.elected()
        var seen = 0
        c.onApply = { _, _, _ in seen += 1 }
        SafetyChecker().attach(to: c)
        c.runCommand("add 1")
        #expect(seen == 3)
    }
}
