/// Hooks for tests only: they break Raft's rules on purpose (the seed's sections 5 and 6 force
/// a node into candidacy and then push its term back down). Never call them in production.
extension RaftNode {
    /// Forces a role: `.candidate` starts a campaign, `.follower` steps down, `.leader` takes
    /// leadership of the current term without an election.
    public func testingForceRole(_ r: Role) {
        guard !stopped else { return }
        switch r {
        case .candidate: campaign()
        case .follower: becomeFollower(term: term, leader: nil)
        case .leader:
            // Already leading its term: nothing to take.
            if role != .leader { becomeLeader() }
        }
    }

    /// Overwrites the current term (and clears the vote), persisting it.
    public func testingForceTerm(_ t: Term) {
        term = t
        votedFor = nil
        _ = saveHardState()
    }

    /// Discards outputs not yet taken (the seed test "clears the node's queues").
    public func testingDiscardReady() {
        ready = Ready()
    }
}
