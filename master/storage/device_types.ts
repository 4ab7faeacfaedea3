/** Device types and their aliases: what a job's `device_type` is matched against. */
import type { Kysely } from "kysely";
import { AlreadyExistsError, explainConstraint, InvalidValueError, NotFoundError } from "./errors.ts";
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
