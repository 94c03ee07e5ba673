import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A throwaway CA and a loopback server certificate signed by it (P-256), made at startup.
/// Clients trust `caPEM` through kubeconfig `certificate-authority-data`.
struct SelfSignedTLS: Sendable {
    let caPEM: String
    let serverCertPEM: String
    let serverKeyPEM: String

    static func generate(hosts: [String] = ["localhost"], ips: [[UInt8]] = [[127, 0, 0, 1]]) throws -> SelfSignedTLS {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("kube-sim")
            CommonName("kube-sim CA")
        }
        let caExtensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
        }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256, extensions: caExtensions,
            issuerPrivateKey: .init(caKey))

        let serverKey = P256.Signing.PrivateKey()
        let serverName = try DistinguishedName { CommonName("kube-apiserver") }
        var names: [GeneralName] = hosts.map { .dnsName($0) }
        names += ips.map { .ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
        let serverExtensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(names)
        }
        let server = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(serverKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: caName, subject: serverName, signatureAlgorithm: .ecdsaWithSHA256, extensions: serverExtensions,
            issuerPrivateKey: .init(caKey))

        return SelfSignedTLS(caPEM: try ca.serializeAsPEM().pemString, serverCertPEM: try server.serializeAsPEM().pemString,
                             serverKeyPEM: serverKey.pemRepresentation)
    }

    func sslContext() throws -> NIOSSLContext {
        let cert = try NIOSSLCertificate(bytes: Array(serverCertPEM.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(serverKeyPEM.utf8), format: .pem)
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(cert)], privateKey: .privateKey(key))
        // HTTP/1.1 only: client-go would switch to HTTP/2 if offered.
        config.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: config)
    }
}
