import RaftCore

/// Collects trace lines in titled sections and renders them as the seed's tables, as CSV
/// and as PlantUML. The simulator records only rows the tables show (sent, handled, events).
public final class TraceRecorder {
    /// Column order. Nodes seen in a recorded line without having been added are appended
    /// (sorted by id, to stay deterministic) so no row silently loses a node.
    public private(set) var nodeIDs: [NodeID] = []
    public private(set) var sections: [TraceSection] = []

    public init(nodeIDs: [NodeID]) {
        nodeIDs.forEach(addNode)
    }

    public func addNode(_ id: NodeID) {
        if !nodeIDs.contains(id) { nodeIDs.append(id) }
    }

    public func startSection(_ title: String) {
        sections.append(TraceSection(title: title))
    }

    public func record(_ line: TraceLine) {
        if sections.isEmpty { sections.append(TraceSection(title: "")) }
        line.states.keys.sorted().forEach(addNode)
        addNode(line.action.actor)
        sections[sections.count - 1].lines.append(line)
    }

    /// `section` indexes `sections` (from 0).
    public func rstTable(section: Int) -> String {
        TraceRSTTable.render(grid(section))
    }

    public func csv(section: Int) -> String {
        TraceCSV.render(grid(section))
    }

    public func plantUML(section: Int) -> String {
        TracePlantUML.render(sections[checked: section], grid: grid(section))
    }

    public func rstDocument(title: String) -> String {
        TraceRSTDocument.render(title: title, sections: sections, order: nodeIDs)
    }

    private func grid(_ section: Int) -> TraceGrid {
        TraceGrid(section: sections[checked: section], order: nodeIDs)
    }
}

extension Array where Element == TraceSection {
    fileprivate subscript(checked index: Int) -> TraceSection {
        precondition(indices.contains(index), "trace has \(count) sections, no section \(index)")
        return self[index]
    }
}
