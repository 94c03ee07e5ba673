/// DynamicJSON: a JSON-compatible value type (`JSONValue`) with a fast parser and serializer,
/// and an `Encoder`/`Decoder` pair between `Codable` types and `JSONValue` (`JSONValue.encode`,
/// `JSONValue.decode`); shared by the YAML bridge, the Kubernetes model and the API-server
/// simulator.
