import Foundation
import Testing

/// A trace table's body as rows of cells (Role, Op, Delta per node), so a section the engine
/// produced can be compared row by row, exactly, with the seed's table or with rows written out
/// by hand. Column widths are left out: they follow from the cells.
struct TraceRows: Equatable, CustomStringConvertible {
    var rows: [[String]]

    init(rows: [[String]]) { self.rows = rows }

    /// The rows under the "=" rule of an RST grid table.
    init(rst table: String) {
        let lines = table.split(separator: "\n").map(String.init)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("+=") }) else {
            self.init(rows: [])
            return
        }
        self.init(lines[(header + 1)...].filter { $0.hasPrefix("|") })
    }

    /// Rows written as table lines, "| FLWR | NEW ROLE | | ...", padded or not.
    init(_ lines: [String]) {
        rows = lines.map(Self.cells)
    }

    static func cells(_ line: String) -> [String] {
        var parts = line.split(separator: "|", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if parts.first == "" { parts.removeFirst() }
        if parts.last == "" { parts.removeLast() }
        return parts
    }

    /// The same rows with every cell reading exactly `old` reading `new` instead.
    func replacingCells(_ old: String, with new: String) -> TraceRows {
        TraceRows(rows: rows.map { $0.map { $0 == old ? new : $0 } })
    }

    /// The same rows with `cell` (counted from 0 across the row) of row `row` (from 0) set.
    func setting(row: Int, cell: Int, to text: String) -> TraceRows {
        var r = rows
        r[row][cell] = text
        return TraceRows(rows: r)
    }

    func inserting(_ line: String, at row: Int) -> TraceRows {
        var r = rows
        r.insert(Self.cells(line), at: row)
        return TraceRows(rows: r)
    }

    func removing(row: Int) -> TraceRows {
        var r = rows
        r.remove(at: row)
        return TraceRows(rows: r)
    }

    var description: String {
        rows.map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
    }
}

/// Fails with the first differing row (both versions, 1-based), or the row counts.
func expectSameRows(_ got: TraceRows, _ want: TraceRows, _ what: String,
                    sourceLocation: SourceLocation = #_sourceLocation) {
    for (index, (g, w)) in zip(got.rows, want.rows).enumerated() where g != w {
        Issue.record("\(what), row \(index + 1):\n got: | \(g.joined(separator: " | ")) |\nwant: | \(w.joined(separator: " | ")) |\n\nwhole table:\n\(got)",
                     sourceLocation: sourceLocation)
        return
    }
    if got.rows.count != want.rows.count {
        Issue.record("\(what): \(got.rows.count) rows, want \(want.rows.count)\n\nwhole table:\n\(got)", sourceLocation: sourceLocation)
    }
}
