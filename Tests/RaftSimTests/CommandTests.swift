import Testing
import RaftCore
import RaftStorage
import RaftSim

/// Command outcomes: applied, redirect, retry, timeout, apply errors and the three apply policies.
@Suite struct CommandTests {
    func elected(configure: (inout SimCluster.Options) -> Void = { _ in }) -> SimCluster {
        var o = SimCluster.Options()
        configure(&o)
        let c = SimCluster(o)
        c.elect(c.id(1))
        return c
    }

    @Test func followerWithoutALeaderAnswersRetry() {
        let c = SimCluster()
        let rid = c.propose(c.id(2), "add 1")
        #expect(c.outcome(rid) == .retry)
    }

    @Test func redirectNamesTheLeaderAndItsAddress() {
        var o = SimCluster.Options()
        o.nodeCount = 3
        let c = SimCluster(o)
        c.elect(c.id(2))
        let rid = c.propose(c.id(3), "add 1")
        #expect(c.outcome(rid) == .redirect(leader: c.id(2), address: ""))
    }

    @Test func uncommittedCommandTimesOut() {
        let c = elected { $0.commandTimeout = 50_000_000 }
        let n1 = c.id(1)
        c.partition([[n1], [c.id(2), c.id(3)]])
        c.node(1).timersEnabled = true
        let rid = c.propose(n1, "add 1")
        c.advance(by: 60_000_000)
        #expect(c.outcome(rid) == .timeout)
        #expect(c.node(1).total == 0)
    }

    @Test func oversizedCommandIsRejected() {
        let c = elected()
        let big = String(repeating: "x", count: (1 << 20) + 1)
        let rid = c.propose(c.id(1), big)
        #expect(c.outcome(rid) == .rejected(.commandTooLarge(size: (1 << 20) + 1, max: 1 << 20)))
        #expect(c.node(1).lastIndex == 1)
    }

    func applyFailures(_ c: SimCluster, _ n: Int) -> [RaftEvent] {
        c.node(n).events.filter { if case .applyFailed = $0 { return true } else { return false } }
    }

    /// The default policy: a command every replica refuses alike is that command's result. The
    /// proposer learns why; every replica reports it and goes on; the cluster keeps committing.
    @Test func oneBadCommandIsItsOwnResultAndTheClusterGoesOn() {
        let c = elected()
        #expect(c.node(1).raft?.settings.applyPolicy == .reject)
        c.runCommand("add 1")
        let bad = c.runCommand("fail no such key")
        #expect(bad == .applyError("no such key"))
        let index = c.node(1).commitIndex
        for n in 1...3 {
            #expect(applyFailures(c, n) == [.applyFailed(index: index, reason: "no such key", policy: .reject)])
            #expect(c.node(n).isUp)
            #expect(c.node(n).raft?.appliedIndex == index)
        }
        #expect(c.runCommand("add 2") == .applied(Array("3".utf8)))
        for n in 1...3 {
            #expect(c.node(n).total == 3)
            #expect(!c.node(n).log.isBroken)
        }
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
        // A new leader applies the same history the same way.
        c.leaderLost(c.id(2))
        c.deliverAll()
        #expect(c.node(2).role == .leader)
        #expect(c.runCommand("add 4") == .applied(Array("7".utf8)))
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
    }

    /// Under reject a follower whose machine fails (here: not deterministically) reports it and
    /// goes on; the leader's result stands.
    @Test func rejectOnAFollowerReportsAndGoesOn() {
        let c = elected()
        c.node(3).machine.failing = true
        #expect(c.runCommand("add 1") == .applied(Array("1".utf8)))
        #expect(applyFailures(c, 3) == [.applyFailed(index: 2, reason: "injected failure", policy: .reject)])
        #expect(c.node(3).raft?.appliedIndex == 2)
        c.node(3).machine.failing = false
        #expect(c.runCommand("add 1") == .applied(Array("2".utf8)))
        #expect(c.node(3).raft?.appliedIndex == 3)
        #expect(c.node(3).isUp)
    }

    @Test func retryOnAFollowerBacksOffAndResumesInOrder() {
        let c = elected { $0.settings.applyPolicy = .retry }
        c.runCommand("add 1")
        c.node(3).machine.failing = true
        #expect(c.runCommand("add 1") == .applied(Array("2".utf8)))
        #expect(c.node(2).total == 2)
        #expect(c.node(3).total == 1)
        // One second of heartbeats every 10 ms: the follower tries again with backoff (10 ms
        // doubling to 1 s), not on every heartbeat.
        c.enableTimers()
        c.run(for: 1_000_000_000)
        let attempts = c.node(3).machine.injectedFailures
        #expect(attempts >= 3 && attempts <= 10, "attempts: \(attempts)")
        let stuck = applyFailures(c, 3)
        #expect(stuck.count == attempts)
        #expect(stuck.allSatisfy { $0 == .applyFailed(index: 3, reason: "injected failure", policy: .retry) })
        #expect(c.node(3).raft?.appliedIndex == 2)
        // Once the machine works again the retry applies the entry, then what follows, in order.
        c.node(3).machine.failing = false
        #expect(c.runCommand("add 1") == .applied(Array("3".utf8)))
        c.run(for: 1_100_000_000)
        #expect(c.node(3).total == 3)
        #expect(c.node(3).machine.applied.map(\.index) == [2, 3, 4])
        #expect(c.node(3).isUp)
    }

    @Test func retryOnTheLeaderKeepsTheProposerWaitingUntilItApplies() {
        let c = elected { $0.settings.applyPolicy = .retry }
        c.runCommand("add 1")
        c.node(1).machine.failing = true
        let rid = c.propose(c.id(1), "add 1")
        c.deliverAll()
        c.heartbeat(c.id(1))
        c.deliverAll()
        #expect(c.outcome(rid) == nil)
        #expect(c.node(1).total == 1)
        #expect(applyFailures(c, 1).count == 1)
        c.node(1).machine.failing = false
        c.advance(by: 20_000_000)
        c.with(c.id(1)) { $0.tick(now: c.now) }
        #expect(c.outcome(rid) == .applied(Array("2".utf8)))
        #expect(c.node(1).total == 2)
    }

    @Test func haltBreaksTheLogAndStopsTheNode() throws {
        let c = elected { $0.settings.applyPolicy = .halt }
        c.runCommand("add 1")
        c.node(1).machine.failing = true
        guard case .applyError = c.runCommand("add 1") else {
            Issue.record("expected an apply error")
            return
        }
        #expect(c.node(1).log.isBroken)
        #expect(!c.node(1).isUp)
        #expect(applyFailures(c, 1) == [.applyFailed(index: 3, reason: "injected failure", policy: .halt)])
        #expect(c.node(1).events.contains { if case .stopCommanded = $0 { return true } else { return false } })
        // A broken log refuses to start until the host fixes it.
        #expect(throws: RaftError.logBroken) {
            _ = try RaftNode(options: NodeOptions(id: c.id(1)), log: c.node(1).log, stateMachine: CounterMachine(),
                             random: SplitMix64(seed: 1), now: 0)
        }
        try c.node(1).log.setBroken(false)
        c.restart(c.id(1))
        c.leaderLost(c.id(2))
        c.deliverAll()
        c.heartbeat(c.id(2))
        c.deliverAll()
        #expect(c.node(1).total == 2)
        #expect(c.node(2).total == 2)
    }

    @Test func commandsDuringAnElectionAskForRetry() {
        let c = elected()
        c.with(c.id(2)) { $0.testingForceRole(.candidate) }
        let rid = c.propose(c.id(2), "add 1")
        #expect(c.outcome(rid) == .retry)
    }

    @Test func stoppedNodeAnswersStopped() {
        let c = elected()
        let rid = c.propose(c.id(1), "add 1")
        c.with(c.id(1)) { $0.stop() }
        #expect(c.outcome(rid) == .stopped)
        let raft = c.node(1).raft!
        raft.propose([1], id: 77)
        #expect(raft.takeReady().completions == [Completion(id: 77, outcome: .stopped)])
    }
}

/// Cluster settings live in the log.
@Suite struct SettingsTests {
    @Test func settingsChangeCommitsAndIsInForceEverywhere() {
        let c = SimCluster()
        c.elect(c.id(1))
        var s = c.options.settings
        s.maxEntriesPerMessage = 3
        s.heartbeatPeriod = 5_000_000
        let rid = c.newRequestID()
        c.with(c.id(1)) { $0.updateSettings(s, requestID: rid) }
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(c.node(1).raft?.settings == s)
        c.heartbeat(c.id(1))
        c.deliverAll()
        for i in 2...3 {
            #expect(c.node(i).raft?.settings == s)
            #expect(c.node(i).events.contains(.settingsChanged(s)))
        }
        // In force: appends now carry at most three entries.
        var largest = 0
        c.filter = { m in
            if case .appendEntries(let ae) = m.body { largest = max(largest, ae.entries.count) }
            return .deliver
        }
        c.with(c.id(1)) { raft in for i in 0..<10 { raft.propose([UInt8(i)], id: 1000 + UInt64(i)) } }
        c.deliverAll()
        #expect(largest == 3)
    }

    @Test func settingsTakeEffectOnlyWhenCommitted() {
        let c = SimCluster()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.partition([[n1], [n2, n3]])
        var s = c.options.settings
        s.preVote = false
        c.with(n1) { $0.updateSettings(s, requestID: 5) }
        c.deliverAll()
        #expect(c.node(1).raft?.settings.preVote == true)
        #expect(c.node(1).raft?.changeInProgress == true)
        // A second change while one is uncommitted is refused.
        c.with(n1) { $0.updateSettings(s, requestID: 6) }
        #expect(c.outcome(6) == .rejected(.changeInProgress))
    }

    @Test func invalidSettingsAreRejected() {
        let c = SimCluster()
        c.elect(c.id(1))
        var s = c.options.settings
        s.electionTimeoutMax = s.electionTimeoutMin - 1
        c.with(c.id(1)) { $0.updateSettings(s, requestID: 9) }
        #expect(c.outcome(9) == .rejected(.invalidSettings("election timeout maximum is below its minimum")))
    }

    @Test func restartUsesTheLogsConfigurationNotTheInitialOne() throws {
        let log = MemoryLog()
        let first = ClusterConfig(voters: ["a", "b", "c"])
        let node = try RaftNode(options: NodeOptions(id: "a", initialConfig: first), log: log,
                                stateMachine: CounterMachine(), random: SplitMix64(seed: 1), now: 0)
        #expect(node.config == first)
        // A later start with a different initial config keeps the stored one.
        let other = ClusterConfig(voters: ["a", "x"])
        let again = try RaftNode(options: NodeOptions(id: "a", initialConfig: other), log: log,
                                 stateMachine: CounterMachine(), random: SplitMix64(seed: 1), now: 0)
        #expect(again.config == first)
    }

    @Test func sameSeedGivesTheSameRun() {
        func run() -> [String] {
            let c = SimCluster(SimCluster.Options(nodeCount: 3, seed: 42))
            c.enableTimers()
            c.run(for: 2_000_000_000)
            return c.ids.map { c.node($0).raft?.debugDescription ?? "" }
        }
        #expect(run() == run())
    }
}
