import DynamicJSON
import Foundation

/// Where the API server is and how to authenticate: from a kubeconfig file or from the
/// in-cluster service account. Credentials never appear in `description`.
public struct KubeConfig: Sendable, CustomStringConvertible {
    /// `https://host:port` (no trailing slash).
    public var server: String
    /// How requests authenticate.
    public var credentials: Credentials
    /// CA certificates (PEM) to trust; nil means the system bundle.
    public var certificateAuthority: PEM?
    public var clientCertificate: PEM?
    public var clientKey: PEM?
    /// Only when the kubeconfig asks for it.
    public var insecureSkipTLSVerify: Bool
    /// The default namespace (context namespace, or the service account's).
    public var namespace: String
    /// A token file is re-read at least this often (and after every 401).
    public var tokenReloadInterval: Duration = .seconds(60)

    public enum Credentials: Sendable {
        case none
        case token(String)
        /// Re-read periodically, so projected (rotating) service-account tokens keep working.
        case tokenFile(String)
    }

    /// PEM text given inline or as a path.
    public enum PEM: Sendable, Hashable {
        case data([UInt8])
        case file(String)
    }

    public init(server: String, credentials: Credentials = .none, certificateAuthority: PEM? = nil,
                clientCertificate: PEM? = nil, clientKey: PEM? = nil, insecureSkipTLSVerify: Bool = false,
                namespace: String = "default") {
        var server = server
        while server.hasSuffix("/") { server.removeLast() }
        self.server = server
        self.credentials = credentials
        self.certificateAuthority = certificateAuthority
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.namespace = namespace
    }

    public var description: String {
        let auth: String = switch credentials {
        case .none: clientCertificate == nil ? "none" : "client certificate"
        case .token: "token"
        case .tokenFile(let path): "token file \(path)"
        }
        return "KubeConfig(server: \(server), auth: \(auth), namespace: \(namespace)\(insecureSkipTLSVerify ? ", insecure" : ""))"
    }

    // MARK: - Loading

    /// The standard search: an explicit path, else `$KUBECONFIG` (first existing entry), else the
    /// in-cluster service account when `KUBERNETES_SERVICE_HOST` is set, else `~/.kube/config`.
    public static func load(kubeconfig path: String? = nil, context: String? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(KubeError) -> KubeConfig {
        if let path, !path.isEmpty { return try fromKubeconfig(path: path, context: context) }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            for entry in list.split(separator: ":").map(String.init) where FileManager.default.fileExists(atPath: entry) {
                return try fromKubeconfig(path: entry, context: context)
            }
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil { return try inCluster(environment: environment) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return try fromKubeconfig(path: home + "/.kube/config", context: context)
    }

    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The pod's service account: `token` (re-read), `ca.crt`, `namespace` under `directory`,
    /// and the server from `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`.
    public static func inCluster(directory: String = serviceAccountDirectory,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws(KubeError) -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw configError("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")
        }
        let tokenPath = directory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw configError("service account token \(tokenPath) is missing or unreadable")
        }
        let caPath = directory + "/ca.crt"
        guard FileManager.default.isReadableFile(atPath: caPath) else {
            throw configError("service account CA \(caPath) is missing or unreadable")
        }
        let namespace = (try? String(contentsOfFile: directory + "/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConfig(server: "https://\(hostPart):\(port)", credentials: .tokenFile(tokenPath),
                          certificateAuthority: .file(caPath),
                          namespace: namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default")
    }

    /// Reads a kubeconfig file; relative paths inside it are resolved against its directory.
    public static func fromKubeconfig(path: String, context: String? = nil) throws(KubeError) -> KubeConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw configError("kubeconfig \(path) cannot be read")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try fromKubeconfig(text: String(decoding: data, as: UTF8.self), baseDirectory: directory,
                                  context: context, origin: path)
    }

    /// Parses kubeconfig YAML (or JSON) text.
    public static func fromKubeconfig(text: String, baseDirectory: String = ".", context: String? = nil,
                                      origin: String = "kubeconfig") throws(KubeError) -> KubeConfig {
        let document: JSONValue
        do { document = try parseConfigDocument(text) } catch {
            throw configError("\(origin) is not valid YAML: \(error)")
        }
        return try Kubeconfig(document: document, origin: origin, baseDirectory: baseDirectory).resolve(context: context)
    }

    static func configError(_ text: String) -> KubeError { KubeError(kind: .configuration, detail: text) }
}

/// The parts of a kubeconfig document the client understands.
struct Kubeconfig {
    let document: JSONValue
    let origin: String
    let baseDirectory: String

    func resolve(context requested: String?) throws(KubeError) -> KubeConfig {
        let contextName = requested ?? document["current-context"]?.stringValue ?? ""
        guard !contextName.isEmpty else { throw KubeConfig.configError("\(origin) has no current-context") }
        guard let context = named("contexts", contextName)?["context"] else {
            throw KubeConfig.configError("\(origin) has no context \"\(contextName)\"")
        }
        let clusterName = context["cluster"]?.stringValue ?? ""
        guard let cluster = named("clusters", clusterName)?["cluster"] else {
            throw KubeConfig.configError("\(origin): context \"\(contextName)\" names cluster \"\(clusterName)\", which is not defined")
        }
        guard let server = cluster["server"]?.stringValue, !server.isEmpty else {
            throw KubeConfig.configError("\(origin): cluster \"\(clusterName)\" has no server")
        }
        let userName = context["user"]?.stringValue ?? ""
        let user = userName.isEmpty ? JSONValue.object([:]) : named("users", userName)?["user"]
        guard let user else {
            throw KubeConfig.configError("\(origin): context \"\(contextName)\" names user \"\(userName)\", which is not defined")
        }
        if user["exec"] != nil || user["auth-provider"] != nil {
            throw KubeConfig.configError("\(origin): user \"\(userName)\" uses an exec/auth-provider plugin, which is not supported; use a token or client certificate")
        }
        if user["username"] != nil || user["password"] != nil {
            throw KubeConfig.configError("\(origin): user \"\(userName)\" uses basic auth, which is not supported; use a token or client certificate")
        }

        var credentials = KubeConfig.Credentials.none
        if let token = user["token"]?.stringValue, !token.isEmpty {
            credentials = .token(token)
        } else if let file = user["tokenFile"]?.stringValue, !file.isEmpty {
            credentials = .tokenFile(absolute(file))
        }
        var config = KubeConfig(
            server: server, credentials: credentials,
            certificateAuthority: try pem(cluster, data: "certificate-authority-data", file: "certificate-authority"),
            clientCertificate: try pem(user, data: "client-certificate-data", file: "client-certificate"),
            clientKey: try pem(user, data: "client-key-data", file: "client-key"),
            insecureSkipTLSVerify: cluster["insecure-skip-tls-verify"]?.boolValue ?? false,
            namespace: context["namespace"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "default")
        if (config.clientCertificate == nil) != (config.clientKey == nil) {
            throw KubeConfig.configError("\(origin): user \"\(userName)\" needs both a client certificate and a client key")
        }
        if server.hasPrefix("http://") { config.insecureSkipTLSVerify = false }
        return config
    }

    private func named(_ section: String, _ name: String) -> JSONValue? {
        document[section]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : baseDirectory + "/" + path
    }

    private func pem(_ object: JSONValue, data: String, file: String) throws(KubeError) -> KubeConfig.PEM? {
        if let encoded = object[data]?.stringValue, !encoded.isEmpty {
            guard let bytes = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                throw KubeConfig.configError("\(origin): \(data) is not valid base64")
            }
            return .data(Array(bytes))
        }
        if let path = object[file]?.stringValue, !path.isEmpty { return .file(absolute(path)) }
        return nil
    }
}
