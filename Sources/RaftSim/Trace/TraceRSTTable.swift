import RaftCore

/// The seed's RST grid table: two header rows ("N-1 N-1 N-1 ..." and "Role Op Delta ..."),
/// an "=" rule under them, and a "-" rule between all other rows, each column as wide as
/// its widest cell.
enum TraceRSTTable {
    static func render(_ grid: TraceGrid) -> String {
        guard !grid.columns.isEmpty else { return "" }
        let names = grid.columns.flatMap { id -> [String] in
            let label = TraceShorthand.nodeLabel(id)
            return [label, label, label]
        }
        let kinds = grid.columns.flatMap { _ in ["Role", "Op", "Delta"] }
        let body = grid.rows.map { row in row.flatMap { [$0.role, $0.op, $0.delta] } }

        var widths = kinds.map(\.count)
        for cells in [names] + body {
            for (index, cell) in cells.enumerated() {
                widths[index] = max(widths[index], cell.count)
            }
        }

        let rule = self.rule("-", widths)
        var lines = [rule, row(names, widths), rule, row(kinds, widths), self.rule("=", widths)]
        for cells in body {
            lines.append(row(cells, widths))
            lines.append(rule)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func rule(_ fill: Character, _ widths: [Int]) -> String {
        "+" + widths.map { String(repeating: fill, count: $0 + 2) + "+" }.joined()
    }

    private static func row(_ cells: [String], _ widths: [Int]) -> String {
        "|" + zip(cells, widths).map { cell, width in
            " " + cell + String(repeating: " ", count: width - cell.count) + " |"
        }.joined()
    }
}

/// A whole trace as one RST document: a title, then per section a heading and its table.
/// Headings are numbered like the seed's and like the per-section file names.
enum TraceRSTDocument {
    static func render(title: String, sections: [TraceSection], order: [NodeID]) -> String {
        var lines: [String] = []
        if !title.isEmpty {
            let bar = String(repeating: "=", count: title.count)
            lines += [bar, title, bar, ""]
        }
        for (index, section) in sections.enumerated() where !section.lines.isEmpty {
            let heading = section.title.isEmpty ? "Section \(index + 1)" : "Section \(index + 1): \(section.title)"
            lines += ["", heading, String(repeating: "=", count: heading.count), ""]
            let table = TraceRSTTable.render(TraceGrid(section: section, order: order))
            lines.append(table)
        }
        return lines.joined(separator: "\n")
    }
}
