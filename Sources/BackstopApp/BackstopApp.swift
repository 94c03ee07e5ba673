/// BackstopApp: the operator process assembled from the modules below it — the `run` service
/// group, the embedded `demo` (KubeSim + Job runner + local PostgreSQL + a directory store) and
/// the `status` incident view — kept out of the executable so tests drive the same code.
