/// KubeClient: a typed Kubernetes REST client over the HTTP module: kubeconfig and in-cluster auth,
/// CRUD, patch, status, scale, watch, and `KubeError` carrying the server's `Status`.
