/// The leader's progress of every node it replicates to (voters and learners), kept in id
/// order: the order appends and heartbeats go out in, so runs replay exactly. Updates happen in
/// place (`update`), never by copying a follower's progress out and writing it back.
struct ProgressTracker {
    /// Tracked ids, sorted; `all[i]` is the progress of `ids[i]`.
    private(set) var ids: [NodeID] = []
    private var all: [Progress] = []

    init() {}

    /// Tracks `peers`, each sent entries from `next` on first.
    init(peers: some Sequence<NodeID>, next: LogIndex) {
        for p in peers { insert(p, next: next) }
    }

    var isEmpty: Bool { ids.isEmpty }
    var count: Int { ids.count }

    /// A cluster has a handful of members: a scan of short strings beats hashing them.
    private func position(of peer: NodeID) -> Int? { ids.firstIndex(of: peer) }

    func contains(_ peer: NodeID) -> Bool { position(of: peer) != nil }

    subscript(peer: NodeID) -> Progress? {
        position(of: peer).map { all[$0] }
    }

    /// The follower's match index; 0 when it is not tracked.
    func match(of peer: NodeID) -> LogIndex {
        position(of: peer).map { all[$0].match } ?? 0
    }

    /// Starts tracking `peer` (no change when it already is).
    mutating func insert(_ peer: NodeID, next: LogIndex) {
        var i = 0
        while i < ids.count && ids[i] < peer { i += 1 }
        guard i == ids.count || ids[i] != peer else { return }
        ids.insert(peer, at: i)
        all.insert(Progress(next: next), at: i)
    }

    mutating func remove(_ peer: NodeID) {
        guard let i = position(of: peer) else { return }
        ids.remove(at: i)
        all.remove(at: i)
    }

    /// Runs `body` on `peer`'s progress in place; nil (and no call) when it is not tracked.
    @discardableResult
    mutating func update<R>(_ peer: NodeID, _ body: (inout Progress) -> R) -> R? {
        guard let i = position(of: peer) else { return nil }
        return body(&all[i])
    }

    /// Every tracked progress in id order, with its id.
    var entries: Zip2Sequence<[NodeID], [Progress]> { zip(ids, all) }

    /// The lowest match index of any tracked node; nil when none is tracked.
    var minimumMatch: LogIndex? { all.lazy.map(\.match).min() }

    /// Check-quorum: whether a strict majority of `voters` was heard from since the last call
    /// (`leader` itself always counts), starting the next round with nobody heard from.
    mutating func takeRecentActivity(voters: [NodeID], leader: NodeID) -> Bool {
        let active = Quorum.majority(voters) { $0 == leader || self[$0]?.recentActive == true }
        for i in all.indices { all[i].recentActive = false }
        return active
    }
}
