/// KubeModel: Codable types for Kubernetes object metadata, the built-in kinds Backstop touches and
/// the five Backstop custom resources, with condition helpers and the CRD schema generator.
