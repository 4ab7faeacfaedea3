/** Devices: the boards and virtual machines jobs run on, with their tags. */
import type { Kysely } from "kysely";
import { DeviceHealth } from "../../actors/domain/states.ts";
import { getDeviceType } from "./device_types.ts";
import { AlreadyExistsError, explainConstraint, InvalidValueError } from "./errors.ts";
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
