/**
 * What running a shared lab needs: a record of every admin change (who, when,
 * what), a device's physical owner and group, how long each device type's
 * jobs are kept, and a purge that may remove whole old jobs. The log and
 * history tables stay append-only for everything else: only a transaction that
 * has said `SET LOCAL basalt.purge = 'on'` (retention.ts does, and deletes
 * nothing but whole finished jobs) may delete from them.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

const statements = [
  sql`CREATE TABLE admin_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    username text NOT NULL,
    object_kind text NOT NULL CHECK (object_kind ~ '^[a-z][a-z-]*$'),
    object_name text NOT NULL,
    summary text NOT NULL
  )`,
  sql`CREATE INDEX admin_changes_by_object ON admin_changes (object_kind, object_name, id)`,
  sql`CREATE TRIGGER admin_changes_append_only BEFORE UPDATE OR DELETE ON admin_changes
      FOR EACH ROW EXECUTE FUNCTION basalt_refuse_rewrite()`,
  sql`ALTER TABLE devices ADD COLUMN physical_owner text, ADD COLUMN physical_group text`,
  // null: the lab's default (the master's --keep-days)
  sql`ALTER TABLE device_types ADD COLUMN retention_days integer CHECK (retention_days > 0)`,
  sql`CREATE INDEX test_jobs_ended ON test_jobs (end_time) WHERE end_time IS NOT NULL`,
  sql`CREATE INDEX webhook_deliveries_by_job ON webhook_deliveries (job_id)`,
  // A purge deletes old jobs' logs and history, and nothing else ever may.
  sql`CREATE FUNCTION basalt_refuse_rewrite_unless_purging() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('basalt.purge', true) = 'on' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
    END
  $$`,
  sql`DROP TRIGGER job_log_lines_append_only ON job_log_lines`,
  sql`CREATE TRIGGER job_log_lines_append_only BEFORE UPDATE OR DELETE ON job_log_lines
      FOR EACH ROW EXECUTE FUNCTION basalt_refuse_rewrite_unless_purging()`,
  sql`DROP TRIGGER actor_events_append_only ON actor_events`,
  sql`CREATE TRIGGER actor_events_append_only BEFORE UPDATE OR DELETE ON actor_events
      FOR EACH ROW EXECUTE FUNCTION basalt_refuse_rewrite_unless_purging()`,
  // A worker removed leaves its retired devices and its old jobs without one; a tag removed leaves old jobs.
  sql`ALTER TABLE devices DROP CONSTRAINT devices_worker_hostname_fkey,
      ADD CONSTRAINT devices_worker_hostname_fkey FOREIGN KEY (worker_hostname)
      REFERENCES workers (hostname) ON DELETE SET NULL`,
  sql`ALTER TABLE test_jobs DROP CONSTRAINT test_jobs_requested_worker_fkey,
      ADD CONSTRAINT test_jobs_requested_worker_fkey FOREIGN KEY (requested_worker)
      REFERENCES workers (hostname) ON DELETE SET NULL`,
  sql`ALTER TABLE test_job_tags DROP CONSTRAINT test_job_tags_tag_fkey,
      ADD CONSTRAINT test_job_tags_tag_fkey FOREIGN KEY (tag) REFERENCES tags (name) ON DELETE CASCADE`,
];

export const migration: Migration = {
  // deno-lint-ignore no-explicit-any
  async up(db: Kysely<any>) {
    for (const statement of statements) await statement.execute(db);
  },
};
