import Foundation
import KubeRuntime
import Metrics

/// The BackupPolicy Prometheus metrics, labelled by namespace and policy. Gauges are set from
/// status on every reconcile (correct after a restart) in the manager's `ObjectGauges`, and
/// removed with their policy; the counter and the histogram move only when a Job's result is
/// recorded.
struct BackupMetrics: Sendable {
    let factory: any MetricsFactory
    let gauges: ObjectGauges

    /// A deleted policy's gauges go with it (BackupTooOld must not fire for it).
    func forget(namespace: String, policy: String) {
        gauges.remove(labels: MetricDimensions.of(namespace: namespace, "policy", policy))
    }

    func apply(_ updates: [BackupMetricUpdate], namespace: String, policy: String) {
        let dims = MetricDimensions.of(namespace: namespace, "policy", policy)
        for update in updates {
            switch update {
            case .backupSucceeded(let seconds):
                if let seconds {
                    Metrics.Timer(label: "backstop_backup_duration_seconds", dimensions: dims, factory: factory)
                        .recordNanoseconds(Int64(seconds * 1e9))
                }
            case .backupFailed(let seconds):
                Counter(label: "backstop_backup_failures_total", dimensions: dims, factory: factory).increment()
                if let seconds {
                    Metrics.Timer(label: "backstop_backup_duration_seconds", dimensions: dims, factory: factory)
                        .recordNanoseconds(Int64(seconds * 1e9))
                }
            case .gauges(let lastSuccess, let count, let bytes, let lastVerified, let staleAfter):
                if let lastSuccess { gauges.set("backstop_backup_last_success_timestamp_seconds", labels: dims, to: lastSuccess.timeIntervalSince1970) }
                // 0 for a policy never verified, so BackupNotVerified sees it.
                gauges.set("backstop_backup_last_verified_timestamp_seconds", labels: dims, to: lastVerified?.timeIntervalSince1970 ?? 0)
                if let staleAfter { gauges.set("backstop_backup_stale_after_seconds", labels: dims, to: Double(staleAfter)) }
                if let count { gauges.set("backstop_backup_artifacts", labels: dims, to: Double(count)) }
                if let bytes { gauges.set("backstop_backup_bytes", labels: dims, to: Double(bytes)) }
            }
        }
    }
}
