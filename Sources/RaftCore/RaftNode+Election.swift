/// Elections: pre-vote, vote, term handling, becoming leader or follower.
extension RaftNode {
    /// True while this follower has heard from a live leader within the minimum election
    /// timeout; it then refuses to help unseat that leader (thesis §9.6 / etcd's lease).
    var inLeaderLease: Bool {
        switch roleState {
        case .leader:
            return true
        case .follower(let f):
            guard let l = leaderID, l != id, let last = f.leaderContact else { return false }
            return now < last &+ settings.electionTimeoutMin
        case .candidate:
            // A candidate follows nobody.
            return false
        }
    }

    /// Handles a message whose term is above ours. Returns false when the message must be
    /// dropped without touching our term.
    func adoptHigherTerm(from m: Message) -> Bool {
        switch m.body {
        case .preVote:
            // A pre-vote's term is only proposed: it never changes ours.
            return true
        case .preVoteResponse(let r) where r.granted:
            // A granted pre-vote echoes the proposed term.
            return true
        case .requestVote(let req):
            if inLeaderLease && !req.authorized {
                // Ignore disruptive candidates while our leader is alive (etcd does the same
                // with check-quorum); the candidate will time out.
                return false
            }
            emit(.election(.newerTerm))
            becomeFollower(term: m.term, leader: nil)
            return true
        case .appendEntries, .installSnapshot:
            emit(.election(.newerTerm))
            becomeFollower(term: m.term, leader: m.from)
            return true
        default:
            emit(.election(.newerTerm))
            becomeFollower(term: m.term, leader: nil)
            return true
        }
    }

    /// Answers a message from an older term so its sender learns the current term.
    func answerStale(_ m: Message) {
        switch m.body {
        case .appendEntries, .installSnapshot:
            // The stale leader steps down when it sees our term.
            send(m.from, .appendResponse(AppendResponse(success: false, index: 0, lastIndex: log.lastIndex)))
        case .requestVote:
            // Raft §5.1: reject with our term. (The seed library granted votes to lower terms.)
            send(m.from, .requestVoteResponse(VoteResponse(granted: false)))
        case .preVote:
            send(m.from, .preVoteResponse(VoteResponse(granted: false)))
        default:
            break
        }
    }

    func becomeFollower(term newTerm: Term, leader: NodeID?) {
        let pastLeadership = leadership
        let higherTerm = newTerm > term
        if newTerm != term {
            setTerm(newTerm)
            _ = saveHardState()
        }
        become(.follower(Follower(electionDeadline: now &+ randomElectionTimeout(), leaderContact: leader != nil ? now : nil)))
        setLeader(leader)
        // After the role change, so what it fails is redirected to the new leader if known.
        if let pastLeadership { settle(pastLeadership, higherTerm: higherTerm) }
    }

    func electionTimerFired() {
        switch role {
        case .candidate:
            emit(.election(.electionTimedOut))
        case .follower:
            if leaderID != nil { emit(.election(.leaderLost)) }
        case .leader:
            return
        }
        campaign()
    }

    /// Starts a campaign: a pre-vote round first when enabled (and not authorized by a
    /// leadership transfer), then the real election.
    public func campaign(authorized: Bool = false) {
        guard !stopped else { return }
        guard mayCampaign else {
            // Learners and nodes outside the configuration never campaign.
            resetElectionTimer()
            return
        }
        if settings.preVote {
            startPreVote(authorized: authorized)
        } else {
            startElection(authorized: authorized)
        }
    }

    /// Voters campaign. So does a server whose latest, still uncommitted configuration removes
    /// it: it may hold the newest entries, and without it the others could never elect a
    /// leader (its own vote does not count; thesis §4.2.2 lets a leader outside its
    /// configuration finish the change and then step down).
    var mayCampaign: Bool {
        if config.isVoter(id) { return true }
        return wasMember && !config.contains(id) && configIndex > commitIndex && !config.voterIDs.isEmpty
    }

    func startPreVote(authorized: Bool) {
        if let l = leadership { settle(l, higherTerm: false) }
        become(.candidate(Candidate(electionDeadline: now &+ randomElectionTimeout(), preVote: true, votes: [id: true],
                                    authorized: authorized)))
        setLeader(nil)
        emit(.election(.preVoteStarted))
        let req = VoteRequest(lastIndex: log.lastIndex, lastTerm: log.lastTerm, authorized: authorized)
        for peer in otherVoters {
            send(peer, .preVote(req), term: term + 1)
        }
        tallyVotes()
    }

    func startElection(authorized: Bool) {
        if let l = leadership { settle(l, higherTerm: false) }
        // The timeout is drawn before the term's hard state is saved; if that save fails the
        // node stops, and a stopped node draws nothing more.
        become(.candidate(Candidate(electionDeadline: now &+ randomElectionTimeout(), preVote: false, votes: [id: true],
                                    authorized: authorized)))
        setLeader(nil)
        setTerm(term + 1)
        votedFor = id
        guard saveHardState() else { return }
        emit(.election(.electionStarted))
        let req = VoteRequest(lastIndex: log.lastIndex, lastTerm: log.lastTerm, authorized: authorized)
        for peer in otherVoters {
            // Our own vote and new term must be durable before anyone can count on them.
            sendAfterSync(peer, .requestVote(req))
        }
        tallyVotes()
    }

    func handlePreVote(from: NodeID, term proposed: Term, _ req: VoteRequest) {
        let candidateLog = LogPosition(index: req.lastIndex, lastTerm: req.lastTerm)
        // Candidates outside our latest configuration may still get our vote (thesis §4.1:
        // that configuration may be uncommitted and about to be replaced); the lease is what
        // keeps removed servers from disrupting a live leader.
        let grant = proposed > term
            && (req.authorized || !inLeaderLease)
            && candidateLog.isAtLeastAsUpToDate(as: log.lastPosition)
        // A granted pre-vote echoes the proposed term; a refusal carries ours.
        send(from, .preVoteResponse(VoteResponse(granted: grant)), term: grant ? proposed : term)
    }

    func handleRequestVote(from: NodeID, _ req: VoteRequest) {
        let candidateLog = LogPosition(index: req.lastIndex, lastTerm: req.lastTerm)
        let canVote = votedFor == nil || votedFor == from
        // Raft §5.4.1 up-to-date check (the seed library compared index OR term separately).
        let grant = canVote && role != .leader
            && candidateLog.isAtLeastAsUpToDate(as: log.lastPosition)
        if grant {
            votedFor = from
            guard saveHardState() else { return }
            resetElectionTimer()
        }
        // The vote is durable before the candidate can count it.
        sendAfterSync(from, .requestVoteResponse(VoteResponse(granted: grant)))
    }

    func handleVoteResponse(from: NodeID, granted: Bool, preVote: Bool, term msgTerm: Term) {
        guard case .candidate(var c) = roleState, preVote == c.preVote else { return }
        if preVote && granted && msgTerm != term + 1 { return }
        guard config.isVoter(from) else { return }
        c.votes[from] = granted
        roleState = .candidate(c)
        tallyVotes()
    }

    func tallyVotes() {
        guard case .candidate(let c) = roleState else { return }
        switch Quorum.voteResult(config.members.lazy.filter(\.isVoter), { c.votes[$0.id] }) {
        case .won:
            if c.preVote {
                emit(.election(.preVoteWon))
                startElection(authorized: c.authorized)
            } else {
                becomeLeader()
            }
        case .lost:
            emit(.election(c.preVote ? .preVoteLost : .electionLost))
            // Wait out a fresh randomized timeout as a follower, then try again.
            becomeFollower(term: term, leader: nil)
        case .pending:
            break
        }
    }

    /// Takes leadership of the current term (after winning its election).
    func becomeLeader() {
        let last = log.lastIndex
        let leadership = Leadership(progress: ProgressTracker(peers: config.memberIDs.filter { $0 != id }, next: last + 1),
                                    heartbeatDeadline: now &+ settings.heartbeatPeriod,
                                    checkQuorumDeadline: now &+ settings.electionTimeoutMax)
        become(.leader(leadership))
        setLeader(id)
        emit(.election(.electionWon))
        // Raft §5.4.2: a leader commits entries of earlier terms only through one of its own.
        emit(.election(.broadcastingTermStart))
        appendLocal([Entry(index: last + 1, term: term, kind: .termStart, data: [])])
        leadership.replicationPending = true
    }

    /// Answers what a leadership that just ended still owed. Pending commands stay: their
    /// entries may still commit under the next leader, and are resolved when applied or
    /// truncated. Everything else of it goes with it.
    func settle(_ past: Leadership, higherTerm: Bool) {
        failReads(past.reads)
        if let t = past.transfer {
            // A transfer succeeded when the target's election unseated us.
            answerTransfer(t, succeeded: higherTerm && t.timeoutNowSent, error: .leaderSteppedDown)
        }
        // Neither an addition still catching up nor a deferred change entered the log: the
        // asker may go to the next leader.
        if let add = past.addition { answerAbortedAddition(add, notLeaderError) }
        if let d = past.deferredChange { answerDroppedChange(d, local: notLeaderOutcome(), error: notLeaderError) }
        if let sr = past.settingsRequest { complete(sr.requestID, .rejected(.leaderSteppedDown)) }
        if let c = past.changeAwaitingCommit { answer(c.request, error: .leaderSteppedDown) }
    }

    /// Leader: step down when a majority has not been heard from within an election timeout.
    func checkQuorum() {
        guard let l = leadership else { return }
        l.checkQuorumDeadline = now &+ settings.electionTimeoutMax
        guard settings.checkQuorum else { return }
        if !l.progress.takeRecentActivity(voters: config.voterIDs, leader: id) {
            // The same majority rule as commit (the seed library used ceil(n/2)).
            emit(.election(.leaderLost))
            becomeFollower(term: term, leader: nil)
        }
    }
}

extension LogPosition {
    init(index: LogIndex, lastTerm: Term) { self.init(index: index, term: lastTerm) }
}
