/// How a proposed command ended.
public enum CommandOutcome: Equatable, Sendable {
    /// Committed and applied; carries the state machine's result.
    case applied([UInt8])
    /// This node is not the leader; carries the leader it knows of.
    case redirect(leader: NodeID, address: String)
    /// No leader can take commands right now (election or leadership transfer): try again later.
    case retry
    /// Not committed within the command timeout; it may still commit later.
    case timeout
    /// The state machine failed to apply it.
    case applyError(String)
    /// The node stopped before the command finished.
    case stopped
    /// Refused (a command too large, a change while another runs, an unknown node...), or, for
    /// `.leaderSteppedDown`, ended without knowing whether it committed.
    case rejected(RaftError)
}

public struct Completion: Equatable, Sendable {
    public var id: UInt64
    public var outcome: CommandOutcome
    public init(id: UInt64, outcome: CommandOutcome) {
        self.id = id
        self.outcome = outcome
    }
}
