/// The section as CSV: a header row, then one row per recorded line with seven columns per
/// node, the table's three plus the raw numbers the Delta column only shows when they change.
enum TraceCSV {
    static let fieldNames = ["role", "op", "delta", "term", "last index", "last term", "commit"]

    static func render(_ grid: TraceGrid) -> String {
        let header = grid.columns.flatMap { id in
            fieldNames.map { "\(TraceShorthand.nodeLabel(id)) \($0)" }
        }
        var records = [header]
        for row in grid.rows {
            records.append(row.flatMap { cell -> [String] in
                guard let state = cell.state else { return [cell.role, cell.op, cell.delta, "", "", "", ""] }
                return [cell.role, cell.op, cell.delta, "\(state.term)", "\(state.lastIndex)",
                        "\(state.lastTerm)", "\(state.commitIndex)"]
            })
        }
        return records.map { $0.map(escape).joined(separator: ",") + "\n" }.joined()
    }

    /// RFC 4180 quoting; node ids are host-chosen strings and may contain commas or quotes.
    private static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + String(field.flatMap { $0 == "\"" ? "\"\"" : String($0) }) + "\""
    }
}
