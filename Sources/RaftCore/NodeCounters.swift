/// Running totals since the node was created, for operators' metrics. Not persisted: a
/// restarted node counts from zero (Prometheus counters reset the same way).
public struct NodeCounters: Equatable, Sendable {
    /// Commands this node appended to its log as leader.
    public var proposals = 0
    /// Commands refused before reaching the log (not leader, transfer in progress, too large,
    /// stopped).
    public var refusedProposals = 0
    public var electionsStarted = 0
    /// Times the known leader changed (including to none).
    public var leaderChanges = 0
    public var snapshotsTaken = 0
    public var snapshotsInstalled = 0
    /// Entries whose apply failed, under any apply policy.
    public var applyFailures = 0
    /// Error events (storage failures, a diverging snapshot, ...).
    public var errors = 0

    public init() {}

    mutating func count(_ e: RaftEvent) {
        switch e {
        case .election(.electionStarted): electionsStarted += 1
        case .leaderChanged: leaderChanges += 1
        case .snapshotTaken: snapshotsTaken += 1
        case .snapshotInstalled: snapshotsInstalled += 1
        case .applyFailed: applyFailures += 1
        case .error: errors += 1
        default: break
        }
    }
}
