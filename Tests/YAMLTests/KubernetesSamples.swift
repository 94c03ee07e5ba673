/// Manifests in the shapes people write: multi-document files, block scalars, anchors,
/// flow collections, comments, octal modes, quoted look-alikes.
enum KubernetesSamples {
    static let configMapAndPod = """
        # A config map and a pod that mounts it
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: app-config
          namespace: default
        data:
          enabled: "yes"
          flag: yes
          script: |
            #!/bin/sh
            echo "hello"
          folded: >
            one
            two
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: app
          labels: {app: web, tier: "frontend"}
        spec:
          containers:
          - name: app
            image: "registry.example.com/app:1.2.3"
            args: ["--port", "8080", --verbose]
            env:
            - name: VERSION
              value: "1.0"
            resources:
              limits: {cpu: 500m, memory: 128Mi}
          volumes:
          - name: config
            configMap:
              name: app-config
              defaultMode: 0644
        """

    static let deploymentWithAnchors = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: api
          annotations:
            backstop.dev/run-now: "2024-06-01T00:00:00Z"
        spec:
          replicas: 2
          selector:
            matchLabels: &labels
              app: api
          template:
            metadata:
              labels: *labels
            spec:
              securityContext: {runAsNonRoot: true, runAsUser: 65532}
              containers:
                - &container
                  name: api
                  image: api:latest
                  ports: [{containerPort: 8080, protocol: TCP}]
                  readinessProbe:
                    httpGet: {path: /healthz, port: 8080}
                    periodSeconds: 5
                - <<: *container
                  name: worker
                  command: [/bin/worker]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: api}
        spec:
          ports:
          - port: 80
            targetPort: 8080
          selector:
            app: api
        ...
        """

    static let crd = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: backuppolicies.backstop.dev
        spec:
          group: backstop.dev
          names: {kind: BackupPolicy, plural: backuppolicies, shortNames: [bp], categories: [backstop]}
          scope: Namespaced
          versions:
          - name: v1alpha1
            served: true
            storage: true
            subresources: {status: {}}
            additionalPrinterColumns:
            - {name: Schedule, type: string, jsonPath: .spec.schedule}
            - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec:
                    type: object
                    required: [schedule]
                    properties:
                      schedule: {type: string, pattern: '^(@(daily|hourly)|\\S+ \\S+ \\S+ \\S+ \\S+)$'}
                      suspend: {type: boolean, default: false}
                      startingDeadlineSeconds: {type: integer, minimum: 0}
                      x-kubernetes-preserve-unknown-fields: true
        """

    static let all = [configMapAndPod, deploymentWithAnchors, crd]
}
