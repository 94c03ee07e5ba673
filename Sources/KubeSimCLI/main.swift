/// kube-sim: runs the KubeSim API-server simulator on loopback and writes a kubeconfig.
print("kube-sim: not built yet")
