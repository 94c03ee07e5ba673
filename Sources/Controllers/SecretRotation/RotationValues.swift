import DynamicJSON
import Foundation
import KubeModel

/// New values and where the Secret is used. Generation draws from the system CSPRNG
/// (`SystemRandomNumberGenerator`: getrandom(2) on Linux) by rejection sampling
/// (`Int.random(in:using:)`), so every character of the alphabet is equally likely.
public enum RotationValues {
    public static let lengthRange = 16...256

    public static func alphabet(_ charset: Charset) -> [Character]? {
        let lower = Array("abcdefghijklmnopqrstuvwxyz"), upper = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), digits = Array("0123456789")
        switch charset {
        case .alphanumeric: return lower + upper + digits
        case .hex: return digits + Array("abcdef")
        case .base64URL: return upper + lower + digits + ["-", "_"]
        // Visible ASCII without space: safe in env vars, files and connection strings' password fields.
        case .printable: return (33...126).map { Character(UnicodeScalar(UInt8($0))) }
        default: return nil
        }
    }

    /// Why this generate spec cannot be honoured, or nil.
    public static func problem(_ spec: GenerateSpec) -> String? {
        let charset = spec.charset ?? .alphanumeric
        guard alphabet(charset) != nil else {
            return "charset \(charset.rawValue) is not one of \(Charset.knownValues.map(\.rawValue).joined(separator: ", "))"
        }
        let length = spec.length ?? 32
        guard lengthRange.contains(length) else {
            return "length \(length) is outside \(lengthRange.lowerBound)...\(lengthRange.upperBound)"
        }
        return nil
    }

    public static func generate<R: RandomNumberGenerator>(_ spec: GenerateSpec, using rng: inout R) -> String {
        let alphabet = alphabet(spec.charset ?? .alphanumeric) ?? []
        return String((0..<(spec.length ?? 32)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }

    /// Does this pod spec use Secret `name`: env `secretKeyRef`, `envFrom`, a secret or projected
    /// volume, or `imagePullSecrets`? (Init containers count: they start with the pod.)
    public static func references(podSpec: JSONValue, secret name: String) -> Bool {
        let target = JSONValue.string(name)
        if (podSpec["imagePullSecrets"]?.arrayValue ?? []).contains(where: { $0["name"] == target }) { return true }
        for volume in podSpec["volumes"]?.arrayValue ?? [] {
            if volume["secret"]?["secretName"] == target { return true }
            if (volume["projected"]?["sources"]?.arrayValue ?? []).contains(where: { $0["secret"]?["name"] == target }) { return true }
        }
        let containers = (podSpec["containers"]?.arrayValue ?? []) + (podSpec["initContainers"]?.arrayValue ?? [])
        for c in containers {
            if (c["envFrom"]?.arrayValue ?? []).contains(where: { $0["secretRef"]?["name"] == target }) { return true }
            if (c["env"]?.arrayValue ?? []).contains(where: { $0["valueFrom"]?["secretKeyRef"]?["name"] == target }) { return true }
        }
        return false
    }

    /// The pending Secret's data (base64, as on the wire): `new.<key>` for every rotated key,
    /// `old.<key>` where the target had the key, `prev.<key>` where it had `<key>.previous`.
    public static func pendingData(target: [String: String], newValues: [String: String]) -> [String: String] {
        var data: [String: String] = [:]
        for (key, value) in newValues {
            data[RotationJobBuilder.newKey(key)] = value
            if let old = target[key] { data[RotationJobBuilder.oldKey(key)] = old }
            if let prev = target["\(key).previous"] { data[RotationJobBuilder.priorPreviousKey(key)] = prev }
        }
        return data
    }

    /// The merge patch of the target's `data` for Update: new values, old ones as `.previous`.
    public static func updatePatch(pending: [String: String], keys: [String], keepPrevious: Bool) -> [String: JSONValue] {
        var data: [String: JSONValue] = [:]
        for key in keys {
            guard let new = pending[RotationJobBuilder.newKey(key)] else { continue }
            data[key] = .string(new)
            if keepPrevious, let old = pending[RotationJobBuilder.oldKey(key)] { data["\(key).previous"] = .string(old) }
        }
        return data
    }

    /// The merge patch that puts the target back as it was (a key absent before is removed).
    public static func restorePatch(pending: [String: String], keys: [String]) -> [String: JSONValue] {
        var data: [String: JSONValue] = [:]
        for key in keys {
            data[key] = pending[RotationJobBuilder.oldKey(key)].map(JSONValue.string) ?? .null
            data["\(key).previous"] = pending[RotationJobBuilder.priorPreviousKey(key)].map(JSONValue.string) ?? .null
        }
        return data
    }

    /// Does the target hold the pending new (or old) values for every key?
    public static func holds(_ target: [String: String], pending: [String: String], keys: [String], new: Bool) -> Bool {
        keys.allSatisfy { key in
            target[key] == pending[new ? RotationJobBuilder.newKey(key) : RotationJobBuilder.oldKey(key)]
        }
    }
}
