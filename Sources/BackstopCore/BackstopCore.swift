/// BackstopCore: pure domain logic shared by the control and data planes: cron and durations,
/// retention planning, artifact naming and manifests, Job builders and the per-kind planners.
