/// Controllers: one gather → plan → execute controller per Backstop kind, over KubeRuntime.
