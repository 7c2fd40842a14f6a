import RaftCore
import RaftStorage

/// Checks Raft's safety properties (Raft paper, Figure 3) over a simulated cluster, after
/// every step. Each violation is described in words with the cluster step it was seen after;
/// the checker never stops a run itself.
public final class SafetyChecker {
    /// Election safety: at most one leader per term.
    private var leaderOfTerm: [Term: NodeID] = [:]
    /// Log matching: an (index, term) pair fixes the entry's content and the term before it.
    private var signature: [Pair: (data: Int, prevTerm: Term)] = [:]
    /// Leader completeness: every committed index, its entry's term and the term in which it was
    /// first seen committed. Only leaders of terms after the one that committed an entry must
    /// hold it (a stale leader of an older term, cut off, legally lacks it); the observer's term
    /// is never below the committing leader's, so checking leaders of later terms than it never
    /// reports a legal history.
    private var committed: [LogIndex: (term: Term, seenInTerm: Term)] = [:]
    private var checkedCommit: [NodeID: LogIndex] = [:]
    /// State machine safety: what was applied at each index.
    private var appliedAt: [LogIndex: Int] = [:]
    /// Leaders already checked for completeness, by (node, term).
    private var completenessChecked: Set<String> = []
    private var leaders: [SimNode] = []

    /// Every violation found, in order.
    public private(set) var found: [Violation] = []
    /// The violations as text: "<property>: <what> (step N)".
    public var violations: [String] { found.map(\.description) }
    /// The cluster step of the check under way.
    private var step = 0

    private struct Pair: Hashable {
        var index: LogIndex
        var term: Term
    }

    public init() {}

    /// Checks every apply on `cluster` (state machine safety), alongside the cluster's other
    /// observers. With `checkEveryStep` it also runs `check` after every step; otherwise the
    /// caller does, as often as it likes (the fault runner: once per action).
    public func attach(to cluster: SimCluster, checkEveryStep: Bool = false) {
        cluster.addApplyObserver { [weak self, unowned cluster] node, index, command in
            self?.checkApply(node: node, index: index, command: command, step: cluster.step)
        }
        if checkEveryStep {
            cluster.addStepObserver { [weak self] c in self?.check(c) }
        }
    }

    /// State machine safety: no two nodes apply different commands at one index. `step` is
    /// what a violation reports.
    public func checkApply(node: NodeID, index: LogIndex, command: [UInt8], step: Int = 0) {
        let h = command.hashValue
        if let prior = appliedAt[index], prior != h {
            found.append(Violation(property: "state machine safety",
                                   message: "state machine safety: \(node) applied a different command at index \(index)", step: step))
        }
        appliedAt[index] = h
    }

    private func report(_ property: String, _ what: String) {
        found.append(Violation(property: property, message: "\(property): \(what)", step: step))
    }

    /// Checks every property against the cluster's current state.
    public func check(_ c: SimCluster) {
        step = c.step
        leaders = c.ids.map { c.node($0) }.filter { $0.isUp && $0.role == .leader }
        for id in c.ids {
            let n = c.node(id)
            checkLogMatching(n)
            guard let raft = n.raft, !n.crashed else {
                checkedCommit[id] = 0
                continue
            }
            checkCommits(n, raft)
            if raft.role == .leader && !raft.stopped {
                if let other = leaderOfTerm[raft.term], other != id {
                    report("election safety", "\(other) and \(id) both leader in term \(raft.term)")
                }
                leaderOfTerm[raft.term] = id
                let key = "\(id)#\(raft.term)"
                if !completenessChecked.contains(key) {
                    completenessChecked.insert(key)
                    checkCompleteness(n, term: raft.term)
                }
            }
        }
    }

    private func checkLogMatching(_ n: SimNode) {
        let log = n.log
        var start = log.firstIndex
        if let tracked = log as? ChangeTrackingLog {
            guard let from = tracked.changedFrom else { return }
            tracked.clearChanges()
            start = max(from, log.firstIndex)
        }
        guard start <= log.lastIndex, let entries = try? log.entries(from: start, through: log.lastIndex, maxBytes: .max) else { return }
        var prevTerm = log.term(at: start - 1) ?? 0
        for e in entries {
            let key = Pair(index: e.index, term: e.term)
            let sig = (data: e.data.hashValue ^ Int(e.kind.rawValue), prevTerm: prevTerm)
            if let known = signature[key] {
                if known.data != sig.data || known.prevTerm != sig.prevTerm {
                    report("log matching", "\(n.id) holds a different entry at index \(e.index) term \(e.term)")
                }
            } else {
                signature[key] = sig
            }
            prevTerm = e.term
        }
    }

    private func checkCommits(_ n: SimNode, _ raft: RaftNode) {
        let from = min(checkedCommit[n.id] ?? 0, raft.commitIndex)
        guard raft.commitIndex > from else {
            checkedCommit[n.id] = raft.commitIndex
            return
        }
        var i = max(from + 1, n.log.firstIndex)
        while i <= raft.commitIndex {
            if let t = n.log.term(at: i) {
                if let known = committed[i], known.term != t {
                    report("committed entries differ", "\(n.id) committed term \(t) at index \(i), others term \(known.term)")
                }
                if committed[i] == nil {
                    committed[i] = (t, raft.term)
                    // Every leader of a term after the commit must already hold it.
                    for l in leaders where l.term > raft.term && i >= l.log.firstIndex && l.log.term(at: i) != t {
                        report("leader completeness", "leader \(l.id) of term \(l.term) lacks committed index \(i) (term \(t), first seen committed in term \(raft.term))")
                    }
                }
            }
            i += 1
        }
        checkedCommit[n.id] = raft.commitIndex
    }

    private func checkCompleteness(_ n: SimNode, term: Term) {
        for (i, c) in committed where i >= n.log.firstIndex && c.seenInTerm < term {
            if n.log.term(at: i) != c.term {
                report("leader completeness", "leader \(n.id) of term \(term) lacks committed index \(i) (term \(c.term), first seen committed in term \(c.seenInTerm))")
            }
        }
    }
}
