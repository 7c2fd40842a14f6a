/// The single-server change rule's 2015 correction (Ongaro on raft-dev; the thesis' later
/// editions and etcd/raft carry it): a leader may start a configuration change only once it has
/// committed an entry of its own term. Until then an uncommitted change from an earlier term may
/// still be in force elsewhere, and a change made now could commit under a quorum that does not
/// overlap that change's quorum: two leaders, two different entries committed at one index.
///
/// A change asked of a leader too early is deferred, not refused: a new leader's term-start
/// entry normally commits within one round trip, after which the change starts by itself. Only
/// one change waits (one change at a time); it is answered if leadership ends first or after
/// the command timeout.
extension RaftNode {
    enum DeferredChangeKind {
        case membership(ChangeRequest)
        case settings(ClusterSettings, requestID: UInt64)
    }

    struct DeferredChange {
        var kind: DeferredChangeKind
        var deadline: Nanos
    }

    /// True once this leader has committed an entry of its current term (its term-start entry
    /// or a later one). Commits only move forward within a term, so it stays true until the
    /// term ends.
    var hasCommittedInTerm: Bool {
        role == .leader && log.term(at: commitIndex) == term
    }

    /// Defers `kind` when this leader may not change the configuration yet. True when deferred:
    /// the caller must not start the change now.
    func deferIfTermUncommitted(_ kind: DeferredChangeKind) -> Bool {
        guard let l = leadership, !hasCommittedInTerm else { return false }
        assert(l.deferredChange == nil, "one change at a time: the caller checks changeInProgress first")
        l.deferredChange = DeferredChange(kind: kind, deadline: now &+ options.commandTimeout)
        return true
    }

    /// Starts the deferred change once the term has a committed entry. Called after every commit.
    func startDeferredChangeIfAllowed() {
        guard let l = leadership, let d = l.deferredChange, hasCommittedInTerm else { return }
        l.deferredChange = nil
        switch d.kind {
        case .membership(let request):
            if request.op == .remove { startRemoval(request) } else { startAddition(request) }
        case .settings(let s, let rid):
            updateSettings(s, requestID: rid)
        }
    }

    /// Answers a deferred change that will not run: `local` for this node's caller, `error` for
    /// a remote requester. The change never entered the log, so nothing of it can commit later.
    func dropDeferredChange(local: CommandOutcome, error: RaftError) {
        guard let l = leadership, let d = l.deferredChange else { return }
        l.deferredChange = nil
        answerDroppedChange(d, local: local, error: error)
    }

    /// Answers the asker of deferred change `d`, which will not run.
    func answerDroppedChange(_ d: DeferredChange, local: CommandOutcome, error: RaftError) {
        switch d.kind {
        case .membership(let r):
            emit(.membershipChangeAborted(r.op, r.member.id, reason: error.description))
            if let rid = r.requestID { complete(rid, local) }
            if let to = r.requester, to != id {
                send(to, .membershipChangeResponse(MembershipChangeResponse(op: r.op, memberID: r.member.id, error: error)), term: 0)
            }
            // The leader's own exit waits in `localChange`.
            if r.op == .remove, r.member.id == id, let lc = localChange, lc.op == .remove {
                localChange = nil
                complete(lc.requestID, local)
            }
        case .settings(_, let rid):
            complete(rid, local)
        }
    }

    func expireDeferredChange() {
        guard let d = leadership?.deferredChange, now >= d.deadline else { return }
        dropDeferredChange(local: .rejected(.termNotCommitted), error: .termNotCommitted)
    }
}
