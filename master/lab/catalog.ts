/**
 * The lab's configuration as the master holds it in memory: device types and
 * their aliases, devices with their tags, workers with their limits and
 * configuration, users' names. Loaded from the database at start and kept in
 * step by the master's own changes, so scheduling never waits on a query. Who
 * may do what is held beside it, in visibility.ts's AccessRules.
 */
import type { Kysely } from "kysely";
import type { Database } from "../storage/schema.ts";

export interface DeviceTypeInfo {
  readonly name: string;
  readonly description: string;
  readonly display: boolean;
  readonly healthFrequency: number;
  readonly healthDenominator: "hours" | "jobs";
  readonly disableHealthCheck: boolean;
  /** Days its finished jobs are kept; null: the lab's default. */
  readonly retentionDays: number | null;
}

export interface DeviceInfo {
  readonly hostname: string;
  readonly deviceType: string;
  readonly worker: string | null;
  readonly description: string;
  readonly tags: readonly string[];
  readonly isPublic: boolean;
  /** The dictionary kept in the database; the lab directory's file is used when null. */
  readonly dictionary: string | null;
  /** Health and state as stored: the device actor's starting point on a first start. */
  readonly storedHealth: number;
  readonly lastHealthReportJob: number | null;
  /** Who looks after the board in the lab (names, for people). */
  readonly physicalOwner: string | null;
  readonly physicalGroup: string | null;
}

export interface WorkerInfo {
  readonly hostname: string;
  readonly description: string;
  readonly jobLimit: number;
  readonly storedHealth: number;
  readonly dispatcherConfig: string;
  readonly env: string;
  readonly envDut: string;
  /** The SHA-256 of its token when it is a LAVA worker (`lava-worker`, over HTTP); null on Basalt's mailbox. */
  readonly lavaTokenHash: string | null;
}

export class Catalog {
  readonly deviceTypes = new Map<string, DeviceTypeInfo>();
  readonly aliases = new Map<string, string>();
  readonly devices = new Map<string, DeviceInfo>();
  readonly workers = new Map<string, WorkerInfo>();
  readonly usernames = new Map<number, string>();

  static async load(db: Kysely<Database>): Promise<Catalog> {
    const catalog = new Catalog();
    const [types, aliases, devices, tags, workers, users] = await Promise.all([
      db.selectFrom("device_types").selectAll().execute(),
      db.selectFrom("device_type_aliases").selectAll().execute(),
      db.selectFrom("devices").selectAll().execute(),
      db.selectFrom("device_tags").selectAll().execute(),
      db.selectFrom("workers").selectAll().execute(),
      db.selectFrom("users").select(["id", "username"]).execute(),
    ]);
    for (const t of types) {
      catalog.deviceTypes.set(t.name, {
        name: t.name,
        description: t.description,
        display: t.display,
        healthFrequency: t.health_frequency,
        healthDenominator: t.health_denominator === 1 ? "jobs" : "hours",
        disableHealthCheck: t.disable_health_check,
        retentionDays: t.retention_days,
      });
    }
    for (const a of aliases) catalog.aliases.set(a.name, a.device_type);
    const tagsBy = Map.groupBy(tags, (t) => t.device_hostname);
    for (const d of devices) {
      catalog.devices.set(d.hostname, {
        hostname: d.hostname,
        deviceType: d.device_type,
        worker: d.worker_hostname,
        description: d.description,
        tags: (tagsBy.get(d.hostname) ?? []).map((t) => t.tag).sort(),
        isPublic: d.is_public,
        dictionary: d.dictionary,
        storedHealth: d.health,
        lastHealthReportJob: d.last_health_report_job,
        physicalOwner: d.physical_owner,
        physicalGroup: d.physical_group,
      });
    }
    for (const w of workers) {
      catalog.workers.set(w.hostname, {
        hostname: w.hostname,
        description: w.description,
        jobLimit: w.job_limit,
        storedHealth: w.health,
        dispatcherConfig: w.dispatcher_config,
        env: w.env,
        envDut: w.env_dut,
        lavaTokenHash: w.lava_token_hash,
      });
    }
    for (const u of users) catalog.usernames.set(u.id, u.username);
    return catalog;
  }

  /** A device type by its name or one of its aliases. */
  resolveType(name: string): DeviceTypeInfo | undefined {
    return this.deviceTypes.get(name) ?? this.deviceTypes.get(this.aliases.get(name) ?? "");
  }

  devicesOf(filter: { deviceType?: string; worker?: string }): DeviceInfo[] {
    return [...this.devices.values()].filter((d) =>
      (filter.deviceType === undefined || d.deviceType === filter.deviceType) &&
      (filter.worker === undefined || d.worker === filter.worker)
    );
  }
}
