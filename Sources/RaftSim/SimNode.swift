import RaftCore
import RaftStorage

/// One simulated server: a durable in-memory log that survives crashes, and the volatile part
/// (the Raft node and its state machine) that a crash throws away.
public final class SimNode {
    public let id: NodeID
    public let log: MemoryLog
    public internal(set) var machine: CounterMachine
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
    var options: NodeOptions

    init(id: NodeID, options: NodeOptions) {
        self.id = id
        self.options = options
        self.log = MemoryLog()
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
