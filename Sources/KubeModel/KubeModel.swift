/// KubeModel: Codable types for Kubernetes object metadata (`ObjectMeta`, `Condition` and its
/// helpers, `Status`, `Time`/`MicroTime`), the built-in kinds Backstop touches (Secret, ConfigMap,
/// Job, Pod, Deployment, StatefulSet, Lease, Event, PVC) and the five Backstop kinds
/// (`BackupPolicy`, `RestoreRequest`, `DrillRun`, `SecretRotation`, `CleanupPolicy`).
///
/// `Schema/` holds the one Swift description of each kind's schema (`Backstop.kinds`), from which
/// the CRDs (`KindDescription.crd`), the Markdown reference and the offline validator's checks
/// come. String enums are `OpenEnum` structs: values from a newer server decode and round-trip.
