import Foundation

extension JSONEncoder {
    /// One-line JSON with sorted keys and unescaped slashes: the same value always gives
    /// the same bytes (canonical content, SSE `data:` lines, hook input, `--json` streams).
    public static var compact: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
