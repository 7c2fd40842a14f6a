extension RaftNode: CustomDebugStringConvertible {
    /// One line of state for logs and failing tests, including the leader's view of followers.
    public var debugDescription: String {
        var s = "\(id) \(role) t=\(term) leader=\(leaderID ?? "-") commit=\(commitIndex) applied=\(appliedIndex) last=\(log.lastIndex)/\(log.lastTerm) first=\(log.firstIndex) voters=\(config.voterIDs) learners=\(config.members.filter { !$0.isVoter }.map(\.id))"
        if stopped { s += " STOPPED" }
        if let l = leadership {
            for (peer, pr) in l.progress.entries {
                let state: String
                switch pr.state {
                case .probe: state = "probe"
                case .replicate: state = "replicate"
                case .snapshot(let index, _): state = "snapshot(\(index))"
                }
                s += "\n   \(peer): \(state) match=\(pr.match) next=\(pr.next) inflight=\(pr.inflight.count) probeSent=\(pr.probeSent)"
            }
            if let a = l.addition { s += "\n   adding \(a.request.member.id) round \(a.round)" }
            if let t = l.transfer { s += "\n   transferring to \(t.target)" }
        }
        return s
    }
}
