import RaftCore

/// A section as a PlantUML sequence diagram: one arrow per delivered (handled) message and
/// a note for every event. Sent rows are left out so a message is drawn once, at the moment
/// it took effect; a message lost on the way therefore has no arrow.
enum TracePlantUML {
    static func render(_ section: TraceSection, grid: TraceGrid) -> String {
        var participants = grid.columns
        for line in section.lines {
            if case .handled(let message) = line.action {
                // A handled message can come from a node with no column in this section,
                // e.g. one already removed from the cluster; it still needs a lifeline.
                for id in [message.from, message.to] where !participants.contains(id) {
                    participants.append(id)
                }
            }
        }
        // Aliases by position, because labels such as "N-1" are not PlantUML identifiers.
        var alias: [NodeID: String] = [:]
        var lines = ["@startuml"]
        if !section.title.isEmpty { lines.append("title \(section.title)") }
        for (index, id) in participants.enumerated() {
            alias[id] = "n\(index + 1)"
            lines.append("participant \"\(TraceShorthand.nodeLabel(id))\" as n\(index + 1)")
        }
        for line in section.lines {
            switch line.action {
            case .sent:
                continue
            case .handled(let message):
                lines.append("\(alias[message.from]!) -> \(alias[message.to]!) : \(TraceMessageLabel.text(message))")
            case .event(let node, let op):
                lines.append("note over \(alias[node]!) : \(noteText(op, state: line.states[node]))")
            }
        }
        lines.append("@enduml")
        return lines.joined(separator: "\n") + "\n"
    }

    /// "NEW ROLE" alone does not say which role; the diagram has no role column to look at.
    private static func noteText(_ op: String, state: TraceNodeState?) -> String {
        guard op == "NEW ROLE", let state else { return op }
        return "\(op): \(state.role)"
    }
}
