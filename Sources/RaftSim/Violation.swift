import RaftCore

/// A broken property: which one, in words, and the cluster step after which it was seen
/// (`SimCluster.step`), so a replay can stop just before it.
public struct Violation: Equatable, Sendable, CustomStringConvertible {
    /// The property's name: "election safety", "state machine safety", or an invariant's name.
    public var property: String
    public var message: String
    public var step: Int

    public init(property: String, message: String, step: Int) {
        self.property = property
        self.message = message
        self.step = step
    }

    /// The message, then the step: "<message> (step N)".
    public var description: String { "\(message) (step \(step))" }
}
