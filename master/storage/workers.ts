/** Worker hosts: the machines that own devices and run their jobs. */
import type { Kysely } from "kysely";
import { AlreadyExistsError, explainConstraint, InvalidValueError, NotFoundError } from "./errors.ts";
import { DeviceHealth } from "../../actors/domain/states.ts";
import type { Database, Worker } from "./schema.ts";
import { definedOnly } from "./columns.ts";

export interface NewWorker {
  readonly hostname: string;
  readonly description?: string;
  readonly jobLimit?: number;
  /** The SHA-256 of its token, for a worker that speaks LAVA's HTTP worker API (`lava-worker`). */
  readonly lavaTokenHash?: string;
}

export async function addWorker(db: Kysely<Database>, worker: NewWorker): Promise<Worker> {
  return await explainConstraint(
    () =>
      db.insertInto("workers")
        .values({
          hostname: worker.hostname,
          description: worker.description ?? "",
          job_limit: worker.jobLimit ?? 0,
          lava_token_hash: worker.lavaTokenHash ?? null,
        })
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

export interface WorkerChange {
  readonly description?: string;
  readonly jobLimit?: number;
  readonly health?: number;
  readonly dispatcherConfig?: string;
  readonly env?: string;
  readonly envDut?: string;
}

/** Changes the given fields; a change that names none is no change (not an empty UPDATE). */
export async function updateWorker(db: Kysely<Database>, hostname: string, change: WorkerChange): Promise<Worker> {
  const set = definedOnly({
    description: change.description,
    job_limit: change.jobLimit,
    health: change.health,
    dispatcher_config: change.dispatcherConfig,
    env: change.env,
    env_dut: change.envDut,
  });
  if (Object.keys(set).length === 0) return await getWorker(db, hostname);
  const row = await explainConstraint(
    () => db.updateTable("workers").set(set).where("hostname", "=", hostname).returningAll().executeTakeFirst(),
    { check: () => new InvalidValueError(`worker ${JSON.stringify(hostname)}: the job limit must be 0 or more`) },
  );
  if (!row) return await getWorker(db, hostname);
  return row;
}

/**
 * Removes a worker. Refused while a device that is not Retired is attached to it (move or retire those first);
 * retired devices and old jobs keep no worker.
 */
export async function removeWorker(db: Kysely<Database>, hostname: string): Promise<void> {
  await getWorker(db, hostname);
  const attached = await db.selectFrom("devices").select("hostname").where("worker_hostname", "=", hostname)
    .where("health", "!=", DeviceHealth.byName.Retired).orderBy("hostname").execute();
  if (attached.length > 0) {
    throw new InvalidValueError(
      `worker ${JSON.stringify(hostname)} still has devices: ${attached.map((d) => d.hostname).join(", ")} ` +
        `(move them to another worker or retire them first)`,
    );
  }
  await db.deleteFrom("workers").where("hostname", "=", hostname).execute();
}

/**
 * Makes a worker one that speaks LAVA's HTTP worker API with this token hash (null: back to Basalt's mailbox).
 */
export async function setLavaTokenHash(db: Kysely<Database>, hostname: string, hash: string | null): Promise<void> {
  const result = await db.updateTable("workers").set({ lava_token_hash: hash }).where("hostname", "=", hostname)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) await getWorker(db, hostname);
}
