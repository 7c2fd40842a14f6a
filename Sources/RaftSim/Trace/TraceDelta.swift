import RaftCore

/// The Delta column: what changed for one node since its previous row in the same section.
enum TraceDelta {
    static func text(from previous: TraceNodeState, to current: TraceNodeState) -> String {
        var parts: [String] = []
        if current.term != previous.term { parts.append("t-\(current.term)") }
        if current.lastTerm != previous.lastTerm { parts.append("lt-\(current.lastTerm)") }
        if current.lastIndex != previous.lastIndex { parts.append("li-\(current.lastIndex)") }
        if current.commitIndex != previous.commitIndex { parts.append("ci-\(current.commitIndex)") }
        // Being cut off is repeated on every row so a reader never mistakes silence for health;
        // the return to the quorum side is marked once.
        if current.onMinority {
            parts.append("n=2")
        } else if previous.onMinority {
            parts.append("n=1")
        }
        return parts.joined(separator: " ")
    }

    /// A section's first row has nothing to compare with, except that a section opening on
    /// NETJOIN still marks the joining node's return.
    static func firstRowText(for line: TraceLine, column: NodeID) -> String {
        if case .event(let node, let op) = line.action, node == column, op == "NETJOIN" {
            return "n=1"
        }
        return ""
    }
}
