/// KubeRuntime: reflectors and caches, the work queue, the controller loop, leader election, the
/// event recorder and the health/metrics server, each a swift-service-lifecycle `Service`.
