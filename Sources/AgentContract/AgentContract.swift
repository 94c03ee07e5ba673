/// AgentContract: the wire contract between the two planes. `AgentSpec` is what a controller
/// writes into an agent Job (`BACKSTOP_SPEC`), `AgentReport` what the agent writes back as its
/// termination message. Both `Controllers` (which encodes specs and decodes reports) and
/// `Agent` (which decodes specs and encodes reports) import these types, so a field renamed on
/// one side is a compile error on the other instead of a Job failing with `SpecInvalid`.
///
/// Why a module of its own and not part of BackstopCore: these are plain Codable values with
/// no behaviour (the agent adds its behaviour in extensions); keeping them apart makes the
/// contract one folder a reviewer reads in one sitting, and lets a change to it show up as a
/// change to exactly this target. It depends only on BackstopCore (retention rules, artifact
/// selectors, durations, check results), DynamicJSON (a source's free-form `details`) and takes one type from KubeModel (`SQLCheck`, which the CRD and the
/// agent spell alike); otherwise the spec is the resolved form (Secret *file paths*, mount
/// paths), not the custom resource.
enum AgentContractModule {}
