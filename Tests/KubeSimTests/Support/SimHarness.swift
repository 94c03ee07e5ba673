import DynamicJSON
import Foundation
import KubeSim
import TestSupport

/// The result of a child process.
struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a process without blocking the cooperative pool (exit reported through terminationHandler).
func runProcess(_ executable: String, _ args: [String], env: [String: String] = [:], stdin: String? = nil,
                timeout: TimeInterval = 60) async throws -> ProcessResult
{
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kubesim-proc-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
    p.standardOutput = outHandle
    p.standardError = errHandle
    if let stdin {
        let input = dir.appendingPathComponent("in")
        try Data(stdin.utf8).write(to: input)
        p.standardInput = try FileHandle(forReadingFrom: input)
    } else {
        p.standardInput = FileHandle.nullDevice
    }
    let status: Int32 = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int32, any Error>) in
        p.terminationHandler = { c.resume(returning: $0.terminationStatus) }
        do { try p.run() } catch { c.resume(throwing: error) }
        let pid = p.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { kill(pid, SIGKILL) }
    }
    try? outHandle.close()
    try? errHandle.close()
    return ProcessResult(status: status, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// A simulator plus a kubeconfig and a private HOME/cache dir for kubectl.
final class SimHarness: Sendable {
    let sim: KubeSim
    let dir: URL
    let kubeconfig: URL
    static let kubectl = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"

    init(sim: KubeSim) throws {
        self.sim = sim
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kubesim-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        kubeconfig = dir.appendingPathComponent("kubeconfig")
        try sim.writeKubeconfig(to: kubeconfig)
    }

    static func start(_ configure: (inout KubeSimOptions) -> Void = { _ in }) async throws -> SimHarness {
        var options = KubeSimOptions()
        options.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("kubesim-data-\(UUID().uuidString.prefix(8))")
        configure(&options)
        return try SimHarness(sim: try await KubeSim.start(options))
    }

    /// Runs `kubectl.1.32` against the simulator with its own HOME and cache dir.
    func kubectl(_ args: [String], kubeconfig: URL? = nil, stdin: String? = nil, timeout: TimeInterval = 60) async throws -> ProcessResult {
        try await runProcess(Self.kubectl, ["--kubeconfig", (kubeconfig ?? self.kubeconfig).path,
                                            "--cache-dir", dir.appendingPathComponent("cache").path] + args,
                             env: ["HOME": dir.path], stdin: stdin, timeout: timeout)
    }

    func kubectl(_ args: String..., stdin: String? = nil) async throws -> ProcessResult {
        try await kubectl(args, stdin: stdin)
    }

    /// Runs a python script with the `kubernetes` client configured from the kubeconfig.
    func python(_ script: String, timeout: TimeInterval = 90) async throws -> ProcessResult {
        let prelude = """
        import json, sys, time
        from kubernetes import client, config, watch
        from kubernetes.client.rest import ApiException
        config.load_kube_config(config_file=\(JSONValue.string(kubeconfig.path).jsonString))
        api = client.ApiClient()
        core = client.CoreV1Api(api)
        custom = client.CustomObjectsApi(api)

        """
        return try await runProcess(TestServices.python, ["-c", prelude + script], env: ["HOME": dir.path], timeout: timeout)
    }

    func shutdown() async {
        await sim.shutdown()
        try? FileManager.default.removeItem(at: dir)
        try? FileManager.default.removeItem(at: sim.dataDirectory)
    }
}

/// A namespaced CRD with status and scale subresources, printer columns (one wide), a default,
/// an enum, a maximum and a CEL rule.
let widgetCRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [backstop]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Size, type: string, jsonPath: .spec.size, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: "!(has(self.color) && self.color == 'red' && self.replicas > 3)"
              message: red widgets are limited to 3
            properties:
              color: {type: string, enum: [red, blue, green], default: blue}
              replicas: {type: integer, minimum: 0, maximum: 10}
              size: {type: string}
          status:
            type: object
            properties:
              replicas: {type: integer}
              conditions:
                type: array
                items: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""

let widgetCRDJSON: JSONValue = {
    // The same CRD as JSON for in-process tests (YAML is parsed by kubectl in the CLI tests).
    [
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": ["name": "widgets.example.com"],
        "spec": [
            "group": "example.com", "scope": "Namespaced",
            "names": ["plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"], "categories": ["backstop"]],
            "versions": [[
                "name": "v1", "served": true, "storage": true,
                "subresources": ["status": [:], "scale": ["specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"]],
                "schema": ["openAPIV3Schema": [
                    "type": "object",
                    "properties": [
                        "spec": [
                            "type": "object",
                            "x-kubernetes-validations": [["rule": "!(has(self.color) && self.color == 'red' && self.replicas > 3)",
                                                          "message": "red widgets are limited to 3"]],
                            "properties": [
                                "color": ["type": "string", "enum": ["red", "blue", "green"], "default": "blue"],
                                "replicas": ["type": "integer", "minimum": 0, "maximum": 10],
                                "size": ["type": "string"],
                            ],
                        ],
                        "status": ["type": "object", "x-kubernetes-preserve-unknown-fields": true],
                    ],
                ]],
            ]],
        ],
    ]
}()

func widget(_ name: String, replicas: Int64 = 1, extra: [String: JSONValue] = [:]) -> JSONValue {
    var spec: [String: JSONValue] = ["replicas": .int(replicas)]
    for (k, v) in extra { spec[k] = v }
    return ["apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": .string(name), "namespace": "default"],
            "spec": .object(spec)]
}
