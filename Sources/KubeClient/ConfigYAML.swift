import DynamicJSON

/// Kubeconfig text to a JSON value. JSON is a subset of YAML; YAML goes through the YAML module.
func parseConfigDocument(_ text: String) throws -> JSONValue {
    let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
    if trimmed.first == "{" { return try JSONValue(parsing: text) }
    throw KubeError(kind: .configuration, detail: "YAML kubeconfig support is not available yet")
}
