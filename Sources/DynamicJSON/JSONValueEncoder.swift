import Foundation

/// `Encodable` → `JSONValue` directly, with the results Foundation's `JSONEncoder` (default
/// strategies) gives after a parse: `Data` as base64, `URL` as its absolute string, `Date` as
/// seconds since 2001, whole doubles as integers, non-finite numbers rejected. Going through
/// `JSONEncoder` and parsing its text cost three passes; a Job's POST body spent most of its
/// encode there.
struct JSONValueEncoding {
    /// Where one container's members go. Members encoded in place land in `value`; a nested
    /// container handed out to the caller is filled later, so it is kept by reference and
    /// merged when the owner finishes.
    final class Storage {
        var value: JSONValue?
        var pendingMembers: [String: Storage] = [:]
        var pendingElements: [(index: Int, storage: Storage)] = []

        func finished() -> JSONValue {
            guard var result = value else { return .object([:]) }
            if !pendingMembers.isEmpty, case .object(var object) = result {
                for (key, nested) in pendingMembers { object[key] = nested.finished() }
                result = .object(object)
            }
            if !pendingElements.isEmpty, case .array(var array) = result {
                for (index, nested) in pendingElements { array[index] = nested.finished() }
                result = .array(array)
            }
            return result
        }
    }

    static func encode<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> JSONValue {
        if let primitive = try primitive(value, codingPath: codingPath) { return primitive }
        let storage = Storage()
        try value.encode(to: ValueEncoder(storage: storage, codingPath: codingPath))
        return storage.finished()
    }

    /// The values `JSONEncoder` writes itself instead of asking them to encode.
    static func primitive<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> JSONValue? {
        // Type comparisons, not casts: most values are structs that take none of these.
        let type = T.self
        if type == String.self { return .string(value as! String) }
        if type == Int.self { return .int(Int64(value as! Int)) }
        if type == Int64.self { return .int(value as! Int64) }
        if type == Bool.self { return .bool(value as! Bool) }
        if type == Double.self { return try number(value as! Double, codingPath: codingPath) }
        if type == JSONValue.self { return value as? JSONValue }
        if type == Data.self { return .string((value as! Data).base64EncodedString()) }
        if type == URL.self { return .string((value as! URL).absoluteString) }
        return nil
    }

    static func number(_ d: Double, codingPath: [any CodingKey]) throws -> JSONValue {
        guard d.isFinite else {
            throw EncodingError.invalidValue(d, EncodingError.Context(codingPath: codingPath, debugDescription: "\(d) is not a JSON number"))
        }
        // JSONEncoder writes 1.0 as `1`, which parses as an integer.
        if d.rounded() == d, abs(d) < 1e15 { return .int(Int64(d)) }
        return .double(d)
    }

    /// A Float as JSONEncoder writes it (its shortest decimal form: 0.1, not 0.10000000149).
    static func double(_ f: Float) -> Double { Double("\(f)") ?? Double(f) }

    static func integer<I: BinaryInteger>(_ i: I) -> JSONValue {
        if let exact = Int64(exactly: i) { return .int(exact) }
        return .double(Double(i))
    }
}

private struct ValueEncoder: Encoder {
    let storage: JSONValueEncoding.Storage
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object? = storage.value {} else { storage.value = .object([:]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(storage: storage, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array? = storage.value {} else { storage.value = .array([]) }
        return UnkeyedContainer(storage: storage, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(storage: storage, codingPath: codingPath) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let storage: JSONValueEncoding.Storage
    let codingPath: [any CodingKey]

    private func set(_ value: JSONValue, _ key: Key) {
        guard case .object(var object) = storage.value else { return }
        // Drop the enum's reference while mutating, so the dictionary is not copied.
        storage.value = nil
        object[key.stringValue] = value
        storage.value = .object(object)
    }

    func encodeNil(forKey key: Key) throws { set(.null, key) }
    func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    func encode(_ value: Double, forKey key: Key) throws { set(try JSONValueEncoding.number(value, codingPath: codingPath + [key]), key) }
    func encode(_ value: Float, forKey key: Key) throws { try encode(JSONValueEncoding.double(value), forKey: key) }
    func encode(_ value: Int, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: Int8, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: Int16, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: Int32, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: Int64, forKey key: Key) throws { set(.int(value), key) }
    func encode(_ value: UInt, forKey key: Key) throws { set(JSONValueEncoding.integer(value), key) }
    func encode(_ value: UInt8, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: UInt16, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: UInt32, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: UInt64, forKey key: Key) throws { set(JSONValueEncoding.integer(value), key) }
    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try JSONValueEncoding.encode(value, codingPath: codingPath + [key]), key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        nestedEncoder(key).container(keyedBy: keyType)
    }
    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { nestedEncoder(key).unkeyedContainer() }
    func superEncoder() -> any Encoder { nestedEncoder(AnyCodingKey("super")) }
    func superEncoder(forKey key: Key) -> any Encoder { nestedEncoder(key) }

    private func nestedEncoder(_ key: some CodingKey) -> ValueEncoder {
        let nested = JSONValueEncoding.Storage()
        storage.pendingMembers[key.stringValue] = nested
        return ValueEncoder(storage: nested, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let storage: JSONValueEncoding.Storage
    let codingPath: [any CodingKey]
    var count: Int { if case .array(let a)? = storage.value { a.count } else { 0 } }

    private func append(_ value: JSONValue) {
        guard case .array(var array) = storage.value else { return }
        storage.value = nil
        array.append(value)
        storage.value = .array(array)
    }

    func encodeNil() throws { append(.null) }
    func encode(_ value: Bool) throws { append(.bool(value)) }
    func encode(_ value: String) throws { append(.string(value)) }
    func encode(_ value: Double) throws { append(try JSONValueEncoding.number(value, codingPath: codingPath)) }
    func encode(_ value: Float) throws { try encode(JSONValueEncoding.double(value)) }
    func encode(_ value: Int) throws { append(.int(Int64(value))) }
    func encode(_ value: Int8) throws { append(.int(Int64(value))) }
    func encode(_ value: Int16) throws { append(.int(Int64(value))) }
    func encode(_ value: Int32) throws { append(.int(Int64(value))) }
    func encode(_ value: Int64) throws { append(.int(value)) }
    func encode(_ value: UInt) throws { append(JSONValueEncoding.integer(value)) }
    func encode(_ value: UInt8) throws { append(.int(Int64(value))) }
    func encode(_ value: UInt16) throws { append(.int(Int64(value))) }
    func encode(_ value: UInt32) throws { append(.int(Int64(value))) }
    func encode(_ value: UInt64) throws { append(JSONValueEncoding.integer(value)) }
    func encode<T: Encodable>(_ value: T) throws {
        append(try JSONValueEncoding.encode(value, codingPath: codingPath + [AnyCodingKey(index: count)]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        nestedEncoder().container(keyedBy: keyType)
    }
    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { nestedEncoder().unkeyedContainer() }
    func superEncoder() -> any Encoder { nestedEncoder() }

    private func nestedEncoder() -> ValueEncoder {
        let index = count
        let nested = JSONValueEncoding.Storage()
        append(.null)
        storage.pendingElements.append((index, nested))
        return ValueEncoder(storage: nested, codingPath: codingPath + [AnyCodingKey(index: index)])
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let storage: JSONValueEncoding.Storage
    let codingPath: [any CodingKey]

    func encodeNil() throws { storage.value = .null }
    func encode(_ value: Bool) throws { storage.value = .bool(value) }
    func encode(_ value: String) throws { storage.value = .string(value) }
    func encode(_ value: Double) throws { storage.value = try JSONValueEncoding.number(value, codingPath: codingPath) }
    func encode(_ value: Float) throws { try encode(JSONValueEncoding.double(value)) }
    func encode(_ value: Int) throws { storage.value = .int(Int64(value)) }
    func encode(_ value: Int8) throws { storage.value = .int(Int64(value)) }
    func encode(_ value: Int16) throws { storage.value = .int(Int64(value)) }
    func encode(_ value: Int32) throws { storage.value = .int(Int64(value)) }
    func encode(_ value: Int64) throws { storage.value = .int(value) }
    func encode(_ value: UInt) throws { storage.value = JSONValueEncoding.integer(value) }
    func encode(_ value: UInt8) throws { storage.value = .int(Int64(value)) }
    func encode(_ value: UInt16) throws { storage.value = .int(Int64(value)) }
    func encode(_ value: UInt32) throws { storage.value = .int(Int64(value)) }
    func encode(_ value: UInt64) throws { storage.value = JSONValueEncoding.integer(value) }
    func encode<T: Encodable>(_ value: T) throws { storage.value = try JSONValueEncoding.encode(value, codingPath: codingPath) }
}

extension AnyCodingKey {
    init(index: Int) {
        self.init("Index \(index)")
        intValue = index
    }
}
