/// YAML: the only importer of libyaml. Multi-document parsing into `JSONValue`, emitting, and
/// decoding into `Decodable` types, with line and column in every error.
