/// DynamicJSON: a JSON-compatible value type (`JSONValue`) with a fast parser and serializer,
/// shared by the YAML bridge, the Kubernetes model and the API-server simulator.
