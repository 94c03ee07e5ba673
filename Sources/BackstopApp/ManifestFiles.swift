import DynamicJSON
import Foundation
import YAML

/// The kustomize base in `manifests/`, read as plain objects (the resources listed in its
/// kustomization.yaml, in order), so tests and the benchmark can apply exactly the RBAC that
/// ships into KubeSim.
public enum ManifestFiles {
    /// `manifests/` of the checkout this file was compiled from, or of the working directory.
    public static func defaultDirectory() -> URL {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("manifests")
        if FileManager.default.fileExists(atPath: cwd.path) { return cwd }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("manifests")
    }

    /// The objects of every resource file named in kustomization.yaml, with its `namespace`
    /// applied to namespaced objects (as kustomize does).
    public static func load(_ directory: URL = defaultDirectory()) throws -> [JSONValue] {
        let kustomization = try YAML.parseSingle(String(contentsOf: directory.appendingPathComponent("kustomization.yaml"), encoding: .utf8))
        let namespace = kustomization["namespace"]?.stringValue
        var objects: [JSONValue] = []
        for file in kustomization["resources"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
            for var object in try YAML.parse(String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)) where !object.isNull {
                let clusterScoped = ["Namespace", "ClusterRole", "ClusterRoleBinding"].contains(object["kind"]?.stringValue ?? "")
                if let namespace, !clusterScoped { object["metadata"]?["namespace"] = .string(namespace) }
                objects.append(object)
            }
        }
        return objects
    }

    /// The user name KubeSim (like a real API server) gives the operator's ServiceAccount token.
    public static let operatorUser = "system:serviceaccount:backstop-system:backstop"
}
