/// KubeSim: an in-process Kubernetes API-server simulator that real clients (kubectl 1.32, the python
/// client) accept, with switchable simulated controllers, a Job runner and test hooks.
