import Testing
@testable import RaftCore
import RaftStorage
import RaftSim

/// The commit rule while the leader's own write is not yet durable (a runtime that fsyncs off
/// its loop thread): a majority of durable copies commits an entry, the leader's counted only
/// once a sync covering it completed, and only as far as that sync's mark reaches.
@Suite struct LeaderSyncTests {
    /// 3 nodes, n1 leading, one command committed everywhere (indexes 1 and 2).
    func cluster() -> SimCluster {
        let c = SimCluster()
        c.elect(c.id(1))
        c.runCommand("add 1")
        return c
    }

    func applied(_ s: String) -> CommandOutcome { .applied(Array(s.utf8)) }

    @Test func leaderCommitsOnTwoFollowersAcknowledgementsBeforeItsOwnSync() {
        let c = cluster()
        let n1 = c.id(1)
        c.node(1).syncsDeferred = true
        let rid = c.propose(n1, "add 2")
        #expect(c.deliverUntil { c.outcome(rid) != nil })
        #expect(c.outcome(rid) == applied("3"))
        // Its own copy of index 3 was never synced: the two followers' durable copies did it.
        #expect(c.node(1).syncAwaited)
        #expect(c.node(1).raft!.durableIndex == 2)
        #expect(c.node(1).commitIndex == 3)
    }

    @Test func leaderNeverCountsItselfBeforeItsSync() {
        let c = cluster()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.partition([[n1, n2], [n3]])
        c.node(1).syncsDeferred = true
        let rid = c.propose(n1, "add 2")
        c.deliverAll()
        // n2 holds index 3 durably; with the leader's unsynced copy that is no majority.
        #expect(c.node(2).lastIndex == 3)
        #expect(c.outcome(rid) == nil)
        #expect(c.node(1).commitIndex == 2)
        // Even repeated acknowledgements (heartbeats) do not change that.
        c.heartbeat(n1)
        c.deliverAll()
        #expect(c.outcome(rid) == nil)
        c.finishSync(n1)
        c.deliverAll()
        #expect(c.outcome(rid) == applied("3"))
        #expect(c.node(1).commitIndex == 3)
    }

    @Test func aSyncCountsOnlyWhatItsMarkCovered() {
        let c = cluster()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.partition([[n1, n2], [n3]])
        c.node(1).syncsDeferred = true
        let a = c.propose(n1, "add 2")
        c.deliverAll()
        // A sync starts here, covering index 3; index 4 is appended while it runs.
        var mark: SyncMark?
        c.with(n1) { mark = $0.syncMark }
        #expect(mark?.index == 3)
        let b = c.propose(n1, "add 3")
        c.deliverAll()
        #expect(c.node(2).lastIndex == 4)
        #expect(c.outcome(a) == nil && c.outcome(b) == nil)
        c.with(n1) { $0.didSync(upTo: mark!) }
        c.deliverAll()
        #expect(c.outcome(a) == applied("3"))
        #expect(c.outcome(b) == nil)
        #expect(c.node(1).commitIndex == 3)
        // The next sync covers index 4.
        c.with(n1) { $0.didSync(upTo: $0.syncMark) }
        c.deliverAll()
        #expect(c.outcome(b) == applied("6"))
        #expect(c.node(1).commitIndex == 4)
    }

    @Test func aTruncationVoidsAMarkTakenBeforeIt() {
        let c = cluster()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        // n1 appends index 3 (term 1) alone, synced; a sync of it is still in flight when...
        c.partition([[n1], [n2, n3]])
        _ = c.propose(n1, "add 5")
        c.deliverAll()
        var stale: SyncMark?
        c.with(n1) { stale = $0.syncMark }
        #expect(stale?.index == 3)
        // ...a new leader's entries replace it.
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader)
        c.runCommand("add 10", at: n2)
        c.heal()
        c.heartbeat(n2)
        // n1 learns the new term (synced), then its syncs are held back while the new
        // leader's entries overwrite index 3.
        #expect(c.deliverUntil { c.node(1).term == c.node(2).term })
        c.node(1).syncsDeferred = true
        c.deliverAll()
        #expect(c.node(1).role == .follower)
        #expect(c.node(1).lastIndex == 4)
        #expect(c.node(1).log.term(at: 3) == c.node(2).term)
        #expect(c.node(1).raft!.durableIndex == 2)
        // The stale sync completes: it covered the old index 3, not the new 3 and 4.
        c.with(n1) { $0.didSync(upTo: stale!) }
        #expect(c.node(1).raft!.durableIndex == 2)
        c.finishSync(n1)
        #expect(c.node(1).raft!.durableIndex == 4)
    }
}
