/**
 * Workers that speak LAVA's HTTP worker API (`lava-worker`) rather than
 * Basalt's mailbox: such a worker has a token, kept only as its hash, as API
 * tokens are. A worker without one joins through the mailbox, as before.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

export const migration: Migration = {
  // deno-lint-ignore no-explicit-any
  async up(db: Kysely<any>) {
    await sql`ALTER TABLE workers ADD COLUMN lava_token_hash text CHECK (length(lava_token_hash) = 64)`.execute(db);
  },
};
