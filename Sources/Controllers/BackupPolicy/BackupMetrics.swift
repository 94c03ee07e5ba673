import Foundation
import Metrics

/// The BackupPolicy Prometheus metrics, labelled by namespace and policy. Gauges are set from
/// status on every reconcile (correct after a restart); the counter and the histogram move
/// only when a Job's result is recorded.
struct BackupMetrics: Sendable {
    let factory: any MetricsFactory

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
                if let lastSuccess {
                    Gauge(label: "backstop_backup_last_success_timestamp_seconds", dimensions: dims, factory: factory)
                        .record(lastSuccess.timeIntervalSince1970)
                }
                // 0 for a policy never verified, so BackupNotVerified sees it.
                Gauge(label: "backstop_backup_last_verified_timestamp_seconds", dimensions: dims, factory: factory)
                    .record(lastVerified?.timeIntervalSince1970 ?? 0)
                if let staleAfter {
                    Gauge(label: "backstop_backup_stale_after_seconds", dimensions: dims, factory: factory).record(staleAfter)
                }
                if let count { Gauge(label: "backstop_backup_artifacts", dimensions: dims, factory: factory).record(count) }
                if let bytes { Gauge(label: "backstop_backup_bytes", dimensions: dims, factory: factory).record(bytes) }
            }
        }
    }
}
