/**
 * Basalt's one ordered set of migrations, run unchanged on PGlite and on
 * PostgreSQL. Names sort in the order they must run; never rename or edit one
 * that has shipped: add the next.
 */
import type { Migration } from "kysely/migration";
import { migration as domain } from "./0001_domain.ts";
import { migration as mailboxJournal } from "./0002_mailbox_journal.ts";
import { migration as master } from "./0003_master.ts";
import { migration as logActionIndex } from "./0004_log_action_index.ts";
import { migration as requiredMethods } from "./0005_required_methods.ts";
import { migration as administration } from "./0006_administration.ts";
import { migration as serverApis } from "./0007_server_apis.ts";
import { migration as lavaWorkers } from "./0008_lava_workers.ts";

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  "0001_domain": domain,
  "0002_mailbox_journal": mailboxJournal,
  "0003_master": master,
  "0004_log_action_index": logActionIndex,
  "0005_required_methods": requiredMethods,
  "0006_administration": administration,
  "0007_server_apis": serverApis,
  "0008_lava_workers": lavaWorkers,
};
