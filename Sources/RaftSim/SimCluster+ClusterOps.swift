import RaftCore
import RaftStorage

/// Conveniences for membership, leadership-transfer and snapshot scenarios. Each one only calls
/// the node's public API through `with(_:_:)`, so outputs are collected as usual.
extension SimCluster {
    // MARK: Membership

    /// Creates `id` outside the configuration and has it ask `leader` to add it. Returns the
    /// request id whose outcome the joiner reports.
    @discardableResult
    public func join(_ id: NodeID, via leader: NodeID, asVoter: Bool = true,
                     timeout: Nanos = 60_000_000_000) -> UInt64 {
        if nodes[id] == nil { addNode(id) }
        let rid = newRequestID()
        with(id) { $0.join(leader: leader, asVoter: asVoter, requestID: rid, timeout: timeout) }
        return rid
    }

    /// Leader API: add (or promote) `member`.
    @discardableResult
    public func addServer(_ member: Member, at leader: NodeID) -> UInt64 {
        let rid = newRequestID()
        with(leader) { $0.addServer(member, requestID: rid) }
        return rid
    }

    /// Leader API: remove `id`.
    @discardableResult
    public func removeServer(_ id: NodeID, at leader: NodeID) -> UInt64 {
        let rid = newRequestID()
        with(leader) { $0.removeServer(id, requestID: rid) }
        return rid
    }

    /// `id` leaves the cluster by itself.
    @discardableResult
    public func exitCluster(_ id: NodeID, timeout: Nanos = 60_000_000_000) -> UInt64 {
        let rid = newRequestID()
        with(id) { $0.exitCluster(requestID: rid, timeout: timeout) }
        return rid
    }

    /// Leader API: hand leadership to `target`.
    @discardableResult
    public func transferLeadership(at leader: NodeID, to target: NodeID) -> UInt64 {
        let rid = newRequestID()
        with(leader) { $0.transferLeadership(to: target, requestID: rid) }
        return rid
    }

    /// Takes a snapshot at `id`'s applied index.
    @discardableResult
    public func takeSnapshot(_ id: NodeID, keepTrailing: LogIndex = 0) -> SnapshotMeta? {
        var meta: SnapshotMeta?
        with(id) { meta = try? $0.takeSnapshot(keepTrailing: keepTrailing) }
        return meta
    }

    /// The leader's view of every follower (match, next, probe / replicate / snapshot, appends
    /// in flight), sorted by id; empty unless `id` is a live leader.
    public func progress(at id: NodeID) -> [FollowerProgress] {
        guard let raft = node(id).raft, node(id).isUp else { return [] }
        return raft.followers
    }

    /// The leader `leader`'s view of `follower`; nil unless `leader` leads and replicates to it.
    public func progress(of follower: NodeID, at leader: NodeID) -> FollowerProgress? {
        progress(at: leader).first { $0.id == follower }
    }

    /// The catch-up round the leader `id` is in while adding a server; nil when none is.
    public func catchUpRound(at id: NodeID) -> Int? {
        node(id).raft?.catchUpRound
    }

    /// Membership events seen by `id`.
    public func membershipEvents(_ id: NodeID) -> [RaftEvent] {
        node(id).events.filter {
            switch $0 {
            case .membershipChangeComplete, .membershipChangeAborted: return true
            default: return false
            }
        }
    }

    /// Whether `id` reported that it was told to stop.
    public func wasStopCommanded(_ id: NodeID) -> Bool {
        node(id).events.contains { if case .stopCommanded = $0 { return true } else { return false } }
    }

    // MARK: Commands

    /// Proposes `count` commands at `leader` in one go, then delivers until quiet and sends a
    /// heartbeat so followers learn the commit. Returns the request ids.
    @discardableResult
    public func proposeBatch(_ count: Int, _ command: String = "add 1", at leader: NodeID? = nil) -> [UInt64] {
        guard let target = leader ?? self.leader?.id else { return [] }
        var rids: [UInt64] = []
        with(target) { raft in
            for _ in 0..<count {
                let rid = newRequestID()
                rids.append(rid)
                raft.propose(Array(command.utf8), id: rid)
            }
        }
        deliverAll()
        heartbeat(target)
        deliverAll()
        return rids
    }

    /// Heartbeats from the current leader, delivered, `rounds` times.
    public func settle(rounds: Int = 2) {
        for _ in 0..<rounds {
            guard let l = leader else { return }
            heartbeat(l.id)
            deliverAll()
        }
    }

    // MARK: Comparing nodes

    /// True when the nodes hold the same log (same last index and the same term at every index
    /// both retain), the same commit index and, for `CounterMachine`s, the same total.
    public func inSync(_ ids: [NodeID]) -> Bool {
        guard let first = ids.first else { return true }
        let a = node(first)
        for id in ids.dropFirst() {
            let b = node(id)
            guard a.lastIndex == b.lastIndex, a.commitIndex == b.commitIndex,
                  a.counterTotal == b.counterTotal else { return false }
            let from = max(a.log.firstIndex, b.log.firstIndex)
            if from <= a.lastIndex {
                for i in from...a.lastIndex where a.log.term(at: i) != b.log.term(at: i) { return false }
            }
        }
        return true
    }

    /// One line per node of what `inSync` compares (for failing expectations).
    public func syncDescription(_ ids: [NodeID]) -> String {
        ids.map { id in
            let n = node(id)
            return "\(id): last=\(n.lastIndex)/\(n.log.lastTerm) first=\(n.log.firstIndex) commit=\(n.commitIndex)" + (n.counterTotal.map { " total=\($0)" } ?? "")
        }.joined(separator: "; ")
    }
}
