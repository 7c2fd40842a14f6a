/// Membership changes, one server at a time (Raft thesis §4.1–4.2): add (with catch-up rounds),
/// remove, promote a learner, and the join / exit requests a node sends to its leader.
extension RaftNode {
    /// Who asked for a change, so the answer reaches them.
    struct ChangeRequest {
        var op: MembershipOp
        var member: Member
        var requestID: UInt64?
        var requester: NodeID?
    }

    /// A server being caught up before its config entry is appended (thesis §4.2.1).
    struct Addition {
        var request: ChangeRequest
        var round: Int
        var roundTarget: LogIndex
        var roundStart: Nanos
        var deadline: Nanos
    }

    /// This node's own join or exit request, waiting for the leader.
    struct LocalChange {
        var op: MembershipOp
        var requestID: UInt64
        var deadline: Nanos
    }

    /// True while a configuration change is not yet committed, a server is being caught up, or
    /// a change waits for this new leader's first commit (see RaftNode+DeferredChange).
    public var changeInProgress: Bool {
        configIndex > commitIndex || leadership?.addition != nil || leadership?.changeAwaitingCommit != nil || leadership?.settingsRequest != nil
            || leadership?.deferredChange != nil
    }

    /// True once this node has been in a configuration (bootstrapped, or its join committed).
    public var hasBeenMember: Bool { wasMember }

    // MARK: Leader API

    /// Adds `member` (a voter, or a learner when `isVoter` is false), or promotes an existing
    /// learner to voter. The outcome arrives as a completion for `requestID`.
    public func addServer(_ member: Member, requestID: UInt64) {
        startAddition(ChangeRequest(op: config.contains(member.id) ? .promote : .add, member: member,
                                    requestID: requestID, requester: nil))
    }

    /// Removes a member. A leader removing itself leads until the change commits, hands
    /// leadership to an up-to-date voter and stops.
    public func removeServer(_ nodeID: NodeID, requestID: UInt64) {
        startRemoval(ChangeRequest(op: .remove, member: config.member(nodeID) ?? Member(id: nodeID),
                                   requestID: requestID, requester: nil))
    }

    /// Replicates new cluster settings; every node switches when the entry commits.
    public func updateSettings(_ newSettings: ClusterSettings, requestID: UInt64) {
        guard !stopped else { return complete(requestID, .stopped) }
        guard leadership != nil else { return complete(requestID, notLeaderOutcome()) }
        if let why = newSettings.validationError() { return complete(requestID, .rejected(.invalidSettings(why))) }
        guard !changeInProgress else { return complete(requestID, .rejected(.changeInProgress)) }
        if deferIfTermUncommitted(.settings(newSettings, requestID: requestID)) { return }
        var next = config
        next.settings = newSettings
        appendConfigChange(next, request: nil)
        leadership?.settingsRequest = (requestID, log.lastIndex)
    }

    // MARK: Node API

    /// A new node asks `leader` to add it. It starts with an empty log and no configuration,
    /// receives the log (or a snapshot), and becomes a member once the change commits.
    public func join(leader: NodeID, address: String = "", asVoter: Bool = true, requestID: UInt64, timeout: Nanos) {
        guard !stopped else { return complete(requestID, .stopped) }
        guard localChange == nil else { return complete(requestID, .rejected(.changeInProgress)) }
        localChange = LocalChange(op: .add, requestID: requestID, deadline: now &+ timeout)
        send(leader, .membershipChange(MembershipChange(op: .add, member: Member(id: id, address: address, isVoter: asVoter))), term: 0)
    }

    /// Leaves the cluster gracefully. The node stops once its removal commits.
    public func exitCluster(requestID: UInt64, timeout: Nanos) {
        guard !stopped else { return complete(requestID, .stopped) }
        guard localChange == nil else { return complete(requestID, .rejected(.changeInProgress)) }
        localChange = LocalChange(op: .remove, requestID: requestID, deadline: now &+ timeout)
        if role == .leader {
            // The leader is its own requester: a refusal completes this call at once instead of
            // leaving it to time out. Success completes it when the removal commits.
            let request = ChangeRequest(op: .remove, member: config.member(id) ?? Member(id: id), requestID: nil, requester: nil)
            if let why = removalRefusal(request) {
                localChange = nil
                return complete(requestID, .rejected(why))
            }
            startRemoval(request)
        } else if let l = leaderID {
            send(l, .membershipChange(MembershipChange(op: .remove, member: Member(id: id))), term: 0)
        } else {
            localChange = nil
            complete(requestID, .retry)
        }
    }

    // MARK: Messages

    func handleMembershipMessage(_ m: Message) {
        switch m.body {
        case .membershipChange(let req):
            guard role == .leader else {
                // Name the leader and its address, so the asker can go there.
                let refusal = RaftError.notLeader(leader: leaderID, address: leaderID.flatMap { config.member($0)?.address } ?? "")
                send(m.from, .membershipChangeResponse(MembershipChangeResponse(op: req.op, memberID: req.member.id, error: refusal)), term: 0)
                return
            }
            let request = ChangeRequest(op: req.op, member: req.member, requestID: nil, requester: m.from)
            switch req.op {
            case .add, .promote:
                var r = request
                if config.contains(req.member.id) {
                    if config.isVoter(req.member.id) == req.member.isVoter {
                        // Already a member as asked (a retried join): say so.
                        return answer(r, error: nil)
                    }
                    r.op = .promote
                }
                startAddition(r)
            case .remove:
                startRemoval(request)
            }
        case .membershipChangeResponse(let r):
            guard let lc = localChange, r.memberID == id, lc.op == r.op || (lc.op == .add && r.op == .promote) else { return }
            if let error = r.error {
                localChange = nil
                emit(.membershipChangeAborted(lc.op, id, reason: error.description))
                if case .notLeader(let l?, let address) = error {
                    complete(lc.requestID, .redirect(leader: l, address: address))
                } else if case .notLeader(nil, _) = error {
                    complete(lc.requestID, .retry)
                } else {
                    complete(lc.requestID, .rejected(error))
                }
            } else if lc.op == .add {
                localChange = nil
                emit(.membershipChangeComplete(.add, id))
                complete(lc.requestID, .applied([]))
            }
            // An exit completes when this node sees its removal commit.
        default:
            break
        }
    }

    // MARK: Leader internals

    func startAddition(_ request: ChangeRequest) {
        guard let l = leadership else { return answer(request, error: notLeaderError) }
        guard !changeInProgress else { return answer(request, error: .changeInProgress) }
        if request.op == .promote {
            guard config.contains(request.member.id) else { return answer(request, error: .unknownNode(request.member.id)) }
            guard !config.isVoter(request.member.id) else { return answer(request, error: .alreadyVoter(request.member.id)) }
        } else if config.contains(request.member.id) {
            return answer(request, error: .alreadyMember(request.member.id))
        }
        guard !request.member.id.isEmpty else { return answer(request, error: .emptyNodeID) }
        if deferIfTermUncommitted(.membership(request)) { return }
        let peer = request.member.id
        l.addition = Addition(request: request, round: 1, roundTarget: log.lastIndex, roundStart: now,
                              deadline: now &+ options.addServerTimeout)
        l.progress.insert(peer, next: log.lastIndex + 1)
        sendHeartbeat(to: peer)
        onFollowerProgress(peer)
    }

    func startRemoval(_ request: ChangeRequest) {
        if let why = removalRefusal(request) { return answer(request, error: why) }
        if deferIfTermUncommitted(.membership(request)) { return }
        var next = config
        next.members.removeAll { $0.id == request.member.id }
        appendConfigChange(next, request: request)
    }

    /// Why `request` cannot start now, or nil when it can.
    func removalRefusal(_ request: ChangeRequest) -> RaftError? {
        guard role == .leader else { return notLeaderError }
        guard !changeInProgress else { return .changeInProgress }
        guard config.contains(request.member.id) else { return .unknownNode(request.member.id) }
        guard config.voterIDs.contains(where: { $0 != request.member.id }) else { return .lastVoter }
        return nil
    }

    /// This follower's refusal of a leader-only request: the leader and its address if known.
    var notLeaderError: RaftError {
        let l = leaderID == id ? nil : leaderID
        return .notLeader(leader: l, address: l.flatMap { config.member($0)?.address } ?? "")
    }

    /// Leader: appends a config entry; it is in force at once and answered when it commits.
    func appendConfigChange(_ next: ClusterConfig, request: ChangeRequest?) {
        let index = log.lastIndex + 1
        // Recorded before the append: adopting the new membership asks `keepsProgress` whether
        // to keep replicating to a server the change removes.
        if let request { leadership?.changeAwaitingCommit = (request, index) }
        guard appendLocal([Entry(index: index, term: term, kind: .config, data: next.encoded())]) else { return }
        leadership?.replicationPending = true
    }

    /// Called whenever a follower's match index may have moved.
    func onFollowerProgress(_ peer: NodeID) {
        if let add = leadership?.addition, add.request.member.id == peer, let pr = leadership?.progress[peer] {
            advanceAddition(add, match: pr.match)
        }
        if transferTarget == peer { maybeSendTimeoutNow() }
    }

    private func advanceAddition(_ add: Addition, match: LogIndex) {
        guard match >= add.roundTarget else { return }
        var add = add
        // Thesis §4.2.1: a round that finishes within an election timeout means the new server
        // is close enough that adding it will not stall commits.
        if match >= log.lastIndex || now - add.roundStart <= settings.electionTimeoutMin {
            leadership?.addition = nil
            var next = config
            if add.request.op == .promote {
                if let i = next.members.firstIndex(where: { $0.id == add.request.member.id }) { next.members[i].isVoter = true }
            } else {
                next.members.append(add.request.member)
            }
            appendConfigChange(next, request: add.request)
            return
        }
        guard add.round < options.maxCatchUpRounds else {
            return abortAddition(.catchUpFailed(add.request.member.id, rounds: options.maxCatchUpRounds))
        }
        add.round += 1
        add.roundTarget = log.lastIndex
        add.roundStart = now
        leadership?.addition = add
    }

    func abortAddition(_ error: RaftError) {
        guard let l = leadership, let add = l.addition else { return }
        l.addition = nil
        if !config.contains(add.request.member.id) { l.progress.remove(add.request.member.id) }
        answerAbortedAddition(add, error)
    }

    /// Reports addition `add` aborted and answers its asker.
    func answerAbortedAddition(_ add: Addition, _ error: RaftError) {
        emit(.membershipChangeAborted(add.request.op, add.request.member.id, reason: error.description))
        answer(add.request, error: error)
    }

    /// Leader-side expiry of an addition that takes too long.
    func expireAddition() {
        if let add = leadership?.addition, now >= add.deadline {
            abortAddition(.additionTimedOut(add.request.member.id))
        }
    }

    /// This node's own join/exit request expired.
    func expireLocalChange() {
        if let lc = localChange, now >= lc.deadline {
            localChange = nil
            emit(.membershipChangeAborted(lc.op, id, reason: "timed out"))
            complete(lc.requestID, .timeout)
        }
    }

    /// The leader keeps replicating to a server it is adding, and to one it is removing until
    /// the removal commits (so that server learns of it).
    func keepsProgress(_ peer: NodeID) -> Bool {
        if leadership?.addition?.request.member.id == peer { return true }
        if let c = leadership?.changeAwaitingCommit, c.request.op == .remove, c.request.member.id == peer { return true }
        return false
    }

    /// Answers whoever asked: this node's caller (a leader-only request on a follower is a
    /// redirect, as for commands) or a remote requester (told the error, the leader named).
    func answer(_ request: ChangeRequest, error: RaftError?) {
        if let rid = request.requestID {
            switch error {
            case nil: complete(rid, .applied([]))
            case .notLeader?: complete(rid, notLeaderOutcome())
            case let e?: complete(rid, .rejected(e))
            }
        }
        if let to = request.requester, to != id {
            send(to, .membershipChangeResponse(MembershipChangeResponse(op: request.op, memberID: request.member.id, error: error)), term: 0)
        }
    }

    /// A config entry committed (on any node).
    func onConfigCommitted(index: LogIndex, config committed: ClusterConfig) {
        if let sr = leadership?.settingsRequest, sr.index == index {
            leadership?.settingsRequest = nil
            complete(sr.requestID, .applied([]))
        }
        var reported = false
        if role == .leader, let c = leadership?.changeAwaitingCommit, c.index == index {
            leadership?.changeAwaitingCommit = nil
            emit(.membershipChangeComplete(c.request.op, c.request.member.id))
            reported = c.request.member.id == id
            answer(c.request, error: nil)
            if c.request.op == .remove && c.request.member.id != id {
                // Tell the removed server the commit so it can stop, then forget it.
                sendHeartbeat(to: c.request.member.id)
                leadership?.progress.remove(c.request.member.id)
            }
        }
        // A node asking to join is not a member yet: a committed removal it replays while
        // catching up is history (an earlier server under the same name), not its own removal.
        if wasMember && !committed.contains(id) && !config.contains(id) && localChange?.op != .add {
            removedFromCluster(alreadyReported: reported)
        }
    }

    /// Whether this node is in its base configuration or in any config entry of its log.
    func appearsInKnownConfig() -> Bool {
        if baseConfig.contains(id) { return true }
        var below = log.lastIndex
        while let ci = log.lastConfigIndex(atOrBefore: below) {
            if let e = try? log.entry(at: ci), let c = try? ClusterConfig(decoding: e.data), c.contains(id) { return true }
            guard ci > 0 else { break }
            below = ci - 1
        }
        return false
    }

    /// `alreadyReported`: a leader that removed itself has just reported the change complete.
    private func removedFromCluster(alreadyReported: Bool) {
        if role == .leader {
            // Hand over at once instead of leaving the rest to wait out an election timeout.
            if let best = config.voterIDs.filter({ $0 != id }).max(by: { leadership?.progress.match(of: $0) ?? 0 < leadership?.progress.match(of: $1) ?? 0 }),
               let pr = leadership?.progress[best], pr.match == log.lastIndex {
                send(best, .timeoutNow(TimeoutNow(lastIndex: log.lastIndex, lastTerm: log.lastTerm)))
            }
        }
        if let lc = localChange, lc.op == .remove {
            localChange = nil
            complete(lc.requestID, .applied([]))
        }
        if !alreadyReported { emit(.membershipChangeComplete(.remove, id)) }
        emit(.stopCommanded(reason: .removed))
        stop()
    }
}
