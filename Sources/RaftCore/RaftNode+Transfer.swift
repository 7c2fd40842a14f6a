/// Leadership transfer (thesis §3.10): catch the target up, stop taking commands, and tell it
/// to campaign at once with an authorized vote that followers grant despite a live leader.
extension RaftNode {
    struct Transfer {
        var target: NodeID
        var requestID: UInt64?
        var deadline: Nanos
        var timeoutNowSent = false
    }

    var transferTarget: NodeID? { leadership?.transfer?.target }

    public func transferLeadership(to target: NodeID, requestID: UInt64) {
        guard !stopped else { return complete(requestID, .stopped) }
        guard let l = leadership else { return complete(requestID, notLeaderOutcome()) }
        guard l.transfer == nil else { return complete(requestID, .rejected(.transferInProgress)) }
        guard target != id else { return complete(requestID, .rejected(.alreadyLeader)) }
        guard config.isVoter(target), l.progress.contains(target) else {
            return complete(requestID, .rejected(.unknownNode(target)))
        }
        // One election timeout to catch up and win, as the thesis suggests.
        l.transfer = Transfer(target: target, requestID: requestID, deadline: now &+ settings.electionTimeoutMax)
        maybeSendTimeoutNow()
        if leadership?.transfer?.timeoutNowSent == false { sendAppends(to: target) }
    }

    func maybeSendTimeoutNow() {
        guard let l = leadership, var t = l.transfer, !t.timeoutNowSent, let pr = l.progress[t.target],
              pr.match == log.lastIndex else { return }
        t.timeoutNowSent = true
        l.transfer = t
        send(t.target, .timeoutNow(TimeoutNow(lastIndex: log.lastIndex, lastTerm: log.lastTerm)))
    }

    func handleTimeoutNow(from: NodeID, _ t: TimeoutNow) {
        // Only from our leader, and only when we hold everything it had.
        guard role != .leader, from == leaderID || leaderID == nil,
              log.lastIndex == t.lastIndex, log.lastTerm == t.lastTerm, mayCampaign else { return }
        // An authorized campaign: voters grant it although their leader is alive. With pre-vote
        // on, the pre-vote round keeps the leader's term; the old leader sends the target
        // nothing more once TimeoutNow is out (`pausedForTransfer`), so no heartbeat of that
        // term sends the target back to following mid-round.
        campaign(authorized: true)
    }

    /// Ends a transfer: success when leadership passed on, otherwise the old leader resumes.
    func finishTransfer(succeeded: Bool, error: RaftError) {
        guard let l = leadership, let t = l.transfer else { return }
        l.transfer = nil
        answerTransfer(t, succeeded: succeeded, error: error)
    }

    /// Answers whoever asked for transfer `t`, which has ended.
    func answerTransfer(_ t: Transfer, succeeded: Bool, error: RaftError) {
        if let rid = t.requestID { complete(rid, succeeded ? .applied([]) : .rejected(error)) }
    }

    func expireTransfer() {
        if let t = leadership?.transfer, now >= t.deadline {
            finishTransfer(succeeded: false, error: .transferTimedOut(t.target))
            // Resume replicating to the target, which the transfer had paused.
            if role == .leader { sendHeartbeat(to: t.target) }
        }
    }

    /// After TimeoutNow the leader sends the target nothing: it has handed over.
    func pausedForTransfer(_ peer: NodeID) -> Bool {
        guard let t = leadership?.transfer else { return false }
        return t.timeoutNowSent && t.target == peer
    }

    func abortTransfer(_ error: RaftError) {
        finishTransfer(succeeded: false, error: error)
    }
}
