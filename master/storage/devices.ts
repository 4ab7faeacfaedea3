/** Devices: the boards and virtual machines jobs run on, with their tags. */
import type { Kysely } from "kysely";
import { DeviceHealth } from "../../actors/domain/states.ts";
import { getDeviceType } from "./device_types.ts";
import { definedOnly } from "./columns.ts";
import { AlreadyExistsError, explainConstraint, InvalidValueError, NotFoundError } from "./errors.ts";
import type { Database, Device } from "./schema.ts";
import { getWorker } from "./workers.ts";

export interface NewDevice {
  readonly hostname: string;
  readonly deviceType: string;
  readonly worker: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly dictionary?: string;
  /** Defaults to Maintenance, as in LAVA: a new device runs nothing until an admin says so. */
  readonly health?: number;
}

export interface DeviceWithTags extends Device {
  readonly tags: string[];
}

export async function addDevice(db: Kysely<Database>, device: NewDevice): Promise<DeviceWithTags> {
  const type = await getDeviceType(db, device.deviceType);
  await getWorker(db, device.worker);
  const tags = [...new Set(device.tags ?? [])].sort();
  return await db.transaction().execute(async (trx) => {
    const row = await explainConstraint(
      () =>
        trx.insertInto("devices").values({
          hostname: device.hostname,
          device_type: type.name,
          worker_hostname: device.worker,
          description: device.description ?? "",
          dictionary: device.dictionary ?? null,
          health: device.health ?? DeviceHealth.byName.Maintenance,
          last_health_report_job: null,
        }).returningAll().executeTakeFirstOrThrow(),
      {
        unique: () => new AlreadyExistsError(`device ${JSON.stringify(device.hostname)} already exists`),
        check: () =>
          new InvalidValueError(
            `device name ${JSON.stringify(device.hostname)} is not valid: use letters, digits and . _ -`,
          ),
      },
    );
    if (tags.length > 0) {
      await trx.insertInto("tags").values(tags.map((name) => ({ name }))).onConflict((oc) => oc.doNothing())
        .execute();
      await trx.insertInto("device_tags").values(tags.map((tag) => ({ device_hostname: row.hostname, tag })))
        .execute();
    }
    return { ...row, tags };
  });
}

export async function listDevices(db: Kysely<Database>): Promise<DeviceWithTags[]> {
  const [devices, tags] = await Promise.all([
    db.selectFrom("devices").selectAll().orderBy("hostname").execute(),
    db.selectFrom("device_tags").selectAll().orderBy("tag").execute(),
  ]);
  const byDevice = Map.groupBy(tags, (t) => t.device_hostname);
  return devices.map((d) => ({ ...d, tags: (byDevice.get(d.hostname) ?? []).map((t) => t.tag) }));
}

export interface DeviceChange {
  readonly worker?: string;
  readonly deviceType?: string;
  readonly description?: string;
  readonly health?: number;
  readonly isPublic?: boolean;
  readonly physicalOwner?: string | null;
  readonly physicalGroup?: string | null;
}

/** Changes the given fields of a device; its worker and type must exist (a type may be named by an alias). */
export async function updateDevice(db: Kysely<Database>, hostname: string, change: DeviceChange): Promise<Device> {
  if (change.worker !== undefined) await getWorker(db, change.worker);
  const type = change.deviceType === undefined ? undefined : (await getDeviceType(db, change.deviceType)).name;
  const set = definedOnly({
    worker_hostname: change.worker,
    device_type: type,
    description: change.description,
    health: change.health,
    is_public: change.isPublic,
    physical_owner: change.physicalOwner,
    physical_group: change.physicalGroup,
  });
  const row = Object.keys(set).length === 0
    ? await db.selectFrom("devices").selectAll().where("hostname", "=", hostname).executeTakeFirst()
    : await db.updateTable("devices").set(set).where("hostname", "=", hostname).returningAll().executeTakeFirst();
  if (!row) throw new NotFoundError(`device ${JSON.stringify(hostname)} does not exist`);
  return row;
}

/** The device's tags, sorted. */
export async function deviceTags(db: Kysely<Database>, hostname: string): Promise<string[]> {
  const rows = await db.selectFrom("device_tags").select("tag").where("device_hostname", "=", hostname)
    .orderBy("tag").execute();
  return rows.map((r) => r.tag);
}

/**
 * Gives a device a tag (made if new, as LAVA's `devices tags add` does) or takes one away; returns the device's
 * tags after.
 */
export async function changeDeviceTag(
  db: Kysely<Database>,
  hostname: string,
  tag: string,
  change: "add" | "remove",
): Promise<string[]> {
  const device = await db.selectFrom("devices").select("hostname").where("hostname", "=", hostname)
    .executeTakeFirst();
  if (!device) throw new NotFoundError(`device ${JSON.stringify(hostname)} does not exist`);
  if (change === "add") {
    await explainConstraint(
      () => db.insertInto("tags").values({ name: tag }).onConflict((oc) => oc.doNothing()).execute(),
      { check: () => new InvalidValueError(`tag ${JSON.stringify(tag)} is not valid: it has 1 to 50 characters`) },
    );
    await db.insertInto("device_tags").values({ device_hostname: hostname, tag }).onConflict((oc) => oc.doNothing())
      .execute();
  } else {
    const removed = await db.deleteFrom("device_tags").where("device_hostname", "=", hostname).where("tag", "=", tag)
      .executeTakeFirst();
    if (Number(removed.numDeletedRows) === 0) {
      throw new NotFoundError(`device ${JSON.stringify(hostname)} has no tag ${JSON.stringify(tag)}`);
    }
  }
  return await deviceTags(db, hostname);
}
