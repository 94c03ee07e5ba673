import DynamicJSON

/// The AgentFS runbook's database shape (tenants, api_keys, entries, entry_versions with their
/// foreign keys, a DR marker) plus the append-only audit table of the platform runbook, and the
/// AgentFS runbook's post-restore integrity queries as SQL checks. Shared by the agent and
/// controller tests, so both restore the same shape and ask the same questions.
public enum SeedSchema {
    /// Creates and fills the tables (without the audit trigger: `auditTrigger` adds it).
    public static let sql = """
        CREATE TABLE tenants (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
        CREATE TABLE api_keys (id serial PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants(id), key_hash text NOT NULL);
        CREATE TABLE entries (id serial PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants(id), path text NOT NULL,
                              latest_version_id int);
        CREATE TABLE entry_versions (id serial PRIMARY KEY, entry_id int NOT NULL REFERENCES entries(id), path text NOT NULL,
                                     value jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
        ALTER TABLE entries ADD CONSTRAINT entries_latest_version_fk FOREIGN KEY (latest_version_id) REFERENCES entry_versions(id);
        CREATE TABLE agent_audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), action text NOT NULL);
        CREATE FUNCTION forbid_audit_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'agent_audit_log is append-only'; END $$;
        INSERT INTO tenants (name) SELECT 'tenant-' || g FROM generate_series(1, 3) g;
        INSERT INTO api_keys (tenant_id, key_hash) SELECT 1 + g % 3, md5(g::text) FROM generate_series(1, 6) g;
        INSERT INTO entries (tenant_id, path) SELECT 1 + g % 3, '/e/' || g FROM generate_series(1, 200) g;
        INSERT INTO entry_versions (entry_id, path, value)
          SELECT e.id, e.path, jsonb_build_object('v', v, 'text', repeat('x', 50)) FROM entries e, generate_series(1, 3) v;
        INSERT INTO entries (tenant_id, path) VALUES (1, '/dr-test/marker');
        INSERT INTO entry_versions (entry_id, path, value) SELECT id, path, '{"marker": true}' FROM entries WHERE path = '/dr-test/marker';
        UPDATE entries e SET latest_version_id = (SELECT max(id) FROM entry_versions v WHERE v.entry_id = e.id);
        INSERT INTO agent_audit_log (action) SELECT 'action-' || g FROM generate_series(1, 50) g;
        """

    public static let auditTrigger = """
        CREATE TRIGGER prevent_audit_mutation BEFORE UPDATE OR DELETE ON agent_audit_log
        FOR EACH ROW EXECUTE FUNCTION forbid_audit_mutation()
        """

    public static let tables = ["tenants", "api_keys", "entries", "entry_versions", "agent_audit_log"]

    /// The AgentFS runbook's integrity queries after a restore, as `{name, query, expect}`.
    public static let checks: JSONValue = [
        ["name": "fk-entries", "expect": "0",
         "query": "SELECT count(*) FROM entries e LEFT JOIN entry_versions ev ON e.latest_version_id = ev.id WHERE ev.id IS NULL"],
        ["name": "marker", "expect": "1", "query": "SELECT count(*) FROM entry_versions WHERE path = '/dr-test/marker'"],
        ["name": "audit-trigger", "expect": "1", "query": "SELECT count(*) FROM pg_trigger WHERE tgname = 'prevent_audit_mutation'"],
    ]
}
