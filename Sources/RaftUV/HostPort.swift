#if canImport(Glibc)
import Glibc
#endif

/// A "host:port" listen or peer address: an IPv4 literal, `[IPv6]`, or `localhost` (as
/// 127.0.0.1). The one parser for addresses in the runtime, the C ABI and the node.
public struct HostPort: Equatable, Sendable {
    public var host: String
    public var port: UInt16

    public init?(_ text: String) {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, !portText.isEmpty, portText.allSatisfy(\.isNumber),
              let p = Int(portText), p >= 0, p <= 65535 else { return nil }
        if host == "localhost" { host = "127.0.0.1" }
        var v4 = in_addr()
        var v6 = in6_addr()
        guard inet_pton(AF_INET, String(host), &v4) == 1 || inet_pton(AF_INET6, String(host), &v6) == 1 else { return nil }
        self.host = String(host)
        self.port = UInt16(p)
    }

    public var text: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
