import Foundation
import Metrics

/// The CleanupPolicy metrics: `backstop_cleanup_deleted_total{namespace,cleanuppolicy,target}`
/// moves once per recorded run; `backstop_cleanup_last_success_timestamp_seconds{namespace,cleanuppolicy}`
/// is set from status on every reconcile (correct after a restart). The object label is
/// `cleanuppolicy`, as the CleanupFailing alert in the chart reads it.
struct CleanupMetrics: Sendable {
    let factory: any MetricsFactory

    func apply(_ updates: [CleanupMetricUpdate], namespace: String, policy: String) {
        let dims = MetricDimensions.of(namespace: namespace, "cleanuppolicy", policy)
        for update in updates {
            switch update {
            case .deleted(let target, let count):
                Counter(label: "backstop_cleanup_deleted_total", dimensions: dims + [("target", target)], factory: factory)
                    .increment(by: count)
            case .lastSuccess(let date):
                if let date {
                    Gauge(label: "backstop_cleanup_last_success_timestamp_seconds", dimensions: dims, factory: factory)
                        .record(date.timeIntervalSince1970)
                }
            }
        }
    }
}
