import RaftCore

/// Randomized fault testing: for one seed, runs a cluster through random message delivery
/// order, loss, duplication, crashes, restarts, partitions, proposals and cluster operations,
/// checking the safety properties after every step. The same seed replays the same run.
public struct FaultRunner {
    public struct Options: Sendable {
        public var nodeCount = 3
        public var steps = 400
        /// Also change membership, transfer leadership and take snapshots.
        public var clusterOperations = true
        /// After the faults: heal, restart everything and require a leader that commits a
        /// final command on every node (liveness once the network behaves).
        public var checkRecovery = true
        public init() {}
    }

    public struct Report: Sendable {
        public var seed: UInt64
        public var violations: [String]
        public var committed: LogIndex
        public var leadersElected: Int
        public var actions: [String: Int]
        public var ok: Bool { violations.isEmpty }
    }

    public let seed: UInt64
    public let options: Options

    public init(seed: UInt64, options: Options = Options()) {
        self.seed = seed
        self.options = options
    }

    public func run() -> Report {
        var rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 7)
        var simOptions = SimCluster.Options(nodeCount: options.nodeCount, seed: seed, preVote: rng.next() % 2 == 0)
        simOptions.settings.maxEntriesPerMessage = UInt32(1 + rng.next() % 5)
        simOptions.settings.maxInflight = UInt32(1 + rng.next() % 4)
        simOptions.snapshotChunkSize = 3
        // Half the seeds apply through the batch path, as C and Python hosts do.
        simOptions.batchApply = rng.next() % 2 == 0
        let c = SimCluster(simOptions)
        c.enableTimers()
        let checker = SafetyChecker()
        checker.attach(to: c)
        var actions: [String: Int] = [:]
        var proposals = 0
        var spares = 0

        func note(_ a: String) { actions[a, default: 0] += 1 }

        for _ in 0..<options.steps {
            let roll = rng.next() % 1000
            switch roll {
            case 0..<480:
                note("deliver")
                deliverRandom(c, &rng)
            case 480..<700:
                note("advance")
                c.advance(by: 1_000_000 + rng.next() % 40_000_000)
            case 700..<820:
                note("propose")
                proposals += 1
                let target = c.leader?.id ?? c.ids[Int(rng.next() % UInt64(c.ids.count))]
                // Now and then a command every replica refuses (the reject apply policy).
                c.propose(target, rng.next() % 16 == 0 ? "fail c\(seed)-\(proposals)" : "c\(seed)-\(proposals)")
            case 820..<850:
                note("drop")
                dropRandom(c, &rng)
            case 850..<870:
                note("duplicate")
                duplicateRandom(c, &rng)
            case 870..<890:
                note("crash")
                let up = c.ids.filter { c.node($0).isUp }
                if up.count > 1 { c.crash(up[Int(rng.next() % UInt64(up.count))]) }
            case 890..<930:
                note("restart")
                let down = c.ids.filter { c.node($0).crashed }
                if !down.isEmpty { c.restart(down[Int(rng.next() % UInt64(down.count))]) }
            case 930..<945:
                note("partition")
                var a: [NodeID] = []
                for id in c.ids where rng.next() % 2 == 0 { a.append(id) }
                c.partition([a])
            case 945..<970:
                note("heal")
                if !c.partitions.isEmpty { c.heal() }
            default:
                guard options.clusterOperations, let l = c.leader else { break }
                switch rng.next() % 5 {
                case 0:
                    note("snapshot")
                    c.with(l.id) { _ = try? $0.takeSnapshot(keepTrailing: rng.next() % 3) }
                case 1:
                    note("transfer")
                    let others = c.ids.filter { $0 != l.id && (l.raft?.config.isVoter($0) ?? false) }
                    if !others.isEmpty { c.with(l.id) { $0.transferLeadership(to: others[Int(rng.next() % UInt64(others.count))], requestID: c.newRequestID()) } }
                case 2:
                    note("remove")
                    let voters = l.raft?.config.voterIDs ?? []
                    if voters.count > 2 {
                        let victim = voters[Int(rng.next() % UInt64(voters.count))]
                        c.with(l.id) { $0.removeServer(victim, requestID: c.newRequestID()) }
                    }
                case 3:
                    note("add")
                    spares += 1
                    if spares <= 3 {
                        let nid = "sim://spare\(spares)"
                        let n = c.addNode(nid)
                        n.timersEnabled = true
                        c.with(nid) { $0.join(leader: l.id, asVoter: rng.next() % 3 != 0, requestID: c.newRequestID(), timeout: 2_000_000_000) }
                    }
                default:
                    note("promote")
                    if let learner = l.raft?.config.members.first(where: { !$0.isVoter }) {
                        c.with(l.id) { $0.addServer(Member(id: learner.id, isVoter: true), requestID: c.newRequestID()) }
                    }
                }
            }
            checker.check(c)
            if !checker.found.isEmpty { break }
        }

        var violations = checker.violations
        if violations.isEmpty && options.checkRecovery {
            if let failure = recover(c, checker: checker) { violations.append(failure + "\n" + c.stateDescription) }
            violations.append(contentsOf: checker.violations)
        }
        let committed = c.ids.compactMap { c.node($0).raft?.commitIndex }.max() ?? 0
        let leaders = Set(c.ids.flatMap { id in c.node(id).events.compactMap { e -> String? in
            if case .election(.electionWon) = e { return id } else { return nil } } }).count
        return Report(seed: seed, violations: violations, committed: committed, leadersElected: leaders, actions: actions)
    }

    /// Heals the network, restarts crashed nodes and lets timers run: a leader must emerge and
    /// a new command must reach every member.
    private func recover(_ c: SimCluster, checker: SafetyChecker) -> String? {
        c.heal()
        for id in c.ids where c.node(id).crashed { c.restart(id) }
        c.enableTimers()
        c.filter = nil
        c.releaseHeld()
        for _ in 0..<200 {
            c.run(for: 20_000_000)
            checker.check(c)
            if let l = c.leader, l.raft?.changeInProgress == false { break }
        }
        // A client retries until its command applies (redirects and retries are normal while
        // a transfer or election finishes).
        var rid: UInt64 = 0
        var applied = false
        for _ in 0..<200 where !applied {
            guard let leader = c.leader else {
                c.run(for: 20_000_000)
                continue
            }
            rid = c.propose(leader.id, "final")
            for _ in 0..<50 {
                c.run(for: 20_000_000)
                checker.check(c)
                if c.outcome(rid) != nil { break }
            }
            if case .applied = c.outcome(rid) { applied = true }
        }
        guard applied else {
            return "recovery: final command did not apply: \(String(describing: c.outcome(rid))) (seed \(seed))"
        }
        guard let l = c.leader, let members = l.raft?.config.memberIDs else { return "recovery: leader lost (seed \(seed))" }
        for _ in 0..<100 {
            c.run(for: 20_000_000)
            let target = l.raft?.commitIndex ?? 0
            if members.allSatisfy({ c.node($0).raft?.appliedIndex ?? 0 >= target }) { return nil }
        }
        let lag = members.map { "\($0)=\(c.node($0).raft?.appliedIndex ?? 0)" }.joined(separator: " ")
        return "recovery: members did not all apply up to \(l.raft?.commitIndex ?? 0): \(lag) (seed \(seed))"
    }

    private func deliverRandom(_ c: SimCluster, _ rng: inout SplitMix64) {
        for id in c.ids where !c.node(id).outbox.isEmpty { c.transmit(id) }
        let ready = c.ids.filter { c.node($0).isUp && !c.node($0).inbox.isEmpty }
        guard !ready.isEmpty else { return }
        let id = ready[Int(rng.next() % UInt64(ready.count))]
        let n = c.node(id)
        // Mostly in order, sometimes out of order.
        let pos = rng.next() % 4 == 0 ? Int(rng.next() % UInt64(n.inbox.count)) : 0
        c.handle(id, at: pos)
    }

    private func dropRandom(_ c: SimCluster, _ rng: inout SplitMix64) {
        let ready = c.ids.filter { !c.node($0).inbox.isEmpty }
        guard !ready.isEmpty else { return }
        let id = ready[Int(rng.next() % UInt64(ready.count))]
        c.dropInbox(id, at: Int(rng.next() % UInt64(c.node(id).inbox.count)))
    }

    private func duplicateRandom(_ c: SimCluster, _ rng: inout SplitMix64) {
        let ready = c.ids.filter { !c.node($0).inbox.isEmpty }
        guard !ready.isEmpty else { return }
        let id = ready[Int(rng.next() % UInt64(ready.count))]
        c.duplicateInbox(id, at: Int(rng.next() % UInt64(c.node(id).inbox.count)))
    }
}
