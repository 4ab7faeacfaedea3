/**
 * A job page shows the pipeline from the log's `start:` and `end:` lines; in a
 * log of a million lines they are a few hundred. This partial index holds just
 * those, so finding them reads the index, not the log.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

export const migration: Migration = {
  // deno-lint-ignore no-explicit-any
  async up(db: Kysely<any>) {
    await sql`CREATE INDEX job_log_lines_actions ON job_log_lines (job_id, line)
      WHERE level = 'info' AND (message LIKE '"start: %' OR message LIKE '"end: %')`.execute(db);
  },
};
