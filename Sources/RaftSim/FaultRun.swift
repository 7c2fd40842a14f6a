import Glibc
import RaftCore

/// One seed of the fault mode, open to the test: the cluster (and so its trace), the safety
/// checker and the log of actions taken. `FaultRunner.prepare()` makes one; `runTurns` moves
/// it on, `finish` runs what is left, then recovery, and reports.
public final class FaultRun {
    public let seed: UInt64
    public let options: FaultRunner.Options
    /// The cluster under test: its nodes, network, `trace` (recorded when `options.trace`).
    public let cluster: SimCluster
    /// Election safety, log matching, leader completeness and state machine safety, checked
    /// after every turn.
    public let checker = SafetyChecker()
    /// Every action taken so far, in order.
    public private(set) var actionLog: [FaultAction] = []
    /// Turns taken so far (at most `options.steps`).
    public private(set) var turns = 0
    private var actions: [String: Int] = [:]
    private var rng: SplitMix64
    private var proposals = 0
    private var spares = 0
    private let table: [(weight: Int, action: FaultAction.Kind)]
    private let totalWeight: UInt64
    /// The nodes' disks, with `Options.storageFaults`.
    private let storage: SimStorageFaults?
    /// With storage faults: every proposal, to check at the end that none acknowledged was lost.
    private var proposed: [(rid: UInt64, command: String)] = []

    init(seed: UInt64, options: FaultRunner.Options) {
        self.seed = seed
        self.options = options
        var rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 7)
        // The seed's own choices are drawn even when the options fix them, so fixing one
        // leaves the rest of the run as the seed makes it.
        let seededPreVote = rng.next() % 2 == 0
        var o = SimCluster.Options(nodeCount: options.nodeCount, seed: seed, preVote: options.preVote ?? seededPreVote)
        o.settings.maxEntriesPerMessage = UInt32(1 + rng.next() % 5)
        o.settings.maxInflight = UInt32(1 + rng.next() % 4)
        o.snapshotChunkSize = 3
        // Half the seeds apply through the batch path, as C and Python hosts do.
        let seededBatch = rng.next() % 2 == 0
        o.batchApply = options.batchApply ?? seededBatch
        // Drawn apart from `rng`, so the rest of each seed's run stays as it was.
        var applyOrder = SplitMix64(seed: seed ^ 0xA991_7D3F)
        o.deferredApply = options.deferredApply ?? (applyOrder.next() % 2 == 0)
        var placement = SplitMix64(seed: seed ^ 0x5F7C_A11B_D15C_0001)
        let placements = SimCluster.SyncPlacement.allCases
        o.syncPlacement = options.syncPlacement ?? placements[Int(placement.next() % UInt64(placements.count))]
        o.makeMachine = options.makeMachine
        let storage = options.storageFaults ? SimStorageFaults() : nil
        if let storage { o.makeLog = storage.openLog }
        self.storage = storage
        self.rng = rng
        cluster = SimCluster(o)
        cluster.tracing = options.trace
        cluster.enableTimers()
        checker.attach(to: cluster)
        for inv in options.invariants { cluster.addInvariant(inv.name, inv.check) }
        table = options.rates.table(storageFaults: options.storageFaults, syncJobs: o.syncPlacement != .inline)
            .filter { $0.weight > 0 }
        totalWeight = UInt64(table.reduce(0) { $0 + $1.weight })
    }

    /// Safety violations and broken invariants so far.
    public var violations: [Violation] {
        checker.found + cluster.invariantViolations
            + (storage?.failures ?? []).map { Violation(property: "storage", message: $0, step: cluster.step) }
    }

    /// Takes up to `count` more turns; stops early at the first violation. False once the run
    /// has no turns left or found a violation.
    @discardableResult
    public func runTurns(_ count: Int = .max) -> Bool {
        var left = count
        while left > 0, turns < options.steps, checker.found.isEmpty, cluster.invariantViolations.isEmpty {
            turn()
            checker.check(cluster)
            left -= 1
        }
        return turns < options.steps && violations.isEmpty
    }

    /// Runs the remaining turns, then (when `checkRecovery`) heals everything and requires a
    /// final command everywhere; reports.
    public func finish() -> FaultRunner.Report {
        runTurns()
        var failures = violations.map(\.description)
        if failures.isEmpty && options.checkRecovery {
            if let failure = recover() { failures.append(failure + "\n" + cluster.stateDescription) }
            failures.append(contentsOf: violations.map(\.description))
            if failures.isEmpty, let storage {
                failures += storage.acknowledgedButLost(proposed, in: cluster).map { "\($0) (seed \(seed))" }
            }
        }
        let c = cluster
        let committed = c.ids.compactMap { c.node($0).raft?.commitIndex }.max() ?? 0
        let leaders = Set(c.ids.flatMap { id in c.node(id).events.compactMap { e -> String? in
            if case .election(.electionWon) = e { return id } else { return nil } } }).count
        return FaultRunner.Report(seed: seed, nodeCount: options.nodeCount, violations: failures, committed: committed,
                                  leadersElected: leaders, actions: actions)
    }

    private func note(_ kind: FaultAction.Kind, _ node: NodeID? = nil) {
        actions[kind.rawValue, default: 0] += 1
        actionLog.append(FaultAction(turn: turns, step: cluster.step, kind: kind, node: node))
    }

    private func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

    private func turn() {
        defer { turns += 1 }
        guard totalWeight > 0 else { return }
        var roll = Int(rng.next() % totalWeight)
        var kind = table[table.count - 1].action
        for (weight, action) in table {
            if roll < weight {
                kind = action
                break
            }
            roll -= weight
        }
        let c = cluster
        switch kind {
        case .deliver:
            note(.deliver, deliverRandom())
        case .advance:
            note(.advance)
            c.advance(by: 1_000_000 + rng.next() % 40_000_000)
        case .propose:
            proposals += 1
            let target = c.leader?.id ?? pick(c.ids)
            note(.propose, target)
            let command: String
            if let make = options.makeCommand {
                command = make(proposals)
            } else {
                // Now and then a command every replica refuses (the reject apply policy).
                command = rng.next() % 16 == 0 ? "fail c\(seed)-\(proposals)" : "c\(seed)-\(proposals)"
            }
            let rid = c.propose(target, command)
            if storage != nil { proposed.append((rid, command)) }
        case .drop:
            note(.drop, dropRandom())
        case .duplicate:
            note(.duplicate, duplicateRandom())
        case .crash:
            let up = c.ids.filter { c.node($0).isUp }
            if up.count > 1 {
                let victim = pick(up)
                note(.crash, victim)
                c.crash(victim)
            } else {
                note(.crash)
            }
        case .restart:
            // With storage faults, a node stopped by a full disk is restarted too (space freed).
            let down = c.ids.filter { c.node($0).crashed || (storage != nil && SimStorageFaults.stoppedByStorage(c.node($0))) }
            if !down.isEmpty {
                let id = pick(down)
                note(.restart, id)
                if let storage { storage.restart(c, id, step: c.step) } else { c.restart(id) }
            } else {
                note(.restart)
            }
        case .powerLoss:
            let up = c.ids.filter { c.node($0).isUp }
            if up.count > 1, let storage {
                let victim = pick(up)
                note(.powerLoss, victim)
                storage.powerLoss(c, victim, seed: rng.next())
            } else {
                note(.powerLoss)
            }
        case .powerLossAll:
            let up = c.ids.filter { c.node($0).isUp }
            note(.powerLossAll)
            if let storage { for id in up { storage.powerLoss(c, id, seed: rng.next()) } }
        case .diskError:
            let up = c.ids.filter { c.node($0).isUp }
            if !up.isEmpty, let storage {
                let victim = pick(up)
                note(.diskError, victim)
                storage.failOneCall(victim, within: Int(rng.next() % 20), errno: EIO)
            } else {
                note(.diskError)
            }
        case .diskFull:
            let up = c.ids.filter { c.node($0).isUp }
            if !up.isEmpty, let storage {
                let victim = pick(up)
                note(.diskFull, victim)
                storage.fill(victim, slack: Int(rng.next() % 2_048))
            } else {
                note(.diskFull)
            }
        case .partition:
            note(.partition)
            var a: [NodeID] = []
            for id in c.ids where rng.next() % 2 == 0 { a.append(id) }
            c.partition([a])
        case .heal:
            note(.heal)
            if !c.partitions.isEmpty { c.heal() }
        case .syncJob:
            syncJobAction()
        case .linkFault:
            let from = pick(c.ids), to = pick(c.ids)
            note(.linkFault, from)
            if rng.next() % 3 == 0 {
                c.setLinkFault(from: from, to: to, nil)
            } else {
                c.setLinkFault(from: from, to: to, SimCluster.LinkFault(loss: Double(rng.next() % 50) / 100,
                                                                       delay: rng.next() % 20_000_000))
            }
        default:
            clusterOperation()
        }
    }

    /// A node with sync jobs: its oldest not yet run runs, or its oldest that ran completes
    /// (a coin when both can), so power losses and messages land between the two.
    private func syncJobAction() {
        let c = cluster
        // A node stopped by a failed write still takes its jobs back, as the runtime does.
        let busy = c.ids.filter { !c.node($0).crashed && c.node($0).raft != nil && c.node($0).syncJobsInFlight > 0 }
        guard !busy.isEmpty else {
            note(.syncJob)
            return
        }
        let id = pick(busy)
        let n = c.node(id)
        let canRun = n.syncJobsRun < n.syncJobsInFlight
        let canComplete = n.syncJobsRun > 0 && n.syncJobOldestRan
        if canRun && (!canComplete || rng.next() % 2 == 0) {
            note(.syncRun, id)
            c.runSyncJob(id)
        } else {
            note(.syncComplete, id)
            c.completeSyncJob(id)
        }
    }

    private func clusterOperation() {
        let c = cluster
        guard options.clusterOperations, let l = c.leader else {
            note(.clusterOperation)
            return
        }
        switch rng.next() % 5 {
        case 0:
            note(.snapshot, l.id)
            c.with(l.id) { _ = try? $0.takeSnapshot(keepTrailing: rng.next() % 3) }
        case 1:
            note(.transfer, l.id)
            let others = c.ids.filter { $0 != l.id && (l.raft?.config.isVoter($0) ?? false) }
            if !others.isEmpty { c.with(l.id) { $0.transferLeadership(to: pick(others), requestID: c.newRequestID()) } }
        case 2:
            note(.remove, l.id)
            let voters = l.raft?.config.voterIDs ?? []
            if voters.count > 2 {
                let victim = pick(voters)
                c.with(l.id) { $0.removeServer(victim, requestID: c.newRequestID()) }
            }
        case 3:
            note(.add, l.id)
            spares += 1
            if spares <= 3 {
                let nid = "sim://spare\(spares)"
                let n = c.addNode(nid)
                n.timersEnabled = true
                c.with(nid) { $0.join(leader: l.id, asVoter: rng.next() % 3 != 0, requestID: c.newRequestID(), timeout: 2_000_000_000) }
            }
        default:
            note(.promote, l.id)
            if let learner = l.raft?.config.members.first(where: { !$0.isVoter }) {
                c.with(l.id) { $0.addServer(Member(id: learner.id, isVoter: true), requestID: c.newRequestID()) }
            }
        }
    }

    /// Heals the network, restarts crashed nodes and lets timers run: a leader must emerge and
    /// a new command must reach every member.
    private func recover() -> String? {
        let c = cluster
        c.heal()
        c.clearLinkFaults()
        // Sync jobs end first: one whose fdatasync failed stops its node now, and that node
        // is restarted below with the rest.
        c.completeAllSyncJobs()
        if let storage {
            storage.freeAllSpace()
            for id in c.ids where c.node(id).crashed || SimStorageFaults.stoppedByStorage(c.node(id)) {
                storage.restart(c, id, step: c.step)
            }
        } else {
            for id in c.ids where c.node(id).crashed { c.restart(id) }
        }
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
            rid = c.propose(leader.id, options.makeCommand?(proposals + 1) ?? "final")
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

    private func deliverRandom() -> NodeID? {
        let c = cluster
        for id in c.ids where !c.node(id).outbox.isEmpty { c.transmit(id) }
        let ready = c.ids.filter { c.node($0).isUp && !c.node($0).inbox.isEmpty }
        guard !ready.isEmpty else { return nil }
        let id = pick(ready)
        let n = c.node(id)
        // Mostly in order, sometimes out of order.
        let pos = rng.next() % 4 == 0 ? Int(rng.next() % UInt64(n.inbox.count)) : 0
        c.handle(id, at: pos)
        return id
    }

    private func dropRandom() -> NodeID? {
        let c = cluster
        let ready = c.ids.filter { !c.node($0).inbox.isEmpty }
        guard !ready.isEmpty else { return nil }
        let id = pick(ready)
        c.dropInbox(id, at: Int(rng.next() % UInt64(c.node(id).inbox.count)))
        return id
    }

    private func duplicateRandom() -> NodeID? {
        let c = cluster
        let ready = c.ids.filter { !c.node($0).inbox.isEmpty }
        guard !ready.isEmpty else { return nil }
        let id = pick(ready)
        c.duplicateInbox(id, at: Int(rng.next() % UInt64(c.node(id).inbox.count)))
        return id
    }
}
