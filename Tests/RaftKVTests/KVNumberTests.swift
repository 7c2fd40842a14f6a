import Testing
@testable import RaftKV

@Suite struct KVNumberTests {
    @Test func redisIntegerRules() {
        #expect(KVNumber.parseInt64(b("0")) == 0)
        #expect(KVNumber.parseInt64(b("-1")) == -1)
        #expect(KVNumber.parseInt64(b("9223372036854775807")) == Int64.max)
        #expect(KVNumber.parseInt64(b("-9223372036854775808")) == Int64.min)
        for bad in ["", "-", "+1", "01", "-0", "1 ", " 1", "9223372036854775808", "-9223372036854775809", "1e3", "0x1"] {
            #expect(KVNumber.parseInt64(b(bad)) == nil, "\(bad)")
        }
    }

    func sum(_ x: String, _ y: String) -> String? {
        guard let a = KVFloat.parse(b(x)), let c = KVFloat.parse(b(y)), case .success(let s) = KVFloat.add(a, c) else { return nil }
        return String(decoding: s.formatted, as: UTF8.self)
    }

    @Test func decimalSumsPrintAsRedisDoes() {
        #expect(sum("10.5", "0.1") == "10.6")
        #expect(sum("0.1", "0.2") == "0.3")
        #expect(sum("3.0", "0") == "3")
        #expect(sum("5.0e3", "0") == "5000")
        #expect(sum("1e20", "0") == "100000000000000000000")
        #expect(sum("-1e-18", "0") == "0")
        #expect(sum("1e-17", "0") == "0.00000000000000001")
        #expect(sum("5e-18", "0") == "0")          // half to even at the 17th place
        #expect(sum("1.5e-17", "0") == "0.00000000000000002")
        #expect(sum("-12.75", "12") == "-0.75")
        #expect(sum("1E+2", ".5") == "100.5")
        #expect(sum("1e400", "1") == "1" + String(repeating: "0", count: 400))
        #expect(sum("inf", "1") == nil)
    }

    @Test func beyondThirtyEightDigitsFallsBackToDouble() {
        let long = "1." + String(repeating: "1", count: 45)
        guard case .double(let d)? = KVFloat.parse(b(long)) else { Issue.record("expected a double"); return }
        #expect(d == 1.1111111111111112)
        #expect(sum(long, "1") == "2.111111111111111")
        #expect(sum("1" + String(repeating: "0", count: 39), "1" + String(repeating: "0", count: 39) + ".5")
                == "2" + String(repeating: "0", count: 39))
        // Decimal sums go beyond double's range, as long double does.
        #expect(sum("1e308", "1e308") == "2" + String(repeating: "0", count: 308))
        // An operand past 38 digits and past double's range is refused (long double would take it).
        #expect(KVFloat.parse(b(String(repeating: "1", count: 41) + "e300")) == nil)
    }

    @Test func floatSyntax() {
        for good in ["1", "-1", "+1", ".5", "5.", "1e5", "1E-5", "1.5e+3", "inf", "-Infinity", "00.1"] {
            #expect(KVFloat.parse(b(good)) != nil, "\(good)")
        }
        for bad in ["", ".", "e5", "1e", "1e+", " 1", "1 ", "nan", "NaN", "0x10", "1..2", "1e5000", "1e-5000", "in"] {
            #expect(KVFloat.parse(b(bad)) == nil, "\(bad)")
        }
    }
}
