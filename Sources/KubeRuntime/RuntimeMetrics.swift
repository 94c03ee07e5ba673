import Metrics
import Prometheus

/// Process-wide metrics setup for `backstop run`.
public enum RuntimeMetrics {
    /// Bootstraps swift-metrics with a Prometheus factory (once per process) and returns the
    /// registry the `HealthServer` serves at `/metrics`.
    public static func bootstrapPrometheus() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
