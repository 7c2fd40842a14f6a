import Foundation
import Testing
@testable import RaftSim

/// RaftSim may later link into libraftengine.so, which carries no Foundation: its sources use
/// the C library only, and its file errors are typed.
@Suite struct SimFoundationFreeTests {
    static let simSources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/RaftSim")

    @Test func noRaftSimSourceImportsFoundation() throws {
        let files = try FileManager.default.subpathsOfDirectory(atPath: Self.simSources.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 10)
        for f in files {
            let text = try String(contentsOfFile: Self.simSources.appendingPathComponent(f).path, encoding: .utf8)
            let imports = text.split(separator: "\n").filter { $0.hasPrefix("import ") || $0.hasPrefix("@_exported import ") }
            #expect(!imports.contains { $0.contains("Foundation") }, "\(f) imports \(imports)")
        }
    }

    @Test func aDirectoryThatCannotBeMadeIsATypedError() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        // A regular file where the directory should go.
        FileManager.default.createFile(atPath: root.path, contents: Data("x".utf8))
        let recorder = TraceRecorder(nodeIDs: ["a"])
        #expect(throws: TraceFileError.createDirectory(path: root.path + "/nested", errno: ENOTDIR)) {
            try recorder.write(to: root.path + "/nested", baseName: "t")
        }
    }
}
