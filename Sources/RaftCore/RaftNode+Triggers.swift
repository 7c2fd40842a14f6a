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
