import DynamicJSON

/// The Job status-condition rules the 1.32 API server enforces on status writes (§Q), applied
/// "ratcheting": an error the old status already had is not reported again.
enum JobStatusRules {
    static func validate(_ job: JSONValue, old: JSONValue?) -> [FieldError] {
        guard let old, old["status"] != job["status"] else { return [] }
        let before = Set(check(old, previous: nil).map(\.message))
        return check(job, previous: old).filter { !before.contains($0.message) }
    }

    private static func isTrue(_ status: JSONValue?, _ type: String) -> Bool {
        (status?["conditions"]?.arrayValue ?? []).contains {
            $0["type"]?.stringValue == type && $0["status"]?.stringValue == "True"
        }
    }

    static func check(_ job: JSONValue, previous: JSONValue?) -> [FieldError] {
        var errors: [FieldError] = []
        let s = job["status"]
        let complete = isTrue(s, "Complete"), failed = isTrue(s, "Failed")
        let successMet = isTrue(s, "SuccessCriteriaMet"), failureTarget = isTrue(s, "FailureTarget")
        let cond = "status.conditions"
        if complete, !successMet {
            errors.append(FieldError(.invalid, cond, nil, "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"))
        }
        if failed, !failureTarget {
            errors.append(FieldError(.invalid, cond, nil, "cannot set Failed=True condition without the FailureTarget=true condition"))
        }
        if complete, failed { errors.append(FieldError(.invalid, cond, nil, "cannot set Complete=True and Failed=true conditions")) }
        if complete, failureTarget {
            errors.append(FieldError(.invalid, cond, nil, "cannot set Complete=True and FailureTarget=true conditions"))
        }
        if successMet, failed {
            errors.append(FieldError(.invalid, cond, nil, "cannot set SuccessCriteriaMet=True and Failed=true conditions"))
        }
        if successMet, failureTarget {
            errors.append(FieldError(.invalid, cond, nil, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"))
        }
        let startTime = s?["startTime"]?.stringValue
        let completionTime = s?["completionTime"]?.stringValue
        if complete || failed, startTime == nil {
            errors.append(.required("status.startTime", "startTime is required for finished job"))
        }
        if complete, completionTime == nil {
            errors.append(.required("status.completionTime", "completionTime is required for Complete jobs"))
        }
        if let c = completionTime, !complete {
            errors.append(.invalid("status.completionTime", .string(c), "completionTime can only be set for complete jobs"))
        }
        if let c = completionTime, let st = startTime, let cd = Timestamp.parse(c), let sd = Timestamp.parse(st), cd < sd {
            errors.append(.invalid("status.completionTime", .string(c), "completionTime cannot be set before startTime"))
        }
        let active = s?["active"]?.intValue ?? 0
        if complete || failed {
            if active > 0 { errors.append(.invalid("status.active", .int(active), "active>0 is invalid for finished job")) }
            let uncounted = s?["uncountedTerminatedPods"]
            if !((uncounted?["succeeded"]?.arrayValue ?? []).isEmpty && (uncounted?["failed"]?.arrayValue ?? []).isEmpty) {
                errors.append(.invalid("status.uncountedTerminatedPods", uncounted, "uncountedTerminatedPods needs to be empty for finished job"))
            }
        }
        if let ready = s?["ready"]?.intValue, ready > active {
            errors.append(.invalid("status.ready", .int(ready), "cannot set more ready pods than active: ready=\(ready), active=\(active)"))
        }
        if let previous {
            let p = previous["status"]
            if let before = p?["completionTime"]?.stringValue, before != completionTime {
                errors.append(.invalid("status.completionTime", completionTime.map { .string($0) }, "field is immutable"))
            }
            for t in ["Complete", "Failed", "FailureTarget"] where isTrue(p, t) && !isTrue(s, t) {
                errors.append(FieldError(.invalid, cond, nil, "cannot disable the terminal \(t)=True condition"))
            }
            if isTrue(p, "SuccessCriteriaMet"), !successMet {
                errors.append(FieldError(.invalid, cond, nil, "cannot disable the SuccessCriteriaMet=True condition"))
            }
            for counter in ["succeeded", "failed"] {
                let a = p?[counter]?.intValue ?? 0, b = s?[counter]?.intValue ?? 0
                if b < a { errors.append(.invalid("status.\(counter)", .int(b), "cannot decrease the \(counter) counter")) }
            }
        }
        return errors
    }
}
