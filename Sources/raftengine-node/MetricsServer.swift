import RaftUV

/// A minimal HTTP/1.x endpoint for Prometheus: `GET /metrics` answers the text the `render`
/// closure builds; anything else gets 404 or 405. One request per connection, then it closes.
/// Runs on the host's loop thread, like the node.
final class MetricsServer {
    private let server: StreamServer
    static let maxRequestBytes = 8192

    init(host: UVHost, address: String, render: @escaping () -> String) throws {
        server = try StreamServer(host: host, address: address) { stream in
            var buffer: [UInt8] = []
            stream.onData = { bytes in
                buffer.append(contentsOf: bytes)
                guard let line = MetricsServer.requestLine(buffer) else {
                    if buffer.count > MetricsServer.maxRequestBytes {
                        MetricsServer.answer(stream, 431, "Request Header Fields Too Large", "request too large\n")
                    }
                    return
                }
                stream.onData = nil
                let parts = line.split(separator: " ")
                let path = parts.count > 1 ? parts[1].split(separator: "?").first.map(String.init) ?? "" : ""
                if parts.first != "GET" && parts.first != "HEAD" {
                    MetricsServer.answer(stream, 405, "Method Not Allowed", "only GET /metrics\n")
                } else if path != "/metrics" {
                    MetricsServer.answer(stream, 404, "Not Found", "see /metrics\n")
                } else {
                    MetricsServer.answer(stream, 200, "OK", render(), headOnly: parts.first == "HEAD")
                }
            }
        }
    }

    var port: UInt16 { server.port }

    func close() { server.close() }

    /// The request line once the whole header has arrived.
    static func requestLine(_ buffer: [UInt8]) -> String? {
        let end: [UInt8] = [13, 10, 13, 10]
        guard buffer.count >= 4 else { return nil }
        var found = false
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && Array(buffer[i..<i + 4]) == end {
            found = true
            break
        }
        guard found else { return nil }
        let lineEnd = buffer.firstIndex(of: 13) ?? buffer.count
        return String(decoding: buffer[..<lineEnd], as: UTF8.self)
    }

    static func answer(_ stream: ClientStream, _ code: Int, _ reason: String, _ body: String, headOnly: Bool = false) {
        let bytes = Array(body.utf8)
        let type = code == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8"
        var out = Array("HTTP/1.1 \(code) \(reason)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n".utf8)
        if !headOnly { out += bytes }
        stream.write(out)
        stream.closeAfterWrites()
    }
}
