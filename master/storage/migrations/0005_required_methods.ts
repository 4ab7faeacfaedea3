/**
 * The deploy, boot and test methods each job uses, kept with the job, so that a
 * master restarting with a long queue knows which workers can run what is waiting
 * without reading every definition again.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

export const migration: Migration = {
  // deno-lint-ignore no-explicit-any
  async up(db: Kysely<any>) {
    await sql`ALTER TABLE test_jobs ADD COLUMN required_methods text`.execute(db);
  },
};
