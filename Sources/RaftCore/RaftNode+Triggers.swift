/// Triggers a driver may pull instead of waiting for a timer: the simulator runs with timers
/// off and moves the cluster step by step with these, as the seed's pausing cluster does.
extension RaftNode {
    /// Leader: send a heartbeat round now.
    public func heartbeatNow() {
        guard !stopped, role == .leader else { return }
        broadcastHeartbeat()
    }

    /// Follower or candidate: act as if the election timer expired now.
    public func electionTimeoutNow() {
        guard !stopped, role != .leader else { return }
        electionTimerFired()
    }

    /// Leader: run the check-quorum test now.
    public func checkQuorumNow() {
        guard !stopped, role == .leader else { return }
        checkQuorum()
    }
}

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
        case .leader: becomeLeader()
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

extension RaftNode: CustomDebugStringConvertible {
    /// One line of state for logs and failing tests, including the leader's view of followers.
    public var debugDescription: String {
        var s = "\(id) \(role) t=\(term) leader=\(leaderID ?? "-") commit=\(commitIndex) applied=\(appliedIndex) last=\(log.lastIndex)/\(log.lastTerm) first=\(log.firstIndex) voters=\(config.voterIDs) learners=\(config.members.filter { !$0.isVoter }.map(\.id))"
        if stopped { s += " STOPPED" }
        if role == .leader {
            for (peer, pr) in progress.entries {
                let state: String
                switch pr.state {
                case .probe: state = "probe"
                case .replicate: state = "replicate"
                case .snapshot(let index, _): state = "snapshot(\(index))"
                }
                s += "\n   \(peer): \(state) match=\(pr.match) next=\(pr.next) inflight=\(pr.inflight.count) probeSent=\(pr.probeSent)"
            }
            if let a = addition { s += "\n   adding \(a.request.member.id) round \(a.round)" }
            if let t = transfer { s += "\n   transferring to \(t.target)" }
        }
        return s
    }
}
