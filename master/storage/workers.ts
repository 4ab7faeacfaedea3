/** Worker hosts: the machines that own devices and run their jobs. */
import type { Kysely } from "kysely";
import { AlreadyExistsError, explainConstraint, InvalidValueError, NotFoundError } from "./errors.ts";
import type { Database, Worker } from "./schema.ts";

export interface NewWorker {
  readonly hostname: string;
  readonly description?: string;
  readonly jobLimit?: number;
}

export async function addWorker(db: Kysely<Database>, worker: NewWorker): Promise<Worker> {
  return await explainConstraint(
    () =>
      db.insertInto("workers")
        .values({ hostname: worker.hostname, description: worker.description ?? "", job_limit: worker.jobLimit ?? 0 })
        .returningAll()
        .executeTakeFirstOrThrow(),
    {
      unique: () => new AlreadyExistsError(`worker ${JSON.stringify(worker.hostname)} already exists`),
      check: () =>
        new InvalidValueError(
          `worker ${JSON.stringify(worker.hostname)}: the name must be a host name (letters, digits, . _ -) ` +
            `and the job limit 0 or more`,
        ),
    },
  );
}

export async function findWorker(db: Kysely<Database>, hostname: string): Promise<Worker | undefined> {
  return await db.selectFrom("workers").selectAll().where("hostname", "=", hostname).executeTakeFirst();
}

export async function getWorker(db: Kysely<Database>, hostname: string): Promise<Worker> {
  const worker = await findWorker(db, hostname);
  if (!worker) {
    throw new NotFoundError(
      `worker ${JSON.stringify(hostname)} does not exist (add it with: deno task manage workers add ${hostname})`,
    );
  }
  return worker;
}

export async function listWorkers(db: Kysely<Database>): Promise<Worker[]> {
  return await db.selectFrom("workers").selectAll().orderBy("hostname").execute();
}
