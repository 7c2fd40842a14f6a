import Foundation

extension TraceRecorder {
    /// Writes `<baseName>.rst` with every section, and `<baseName>_<n>.csv` and
    /// `<baseName>_<n>.puml` per section, n counting from 1 as the document's headings do.
    public func write(to directory: String, baseName: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let folder = URL(fileURLWithPath: directory, isDirectory: true)
        func save(_ text: String, _ name: String) throws {
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try save(rstDocument(title: baseName), "\(baseName).rst")
        for index in sections.indices {
            try save(csv(section: index), "\(baseName)_\(index + 1).csv")
            try save(plantUML(section: index), "\(baseName)_\(index + 1).puml")
        }
    }
}
