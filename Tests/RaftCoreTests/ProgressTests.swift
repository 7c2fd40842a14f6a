import Testing
@testable import RaftCore

/// A follower's progress by itself (etcd's progress tests): acknowledgements, the three states
/// and when each pauses appends.
@Suite struct ProgressTests {
    struct AckRow: CustomTestStringConvertible, Sendable {
        var match: LogIndex, next: LogIndex, ack: LogIndex
        var updated: Bool, newMatch: LogIndex, newNext: LogIndex
        var testDescription: String { "match \(match) next \(next) ack \(ack)" }
    }

    static let ackRows: [AckRow] = [
        // An older acknowledgement tells nothing new.
        AckRow(match: 5, next: 8, ack: 3, updated: false, newMatch: 5, newNext: 8),
        AckRow(match: 5, next: 8, ack: 5, updated: false, newMatch: 5, newNext: 8),
        // A newer one moves match; next moves only when it was behind.
        AckRow(match: 5, next: 8, ack: 6, updated: true, newMatch: 6, newNext: 8),
        AckRow(match: 5, next: 8, ack: 7, updated: true, newMatch: 7, newNext: 8),
        AckRow(match: 5, next: 8, ack: 10, updated: true, newMatch: 10, newNext: 11),
        AckRow(match: 0, next: 1, ack: 0, updated: false, newMatch: 0, newNext: 1),
    ]

    @Test(arguments: ackRows)
    func acknowledge(_ row: AckRow) {
        var p = Progress(next: row.next)
        p.match = row.match
        #expect(p.acknowledge(row.ack) == row.updated)
        #expect(p.match == row.newMatch)
        #expect(p.next == row.newNext)
    }

    @Test func anAcknowledgementFreesTheWindowUpToIt() {
        var p = Progress(next: 1)
        p.becomeReplicate()
        p.sentAppend(lastIndex: 3, bytes: 30)
        p.sentAppend(lastIndex: 6, bytes: 30)
        p.sentAppend(lastIndex: 9, bytes: 30)
        #expect(p.next == 10)
        _ = p.acknowledge(6)
        #expect(p.inflight.flights.map(\.index) == [9])
        #expect(p.inflight.bytes == 30)
    }

    @Test func probeSendsOneAppendAtATime() {
        var p = Progress(next: 4)
        #expect(!p.isPaused(maxInflight: 64, maxInflightBytes: 1 << 20))
        p.sentAppend(lastIndex: 6, bytes: 10)
        // A probe moves neither next nor the window: it waits for the answer.
        #expect(p.next == 4 && p.inflight.isEmpty)
        #expect(p.isPaused(maxInflight: 64, maxInflightBytes: 1 << 20))
    }

    struct PauseRow: CustomTestStringConvertible, Sendable {
        var sent: [UInt64]
        var maxInflight: Int
        var maxBytes: UInt64
        var paused: Bool
        var testDescription: String { "replicate, sent \(sent), caps \(maxInflight)/\(maxBytes)B" }
    }

    static let pauseRows: [PauseRow] = [
        PauseRow(sent: [], maxInflight: 1, maxBytes: 1, paused: false),
        PauseRow(sent: [10], maxInflight: 1, maxBytes: 1_000, paused: true),
        PauseRow(sent: [10], maxInflight: 2, maxBytes: 1_000, paused: false),
        PauseRow(sent: [600, 600], maxInflight: 64, maxBytes: 1_000, paused: true),
        PauseRow(sent: [600], maxInflight: 64, maxBytes: 1_000, paused: false),
    ]

    @Test(arguments: pauseRows)
    func replicatePausesWhenTheWindowIsFull(_ row: PauseRow) {
        var p = Progress(next: 1)
        p.becomeReplicate()
        for (i, b) in row.sent.enumerated() { p.sentAppend(lastIndex: LogIndex(i + 1), bytes: b) }
        #expect(p.isPaused(maxInflight: row.maxInflight, maxInflightBytes: row.maxBytes) == row.paused)
    }

    @Test func stateChangesStartClean() {
        var p = Progress(next: 1)
        p.becomeReplicate()
        p.sentAppend(lastIndex: 5, bytes: 10)
        _ = p.acknowledge(2)
        // Back to probing after a rejection: never below what is known matched.
        p.becomeProbe(next: 1)
        #expect(p.state == .probe && p.next == 3 && p.inflight.isEmpty && !p.probeSent)
        p.becomeProbe(next: 7)
        #expect(p.next == 7)
        p.sentAppend(lastIndex: 9, bytes: 1)
        p.becomeSnapshot(index: 20)
        #expect(p.state == .snapshot(index: 20, offset: 0) && p.inflight.isEmpty)
        #expect(p.isPaused(maxInflight: 64, maxInflightBytes: 1 << 20))
        // Replicating starts right after what is matched.
        _ = p.acknowledge(20)
        p.becomeReplicate()
        #expect(p.state == .replicate && p.next == 21 && !p.probeSent)
    }
}

/// The leader's table of followers: kept in id order (the order appends go out in), updated in
/// place, and the check-quorum round.
@Suite struct ProgressTrackerTests {
    @Test func followersAreKeptInIdOrderWhateverTheInsertOrder() {
        var t = ProgressTracker(peers: ["n5", "n2", "n9"], next: 4)
        t.insert("n1", next: 7)
        t.insert("n3", next: 7)
        t.insert("n2", next: 100)
        #expect(t.ids == ["n1", "n2", "n3", "n5", "n9"])
        // Inserting a tracked follower again changes nothing.
        #expect(t["n2"]?.next == 4)
        t.remove("n3")
        t.remove("n42")
        #expect(t.ids == ["n1", "n2", "n5", "n9"])
        #expect(t.entries.map(\.0) == t.ids)
        #expect(t.entries.map(\.1.next) == [7, 4, 4, 4])
    }

    @Test func updatesHappenInPlaceAndOnlyForTrackedFollowers() {
        var t = ProgressTracker(peers: ["a", "b"], next: 1)
        let r = t.update("a") { p -> Bool in p.acknowledge(5) }
        #expect(r == true)
        #expect(t.match(of: "a") == 5 && t["a"]?.next == 6)
        #expect(t.update("zz") { _ in true } == nil)
        #expect(t.match(of: "zz") == 0 && !t.contains("zz"))
        #expect(t.minimumMatch == 0)
        _ = t.update("b") { $0.acknowledge(3) }
        #expect(t.minimumMatch == 3)
        #expect(ProgressTracker().minimumMatch == nil)
    }

    struct ActivityRow: CustomTestStringConvertible, Sendable {
        var voters: [NodeID]
        var heard: [NodeID]
        var active: Bool
        var testDescription: String { "voters \(voters), heard \(heard)" }
    }

    static let activityRows: [ActivityRow] = [
        ActivityRow(voters: ["l"], heard: [], active: true),
        ActivityRow(voters: ["l", "a"], heard: [], active: false),
        ActivityRow(voters: ["l", "a"], heard: ["a"], active: true),
        ActivityRow(voters: ["l", "a", "b"], heard: [], active: false),
        ActivityRow(voters: ["l", "a", "b"], heard: ["b"], active: true),
        ActivityRow(voters: ["l", "a", "b", "c", "d"], heard: ["a"], active: false),
        ActivityRow(voters: ["l", "a", "b", "c", "d"], heard: ["a", "d"], active: true),
        // Learners answer too, but only voters count.
        ActivityRow(voters: ["l", "a", "b"], heard: ["learner"], active: false),
        // A leader outside its configuration (removing itself) counts only the voters.
        ActivityRow(voters: ["a", "b", "c"], heard: ["a"], active: false),
        ActivityRow(voters: ["a", "b", "c"], heard: ["a", "c"], active: true),
    ]

    @Test(arguments: activityRows)
    func checkQuorumCountsVotersHeardFromAndStartsAFreshRound(_ row: ActivityRow) {
        var t = ProgressTracker(peers: ["a", "b", "c", "d", "learner"], next: 1)
        for h in row.heard { t.update(h) { $0.recentActive = true } }
        #expect(t.takeRecentActivity(voters: row.voters, leader: "l") == row.active)
        #expect(t.entries.allSatisfy { !$0.1.recentActive })
    }
}
