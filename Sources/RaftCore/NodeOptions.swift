/// Per-node options that are not replicated (the replicated ones are `ClusterSettings`).
public struct NodeOptions: Sendable {
    public var id: NodeID
    /// Used only when the log holds no configuration yet (first start). Later starts use the
    /// configuration found in the log and ignore this.
    public var initialConfig: ClusterConfig?
    /// How long a proposed command may wait for its result before completing with `.timeout`.
    public var commandTimeout: Nanos
    /// Largest command accepted by `propose`.
    public var maxCommandSize: Int
    /// Payload bytes per append-entries message, so a batch of large entries stays bounded.
    public var maxBytesPerMessage: Int
    /// Adding a server aborts when it has not caught up within this time...
    public var addServerTimeout: Nanos
    /// ...or within this many catch-up rounds.
    public var maxCatchUpRounds: Int
    /// Take a snapshot automatically once this many entries were applied since the last one
    /// (0 = only when asked).
    public var snapshotThreshold: LogIndex
    /// Entries kept before an automatic snapshot, for followers that are slightly behind.
    public var snapshotTrailing: LogIndex
    /// Bytes per install-snapshot message.
    public var snapshotChunkSize: Int
    /// Under the retry apply policy, the first wait before a failed apply is tried again; it
    /// doubles with each failure up to `applyRetryMax`.
    public var applyRetryInitial: Nanos = 10_000_000
    public var applyRetryMax: Nanos = 1_000_000_000
    /// This node's own election timeout range, instead of the cluster settings' (the seed's
    /// tests give nodes different ranges to settle split votes). nil: the settings' range.
    public var electionTimeoutRange: ClosedRange<Nanos>?
    /// Newly committed entries wait for the driver's `applyCommittedEntries()` instead of
    /// applying inside the input that committed them. A driver that sends its acknowledgements
    /// first takes the state machine off a follower's acknowledgement path: the leader counts
    /// the ack while the follower applies (etcd's order: persist, send, then apply). Off by
    /// default, so a driver that never asks still applies, and the simulator's traces keep
    /// applying as the seed does.
    public var deferredApply = false

    public init(id: NodeID,
                initialConfig: ClusterConfig? = nil,
                commandTimeout: Nanos = 5_000_000_000,
                maxCommandSize: Int = 1 << 20,
                maxBytesPerMessage: Int = 1 << 20,
                addServerTimeout: Nanos = 30_000_000_000,
                maxCatchUpRounds: Int = 10,
                snapshotThreshold: LogIndex = 0,
                snapshotTrailing: LogIndex = 0,
                snapshotChunkSize: Int = 512 << 10) {
        self.id = id
        self.initialConfig = initialConfig
        self.commandTimeout = commandTimeout
        self.maxCommandSize = maxCommandSize
        self.maxBytesPerMessage = maxBytesPerMessage
        self.addServerTimeout = addServerTimeout
        self.maxCatchUpRounds = maxCatchUpRounds
        self.snapshotThreshold = snapshotThreshold
        self.snapshotTrailing = snapshotTrailing
        self.snapshotChunkSize = max(1, snapshotChunkSize)
    }
}
