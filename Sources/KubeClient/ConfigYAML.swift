import DynamicJSON
import YAML

/// Kubeconfig text (YAML, or JSON which is YAML too) to a JSON value.
func parseConfigDocument(_ text: String) throws -> JSONValue {
    try YAML.parseSingle(text)
}
