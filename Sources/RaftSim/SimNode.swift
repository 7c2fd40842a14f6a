import RaftCore
import RaftStorage

/// One simulated server: a durable log that survives crashes, and the volatile part (the Raft
/// node and its state machine) that a crash throws away.
public final class SimNode {
    public let id: NodeID
    /// A MemoryLog unless `SimCluster.Options.makeLog` says otherwise. A crash keeps the object
    /// of a log that is not a `ReopenableLog`; one that is gets closed and, at restart, replaced
    /// by the log opened again from its files.
    public internal(set) var log: RaftLog
    public internal(set) var machine: CounterMachine
    /// The batch wrapper around `machine` when the cluster applies in batches.
    public internal(set) var batching: BatchingMachine?
    /// nil while crashed (or after the node stopped itself and was not restarted).
    public internal(set) var raft: RaftNode?
    public internal(set) var crashed = false
    /// Timer-driven behaviour (heartbeats, elections, command timeouts) runs only when enabled.
    public var timersEnabled = false
    /// Messages sent by this node, not yet moved onto the network.
    public internal(set) var outbox: [Message] = []
    /// Messages that reached this node, not yet handled.
    public internal(set) var inbox: [Message] = []
    public internal(set) var events: [RaftEvent] = []
    public internal(set) var outcomes: [UInt64: CommandOutcome] = [:]
    /// A slow disk: while set, syncs wait for `SimCluster.finishSync(_:)`, so writes stay
    /// unsynced and the messages that must follow a sync (acknowledgements, votes) wait too.
    public var syncsDeferred = false
    /// A sync was asked for and has not happened yet.
    public internal(set) var syncAwaited = false
    var messagesAwaitingSync: [Message] = []
    var options: NodeOptions

    init(id: NodeID, options: NodeOptions, log: RaftLog) {
        self.id = id
        self.options = options
        self.log = log
        self.machine = CounterMachine()
    }

    /// Running and taking part (not crashed, not stopped by itself).
    public var isUp: Bool { !crashed && raft.map { !$0.stopped } ?? false }
    public var role: Role { raft?.role ?? .follower }
    public var term: Term { raft?.term ?? log.hardState.term }
    public var commitIndex: LogIndex { raft?.commitIndex ?? 0 }
    public var lastIndex: LogIndex { log.lastIndex }
    public var leaderID: NodeID? { raft?.leaderID }
    public var total: Int64 { machine.total }

    /// Events of one kind seen so far, e.g. `node.events(ofElection:)`.
    public var electionSteps: [ElectionStep] {
        events.compactMap { if case .election(let s) = $0 { return s } else { return nil } }
    }
}
