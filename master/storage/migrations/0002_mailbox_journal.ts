/**
 * The master's journal (actors/runtime/journal.ts): its mailbox links to
 * workers, the messages they have not acknowledged, and its actors' last
 * snapshots. Transitions go to actor_events, made in 0001.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

const statements = [
  sql`CREATE TABLE node_settings (
    key text PRIMARY KEY,
    value text NOT NULL
  )`,
  sql`INSERT INTO node_settings (key, value) VALUES ('epoch', gen_random_uuid()::text)`,
  sql`CREATE TABLE mailbox_links (
    peer text PRIMARY KEY,
    next_seq bigint NOT NULL CHECK (next_seq >= 1),
    peer_epoch text,
    delivered bigint NOT NULL CHECK (delivered >= 0)
  )`,
  sql`CREATE TABLE mailbox_outbox (
    peer text NOT NULL,
    seq bigint NOT NULL,
    recipient text NOT NULL,
    kind text NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (peer, seq)
  )`,
  sql`CREATE TABLE actor_snapshots (
    kind text NOT NULL,
    id text NOT NULL,
    sequence integer NOT NULL,
    snapshot jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
  )`,
];

export const migration: Migration = {
  // deno-lint-ignore no-explicit-any
  async up(db: Kysely<any>) {
    for (const statement of statements) await statement.execute(db);
  },
};
