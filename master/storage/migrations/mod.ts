/**
 * Basalt's one ordered set of migrations, run unchanged on PGlite and on
 * PostgreSQL. Names sort in the order they must run; never rename or edit one
 * that has shipped: add the next.
 */
import type { Migration } from "kysely/migration";
import { migration as domain } from "./0001_domain.ts";

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  "0001_domain": domain,
};
