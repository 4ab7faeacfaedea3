/**
 * What the master keeps beyond LAVA's own columns: the pipeline a job's worker
 * ran (`description.yaml`), why a device's health last changed, and webhook
 * deliveries still owed, so a restart resumes them rather than losing them.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

const statements = [
  sql`ALTER TABLE test_jobs ADD COLUMN pipeline_description text`,
  sql`ALTER TABLE devices ADD COLUMN health_reason text`,
  sql`CREATE TABLE webhook_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id integer NOT NULL REFERENCES test_jobs (id),
    url text NOT NULL,
    body text NOT NULL,
    token text,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt timestamptz NOT NULL DEFAULT now(),
    last_error text
  )`,
];

export const migration: Migration = {
  // deno-lint-ignore no-explicit-any
  async up(db: Kysely<any>) {
    for (const statement of statements) await statement.execute(db);
  },
};
