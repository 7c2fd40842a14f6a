import Testing
import RaftCore
import RaftStorage

@Suite struct MemoryLogSmokeTests {
    @Test func appendReadTruncate() throws {
        let log = MemoryLog()
        try log.append([Entry(index: 1, term: 1), Entry(index: 2, term: 1), Entry(index: 3, term: 2)])
        #expect(log.lastIndex == 3)
        #expect(log.lastTerm == 2)
        try log.truncate(from: 3)
        #expect(log.lastIndex == 2)
        #expect(throws: LogError.self) { try log.append([Entry(index: 5, term: 2)]) }
    }
}
