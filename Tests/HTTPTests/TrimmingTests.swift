@testable import HTTP
import Testing

/// Header values and error texts lose surrounding ASCII whitespace, and nothing inside.
@Suite struct TrimmingTests {
    @Test(arguments: [
        ("  Content-Type: application/json \r\n", "Content-Type: application/json"),
        ("\tvalue\t", "value"),
        ("a b", "a b"),
        (" \r\n ", ""),
        ("", ""),
        (" héllo wörld ", "héllo wörld"),
        ("日本\r\n", "日本"),
    ])
    func trimmingSpacesDropsOnlyTheEnds(_ input: String, _ expected: String) {
        #expect(input.trimmingSpaces == expected)
    }
}
