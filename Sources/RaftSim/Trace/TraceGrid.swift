import RaftCore

/// One node's three cells in one row, plus the state behind them for the CSV's extra columns.
struct TraceCell: Equatable {
    var role = ""
    var op = ""
    var delta = ""
    var state: TraceNodeState?
}

/// A section laid out as rows of cells, one group of cells per node column. All renderers
/// start from this so the table, the CSV and the diagram agree on columns and deltas.
struct TraceGrid {
    let columns: [NodeID]
    let rows: [[TraceCell]]

    /// `order` is the recorder's column order; a section only gets the columns of nodes that
    /// appear in it, so a node added late does not leave blank columns in earlier sections.
    init(section: TraceSection, order: [NodeID]) {
        var present = Set<NodeID>()
        for line in section.lines {
            present.formUnion(line.states.keys)
            present.insert(line.action.actor)
        }
        let columns = section.lines.isEmpty ? order : order.filter(present.contains)
        self.columns = columns

        var lastSeen: [NodeID: TraceNodeState] = [:]
        var rows: [[TraceCell]] = []
        for (position, line) in section.lines.enumerated() {
            var row: [TraceCell] = []
            for column in columns {
                var cell = TraceCell()
                if let state = line.states[column] {
                    cell.state = state
                    cell.role = TraceShorthand.role(state)
                    if position == 0 {
                        cell.delta = TraceDelta.firstRowText(for: line, column: column)
                    } else if let previous = lastSeen[column] {
                        cell.delta = TraceDelta.text(from: previous, to: state)
                    }
                    lastSeen[column] = state
                }
                if line.action.actor == column {
                    cell.op = Self.op(line.action, column: column)
                }
                row.append(cell)
            }
            rows.append(row)
        }
        self.rows = rows
    }

    private static func op(_ action: TraceAction, column: NodeID) -> String {
        switch action {
        case .sent(let message), .handled(let message):
            return TraceShorthand.op(for: message, in: column)
        case .event(_, let op):
            return op
        }
    }
}
