import Foundation
import Testing
import RaftCore
import RaftSim

// The code of docs/simulator.md's walkthrough, run as a test. `theDocumentShowsThisCode`
// fails when the document and this file part ways.

// walkthrough:begin
/// A tiny replicated key-value store: `set K V` answers the old value, `get K` the value.
final class WalkthroughKV: StateMachine {
    var values: [String: String] = [:]

    func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        let words = String(decoding: command, as: UTF8.self).split(separator: " ").map(String.init)
        switch words.first {
        case "set" where words.count == 3:
            defer { values[words[1]] = words[2] }
            return Array((values[words[1]] ?? "").utf8)
        case "get" where words.count == 2:
            return Array((values[words[1]] ?? "").utf8)
        default:
            throw BadCommand()
        }
    }

    struct BadCommand: Error {}

    // Sorted, so equal states give equal bytes.
    func snapshot() throws -> [UInt8] {
        Array(values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined().utf8)
    }

    func restore(_ data: [UInt8]) throws {
        values = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            values[kv[0]] = kv.count == 2 ? kv[1] : ""
        }
    }
}

/// Seed sections 1-3 (test_command_1.rst) on the key-value store.
func seedSectionsOneToThreeOnAKeyValueStore() throws {
    var options = SimCluster.Options(nodeCount: 3)
    options.idPrefix = "mcpy://"  // the seed's names: traces read N-1, N-2, N-3
    let c = SimCluster(options) { _ in WalkthroughKV() }
    let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
    func kv(_ id: NodeID) -> [String: String]? { c.node(id).machine(as: WalkthroughKV.self)?.values }

    // Every step is checked for Raft's safety properties, and for one of our own.
    let checker = SafetyChecker()
    checker.attach(to: c, checkEveryStep: true)
    c.addInvariant("one value for x") { cluster in
        let seen = Set(cluster.ids.compactMap { cluster.node($0).machine(as: WalkthroughKV.self)?.values["x"] })
        return seen.count <= 1 ? nil : "replicas disagree: \(seen.sorted())"
    }

    // Section 1: N-3 campaigns (pre-vote, then the vote) and wins; its term-start entry
    // is index 1 on every node.
    c.section("Normal election")
    c.campaign(n3)
    c.deliverAll()
    #expect(c.node(n3).role == .leader)
    #expect([n1, n2, n3].allSatisfy { c.node($0).term == 1 && c.node($0).lastIndex == 1 })
    #expect(c.trace.rstTable(section: 0).contains("N-3+p_v_r t-1 li-0 lt-0"))

    // Section 2: one command, delivered until the leader has its result.
    c.section("Run one command, normal sequence till leader commit")
    let rid = c.propose(n3, "set x 1")
    c.deliverUntil { c.outcome(rid) != nil }
    #expect(c.outcome(rid) == .applied([]))  // there was no old value
    #expect(kv(n3) == ["x": "1"])
    #expect(c.node(n3).commitIndex == 2)
    c.deliverAll()
    #expect(kv(n1) == [:])  // followers hold the entry but do not know it committed
    #expect(c.trace.rstTable(section: 1).contains("N-1+ae_reply ok-True mi-2"))

    // Section 3: a heartbeat carries the commit index; the followers apply.
    c.section("Finish command by notifying followers of commit with heartbeat")
    c.heartbeat(n3)
    c.deliverAll()
    #expect([n1, n2].allSatisfy { kv($0) == ["x": "1"] && c.node($0).commitIndex == 2 })
    #expect(c.trace.rstTable(section: 2).contains("ae+N-1 t-1 i-2 lt-1 e-0 c-2"))

    // Each node's apply history: one command, in its first lifetime.
    #expect(c.node(n1).history.records == [ApplyRecord(lifetime: 1, index: 2, kind: .command(Array("set x 1".utf8)))])
    #expect(checker.violations.isEmpty && c.invariantViolations.isEmpty)

    // The run as documents: RST tables, CSV and PlantUML per section.
    let directory = FileManager.default.temporaryDirectory.path + "/walkthrough-\(getpid())"
    try c.trace.write(to: directory, baseName: "kv_command_1")
    #expect(FileManager.default.fileExists(atPath: directory + "/kv_command_1_3.puml"))
    try? FileManager.default.removeItem(atPath: directory)
}
// walkthrough:end

@Suite struct WalkthroughTests {
    @Test func seedSectionsOneToThree() throws { try seedSectionsOneToThreeOnAKeyValueStore() }

    /// The document's code block is this file's walkthrough, line for line.
    @Test func theDocumentShowsThisCode() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/simulator.md"), encoding: .utf8)
        let source = try String(contentsOf: here, encoding: .utf8)
        func between(_ text: String, _ start: String, _ end: String) -> String? {
            guard let a = text.range(of: start), let b = text.range(of: end, range: a.upperBound..<text.endIndex) else { return nil }
            return String(text[a.upperBound..<b.lowerBound])
        }
        let code = try #require(between(source, "// walkthrough:begin\n", "// walkthrough:end"))
        let shown = try #require(between(doc, "```swift\n// walkthrough\n", "```"))
        #expect(shown == code)
    }
}
