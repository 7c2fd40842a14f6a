import Foundation

/// The trace tables of the seed document (shared/seed/test_command_1.rst), read from the
/// fixture the Python tests read too (Tests/Fixtures/seed-trace-tables.txt), so the two
/// suites check against one copy. The renderer must reproduce them exactly.
enum SeedTables {
    static let section1 = table(1)
    static let section2 = table(2)
    static let section3 = table(3)
    static let section4 = table(4)
    static let section5 = table(5)
    static let section6 = table(6)
    static let section7 = table(7)
    static let section8 = table(8)

    private static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/seed-trace-tables.txt")

    private static let tables: [Int: String] = {
        guard let text = try? String(contentsOf: fixture, encoding: .utf8) else {
            fatalError("cannot read \(fixture.path)")
        }
        var found: [Int: [Substring]] = [:]
        var current: Int?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("@@ section "), let n = Int(line.dropFirst("@@ section ".count)) {
                current = n
                found[n] = []
            } else if let n = current {
                found[n]!.append(line)
            }
        }
        return found.mapValues { lines in
            var lines = lines
            while lines.last?.isEmpty == true { lines.removeLast() }
            return lines.joined(separator: "\n")
        }
    }()

    private static func table(_ n: Int) -> String {
        guard let t = tables[n] else { fatalError("no section \(n) in \(fixture.path)") }
        return t
    }
}
