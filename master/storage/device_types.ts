/** Device types and their aliases: what a job's `device_type` is matched against. */
import type { Kysely } from "kysely";
import { AlreadyExistsError, explainConstraint, InvalidValueError, NotFoundError } from "./errors.ts";
import { definedOnly } from "./columns.ts";
import type { Database, DeviceType } from "./schema.ts";

export interface NewDeviceType {
  readonly name: string;
  readonly description?: string;
}

export async function addDeviceType(db: Kysely<Database>, type: NewDeviceType): Promise<DeviceType> {
  return await explainConstraint(
    () =>
      db.insertInto("device_types")
        .values({ name: type.name, description: type.description ?? "" })
        .returningAll()
        .executeTakeFirstOrThrow(),
    {
      unique: () => new AlreadyExistsError(`device type ${JSON.stringify(type.name)} already exists`),
      check: () =>
        new InvalidValueError(
          `device type name ${JSON.stringify(type.name)} is not valid: use letters, digits and . _ -`,
        ),
    },
  );
}

export async function listDeviceTypes(db: Kysely<Database>): Promise<DeviceType[]> {
  return await db.selectFrom("device_types").selectAll().orderBy("name").execute();
}

/** The device type a job's `device_type` names, directly or through an alias. */
export async function resolveDeviceType(db: Kysely<Database>, name: string): Promise<DeviceType | undefined> {
  const direct = await db.selectFrom("device_types").selectAll().where("name", "=", name).executeTakeFirst();
  if (direct) return direct;
  return await db.selectFrom("device_type_aliases")
    .innerJoin("device_types", "device_types.name", "device_type_aliases.device_type")
    .selectAll("device_types")
    .where("device_type_aliases.name", "=", name)
    .executeTakeFirst();
}

export async function getDeviceType(db: Kysely<Database>, name: string): Promise<DeviceType> {
  const type = await resolveDeviceType(db, name);
  if (!type) {
    throw new NotFoundError(
      `device type ${JSON.stringify(name)} does not exist (add it with: deno task manage device-types add ${name})`,
    );
  }
  return type;
}

export async function addDeviceTypeAlias(db: Kysely<Database>, alias: string, deviceType: string): Promise<void> {
  const type = await getDeviceType(db, deviceType);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(alias)) {
    throw new InvalidValueError(`alias ${JSON.stringify(alias)} is not valid: use letters, digits and . _ -`);
  }
  if (await db.selectFrom("device_types").select("name").where("name", "=", alias).executeTakeFirst()) {
    throw new AlreadyExistsError(`${JSON.stringify(alias)} is already a device type; an alias must be a new name`);
  }
  await explainConstraint(
    () => db.insertInto("device_type_aliases").values({ name: alias, device_type: type.name }).execute(),
    { unique: () => new AlreadyExistsError(`alias ${JSON.stringify(alias)} already exists`) },
  );
}

export async function listDeviceTypeAliases(
  db: Kysely<Database>,
  deviceType: string,
): Promise<string[]> {
  const rows = await db.selectFrom("device_type_aliases").select("name").where("device_type", "=", deviceType)
    .orderBy("name").execute();
  return rows.map((r) => r.name);
}

export interface DeviceTypeChange {
  readonly description?: string;
  readonly display?: boolean;
  readonly healthFrequency?: number;
  readonly healthDenominator?: "hours" | "jobs";
  readonly disableHealthCheck?: boolean;
  /** Days its finished jobs are kept; null: the lab's default. */
  readonly retentionDays?: number | null;
}

/** Changes the given fields of a device type (by its own name, not an alias). */
export async function updateDeviceType(
  db: Kysely<Database>,
  name: string,
  change: DeviceTypeChange,
): Promise<DeviceType> {
  const set = definedOnly({
    description: change.description,
    display: change.display,
    health_frequency: change.healthFrequency,
    health_denominator: change.healthDenominator === undefined
      ? undefined
      : change.healthDenominator === "jobs"
      ? 1
      : 0,
    disable_health_check: change.disableHealthCheck,
    retention_days: change.retentionDays,
  });
  const row = Object.keys(set).length === 0
    ? await db.selectFrom("device_types").selectAll().where("name", "=", name).executeTakeFirst()
    : await explainConstraint(
      () => db.updateTable("device_types").set(set).where("name", "=", name).returningAll().executeTakeFirst(),
      { check: () => new InvalidValueError(`device type ${JSON.stringify(name)}: a number there must be positive`) },
    );
  if (!row) throw new NotFoundError(`device type ${JSON.stringify(name)} does not exist`);
  return row;
}

/** Every alias with the type it names. */
export async function listAliases(db: Kysely<Database>): Promise<{ name: string; device_type: string }[]> {
  return await db.selectFrom("device_type_aliases").selectAll().orderBy("name").execute();
}

/** Removes an alias; `deviceType`, when given, must be the type it names. */
export async function deleteDeviceTypeAlias(db: Kysely<Database>, alias: string, deviceType?: string): Promise<void> {
  let query = db.deleteFrom("device_type_aliases").where("name", "=", alias);
  if (deviceType !== undefined) query = query.where("device_type", "=", deviceType);
  const result = await query.executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`alias ${JSON.stringify(alias)} does not exist`);
}
