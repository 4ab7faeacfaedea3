/**
 * What LAVA's server APIs need beyond the administration tables: secrets a
 * user keeps for job callbacks (sealed with the master's key, never readable
 * from the database alone; a callback's `token:` names one by its
 * description), whether an owed delivery carries such a sealed secret, the
 * device configuration and environment each job was started with, an id
 * for each permission grant and each tag, and the indexes REST v0.2's job lists filter and
 * order by.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

const statements = [
  sql`CREATE TABLE callback_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
    sealed text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, description)
  )`,
  // Deliveries owed from before: their token is the name the job gave, sent as it is (LAVA's fallback).
  sql`ALTER TABLE webhook_deliveries ADD COLUMN token_sealed boolean NOT NULL DEFAULT false`,
  // What a job was started with (LAVA keeps them in its output directory; scheduler.jobs.configuration reads them).
  sql`CREATE TABLE job_run_files (
    job_id integer PRIMARY KEY REFERENCES test_jobs (id) ON DELETE CASCADE,
    device text NOT NULL,
    dispatcher text NOT NULL,
    env text NOT NULL,
    env_dut text NOT NULL
  )`,
  // REST v0.2 names each grant and each tag by an id (permissions/devicetypes/ID/, tags/ID/).
  sql`ALTER TABLE tags ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY UNIQUE`,
  sql`ALTER TABLE device_group_permissions ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY UNIQUE`,
  sql`ALTER TABLE device_type_group_permissions ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY UNIQUE`,
  sql`CREATE INDEX test_jobs_by_submit_time ON test_jobs (submit_time)`,
  sql`CREATE INDEX test_jobs_by_state ON test_jobs (state, id)`,
];

export const migration: Migration = {
  // deno-lint-ignore no-explicit-any
  async up(db: Kysely<any>) {
    for (const statement of statements) await statement.execute(db);
  },
};
