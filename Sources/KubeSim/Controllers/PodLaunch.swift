import DynamicJSON
import Foundation

/// Everything needed to run one Pod's containers as local processes, resolved under the store
/// lock (Secrets, ConfigMaps, claims) and executed outside it.
///
/// Mapping a Pod onto the local machine (documented in docs/kubesim.md):
/// - each volume is a local directory: `emptyDir` and `secret`/`configMap` (keys written as
///   files) under `<data>/pods/<uid>/volumes/<name>`, a PVC at `<data>/volumes/pvc-<claim uid>`;
/// - a container cannot see its mount paths, so every argument, command word, env value and
///   `workingDir` that equals a mount path or starts with `<mountPath>/` (also after a `=`) is
///   rewritten to the local directory; `KUBESIM_MOUNT_<PATH>` (upper-cased, non-alphanumerics as
///   `_`) names each directory too;
/// - the termination-message file is `<data>/pods/<uid>/<container>/termination-log`, given as
///   `KUBESIM_TERMINATION_MESSAGE_PATH` and substituted for the declared path the same way.
struct LaunchSpec: Sendable {
    struct Step: Sendable {
        var name: String
        var argv: [String]
        var env: [String: String]
        var workingDir: URL
        var terminationMessageFile: URL
        var fallbackToLogs: Bool
        var logFile: URL
        /// Set when the container cannot start (no command for the image, missing Secret key, …).
        var startError: String?
        /// The kubelet's waiting reason for `startError`: `ErrImagePull`, `CreateContainerConfigError`, `ContainerCreating`.
        var waitingReason = "CreateContainerConfigError"
        /// Container path → local directory, longest first (exec probes are rewritten the same way).
        var mounts: [(String, String)] = []
    }
    var podKey: ObjectKey
    var podUID: String
    var restartPolicy: String
    /// Init containers, run one after the other before the app containers.
    var initSteps: [Step]
    /// App containers, run side by side.
    var appSteps: [Step]
    var filesToWrite: [(URL, Data)]
    var directories: [URL]
}

extension StoreState {
    func launchSpec(pod: JSONValue, dataDirectory: URL, config: JobRunnerConfig, extraEnv: [String: String]) -> LaunchSpec {
        let meta = pod["metadata"] ?? [:]
        let ns = meta["namespace"]?.stringValue ?? ""
        let uid = meta["uid"]?.stringValue ?? ""
        let podDir = dataDirectory.appendingPathComponent("pods/\(uid)")
        let spec = pod["spec"] ?? [:]
        var files: [(URL, Data)] = []
        var dirs: [URL] = [podDir]
        var volumeDirs: [String: URL] = [:]
        var volumeErrors: [String] = []
        for v in spec["volumes"]?.arrayValue ?? [] {
            let name = v["name"]?.stringValue ?? ""
            var dir = podDir.appendingPathComponent("volumes/\(name)")
            if let claim = v["persistentVolumeClaim"]?["claimName"]?.stringValue {
                if let pvc = tables[Self.pvcGR]?[ObjectKey(namespace: ns, name: claim)], let cuid = pvc["metadata"]?["uid"]?.stringValue {
                    dir = Self.claimDirectory(uid: cuid, dataDirectory: dataDirectory.appendingPathComponent("volumes"))
                } else {
                    volumeErrors.append("persistentvolumeclaim \(goQuote(claim)) not found")
                }
            } else if let source = v["secret"] ?? v["configMap"] {
                let isSecret = v["secret"] != nil
                let objName = (isSecret ? source["secretName"] : source["name"])?.stringValue ?? ""
                let gr = GroupResource(group: "", resource: isSecret ? "secrets" : "configmaps")
                if let obj = tables[gr]?[ObjectKey(namespace: ns, name: objName)] {
                    var entries: [(String, Data)] = []
                    for (k, val) in obj["data"]?.objectValue ?? [:] {
                        let s = val.stringValue ?? ""
                        entries.append((k, isSecret ? (Data(base64Encoded: s) ?? Data()) : Data(s.utf8)))
                    }
                    for (k, val) in obj["binaryData"]?.objectValue ?? [:] { entries.append((k, Data(base64Encoded: val.stringValue ?? "") ?? Data())) }
                    let items = source["items"]?.arrayValue
                    for (k, data) in entries {
                        if let items {
                            guard let item = items.first(where: { $0["key"]?.stringValue == k }) else { continue }
                            files.append((dir.appendingPathComponent(item["path"]?.stringValue ?? k), data))
                        } else {
                            files.append((dir.appendingPathComponent(k), data))
                        }
                    }
                } else if source["optional"]?.boolValue != true {
                    volumeErrors.append("\(isSecret ? "secret" : "configmap") \(goQuote(objName)) not found")
                }
            } else if let sources = v["projected"]?["sources"]?.arrayValue {
                // Secret and ConfigMap sources (serviceAccountToken and downwardAPI are not simulated).
                for source in sources {
                    let isSecret = source["secret"] != nil
                    guard let ref = source["secret"] ?? source["configMap"], let objName = ref["name"]?.stringValue else { continue }
                    let gr = GroupResource(group: "", resource: isSecret ? "secrets" : "configmaps")
                    guard let obj = tables[gr]?[ObjectKey(namespace: ns, name: objName)] else {
                        if ref["optional"]?.boolValue != true { volumeErrors.append("\(isSecret ? "secret" : "configmap") \(goQuote(objName)) not found") }
                        continue
                    }
                    let items = ref["items"]?.arrayValue
                    for (k, val) in obj["data"]?.objectValue ?? [:] {
                        let s = val.stringValue ?? ""
                        let data = isSecret ? (Data(base64Encoded: s) ?? Data()) : Data(s.utf8)
                        if let items {
                            guard let item = items.first(where: { $0["key"]?.stringValue == k }) else { continue }
                            files.append((dir.appendingPathComponent(item["path"]?.stringValue ?? k), data))
                        } else {
                            files.append((dir.appendingPathComponent(k), data))
                        }
                    }
                }
            }
            dirs.append(dir)
            volumeDirs[name] = dir
        }
        func steps(_ field: String) -> [LaunchSpec.Step] {
            (spec[field]?.arrayValue ?? []).map { c in
                step(c, pod: pod, podDir: podDir, volumeDirs: volumeDirs, volumeErrors: volumeErrors, config: config,
                     extraEnv: extraEnv, dirs: &dirs)
            }
        }
        return LaunchSpec(podKey: ObjectKey(namespace: ns, name: meta["name"]?.stringValue ?? ""), podUID: uid,
                          restartPolicy: spec["restartPolicy"]?.stringValue ?? "Always", initSteps: steps("initContainers"),
                          appSteps: steps("containers"), filesToWrite: files, directories: dirs)
    }

    private func step(_ c: JSONValue, pod: JSONValue, podDir: URL, volumeDirs: [String: URL], volumeErrors: [String],
                      config: JobRunnerConfig, extraEnv: [String: String], dirs: inout [URL]) -> LaunchSpec.Step
    {
        let name = c["name"]?.stringValue ?? "main"
        let containerDir = podDir.appendingPathComponent(name)
        dirs.append(containerDir)
        let termFile = containerDir.appendingPathComponent("termination-log")
        var mounts: [(String, String)] = []
        for m in c["volumeMounts"]?.arrayValue ?? [] {
            guard let path = m["mountPath"]?.stringValue, let dir = volumeDirs[m["name"]?.stringValue ?? ""] else { continue }
            var local = dir
            if let sub = m["subPath"]?.stringValue, !sub.isEmpty {
                local = dir.appendingPathComponent(sub)
                dirs.append(local)
            }
            mounts.append((path, local.path))
        }
        let declaredTerm = c["terminationMessagePath"]?.stringValue ?? "/dev/termination-log"
        mounts.append((declaredTerm, termFile.path))
        mounts.sort { $0.0.count > $1.0.count }
        func rewrite(_ s: String) -> String { Self.rewritePaths(s, mounts) }

        var startError = volumeErrors.first
        var waitingReason = startError == nil ? "CreateContainerConfigError" : "ContainerCreating"
        var env: [String: String] = ProcessInfo.processInfo.environment.filter { ["PATH", "LANG", "TMPDIR"].contains($0.key) }
        env["HOME"] = containerDir.path
        for (k, v) in extraEnv { env[k] = v }
        env["HOSTNAME"] = pod["metadata"]?["name"]?.stringValue ?? ""
        env["KUBESIM_TERMINATION_MESSAGE_PATH"] = termFile.path
        for (path, local) in mounts where path != declaredTerm {
            let key = path.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            env["KUBESIM_MOUNT" + (key.hasPrefix("_") ? key : "_" + key)] = local
        }
        let ns = pod["metadata"]?["namespace"]?.stringValue ?? ""
        for from in c["envFrom"]?.arrayValue ?? [] {
            let prefix = from["prefix"]?.stringValue ?? ""
            for (isSecret, ref) in [(true, from["secretRef"]), (false, from["configMapRef"])] {
                guard let ref, let refName = ref["name"]?.stringValue else { continue }
                let gr = GroupResource(group: "", resource: isSecret ? "secrets" : "configmaps")
                guard let obj = tables[gr]?[ObjectKey(namespace: ns, name: refName)] else {
                    if ref["optional"]?.boolValue != true { startError = startError ?? "\(isSecret ? "secret" : "configmap") \(goQuote(refName)) not found" }
                    continue
                }
                for (k, v) in obj["data"]?.objectValue ?? [:] {
                    let s = v.stringValue ?? ""
                    env[prefix + k] = isSecret ? String(decoding: Data(base64Encoded: s) ?? Data(), as: UTF8.self) : s
                }
            }
        }
        for e in c["env"]?.arrayValue ?? [] {
            guard let key = e["name"]?.stringValue else { continue }
            if let v = e["value"]?.stringValue {
                env[key] = rewrite(Self.expandVars(v, env))
            } else if let from = e["valueFrom"] {
                switch resolveEnvSource(from, pod: pod, namespace: ns) {
                case .success(let v?): env[key] = v
                case .success(nil): break
                case .failure(let e): startError = startError ?? e.message
                }
            } else {
                env[key] = ""
            }
        }
        let command = (c["command"]?.arrayValue ?? []).compactMap(\.stringValue).map { Self.expandVars($0, env) }
        let args = (c["args"]?.arrayValue ?? []).compactMap(\.stringValue).map { Self.expandVars($0, env) }
        let image = c["image"]?.stringValue ?? ""
        var argv: [String] = []
        if !command.isEmpty {
            argv = command + args
        } else if let entry = config.entrypoint(for: image) {
            argv = entry + args
        } else if startError == nil {
            startError = "kube-sim: no local command for image \(goQuote(image)); add it to the Job runner image map"
            waitingReason = "ErrImagePull"
        }
        let workingDir = c["workingDir"]?.stringValue.map { URL(fileURLWithPath: rewrite($0)) } ?? containerDir
        return LaunchSpec.Step(name: name, argv: argv.map(rewrite), env: env, workingDir: workingDir, terminationMessageFile: termFile,
                               fallbackToLogs: c["terminationMessagePolicy"]?.stringValue == "FallbackToLogsOnError",
                               logFile: podDir.appendingPathComponent("\(name).log"), startError: startError,
                               waitingReason: waitingReason, mounts: mounts)
    }

    private func resolveEnvSource(_ from: JSONValue, pod: JSONValue, namespace: String) -> Result<String?, EnvError> {
        for (isSecret, ref) in [(true, from["secretKeyRef"]), (false, from["configMapKeyRef"])] {
            guard let ref else { continue }
            let name = ref["name"]?.stringValue ?? "", key = ref["key"]?.stringValue ?? ""
            let optional = ref["optional"]?.boolValue == true
            let kindWord = isSecret ? "secret" : "configmap"
            let gr = GroupResource(group: "", resource: isSecret ? "secrets" : "configmaps")
            guard let obj = tables[gr]?[ObjectKey(namespace: namespace, name: name)] else {
                return optional ? .success(nil) : .failure(EnvError(message: "\(kindWord) \(goQuote(name)) not found"))
            }
            if let v = obj["data"]?[key]?.stringValue {
                return .success(isSecret ? String(decoding: Data(base64Encoded: v) ?? Data(), as: UTF8.self) : v)
            }
            return optional ? .success(nil) : .failure(EnvError(message: "couldn't find key \(key) in \(isSecret ? "Secret" : "ConfigMap") \(namespace)/\(name)"))
        }
        if let path = from["fieldRef"]?["fieldPath"]?.stringValue {
            let meta = pod["metadata"] ?? [:]
            switch path {
            case "metadata.name": return .success(meta["name"]?.stringValue)
            case "metadata.namespace": return .success(meta["namespace"]?.stringValue)
            case "metadata.uid": return .success(meta["uid"]?.stringValue)
            case "spec.nodeName": return .success(pod["spec"]?["nodeName"]?.stringValue ?? "kube-sim")
            case "spec.serviceAccountName": return .success(pod["spec"]?["serviceAccountName"]?.stringValue ?? "default")
            case "status.podIP", "status.podIPs": return .success(pod["status"]?["podIP"]?.stringValue ?? "127.0.0.1")
            case "status.hostIP", "status.hostIPs": return .success("127.0.0.1")
            default:
                for field in ["labels", "annotations"] where path.hasPrefix("metadata.\(field)['") && path.hasSuffix("']") {
                    let key = String(path.dropFirst("metadata.\(field)['".count).dropLast(2))
                    return .success(meta[field]?[key]?.stringValue ?? "")
                }
                return .failure(EnvError(message: "unsupported fieldPath \(goQuote(path))"))
            }
        }
        if from["resourceFieldRef"] != nil { return .success("0") }
        return .success(nil)
    }

    struct EnvError: Error { var message: String }

    /// `$(VAR)` expansion as the kubelet does it (`$$` escapes).
    static func expandVars(_ s: String, _ env: [String: String]) -> String {
        guard s.contains("$") else { return s }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "$", s.index(after: i) < s.endIndex {
                let next = s[s.index(after: i)]
                if next == "$" { out.append("$"); i = s.index(i, offsetBy: 2); continue }
                if next == "(", let close = s[i...].firstIndex(of: ")") {
                    let name = String(s[s.index(i, offsetBy: 2)..<close])
                    if let v = env[name] { out += v } else { out += String(s[i...close]) }
                    i = s.index(after: close)
                    continue
                }
            }
            out.append(s[i])
            i = s.index(after: i)
        }
        return out
    }

    /// Rewrites container paths (`/data`, `/data/x`, `--out=/data/x`) to local directories.
    static func rewritePaths(_ s: String, _ mounts: [(String, String)]) -> String {
        func rewriteWord(_ w: Substring) -> String {
            for (path, local) in mounts {
                if w == path { return local }
                if w.hasPrefix(path.hasSuffix("/") ? path : path + "/") { return local + "/" + w.dropFirst(path.count).drop { $0 == "/" } }
            }
            return String(w)
        }
        // `--out=/data/x` and `KEY=/data/x` are one word; a script (`i=0; … /data/x`) is not.
        if let eq = s.firstIndex(of: "="), !s[..<eq].contains("/"), !s.contains(" "), !s.contains("\n") {
            return String(s[...eq]) + rewriteWord(s[s.index(after: eq)...])
        }
        // Inside shell scripts (`sh -c "… /data/x …"`) rewrite every space-separated word.
        if s.contains(" ") || s.contains("\n") {
            var result = s
            for (path, local) in mounts {
                result = result.replacingOccurrences(of: " \(path)/", with: " \(local)/")
                    .replacingOccurrences(of: "=\(path)/", with: "=\(local)/")
                    .replacingOccurrences(of: ">\(path)", with: ">\(local)")
                    .replacingOccurrences(of: "> \(path)", with: "> \(local)")
                if result.hasPrefix(path + "/") { result = local + result.dropFirst(path.count) }
                result = result.replacingOccurrences(of: " \(path) ", with: " \(local) ")
                if result.hasSuffix(" \(path)") { result = String(result.dropLast(path.count)) + local }
            }
            return result
        }
        return rewriteWord(Substring(s))
    }
}
