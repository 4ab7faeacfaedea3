/**
 * When a device is due a health check, LAVA's rules: always when its health is
 * Unknown or Looping, or when it has none on record; otherwise after its device
 * type's frequency — hours since the last health check was submitted, or jobs
 * run since. A time-based rule that is not due yet sets the one timer the
 * scheduler has, to wake it when it is.
 */
import { type Kysely, sql } from "kysely";
import type { DeviceHealthName } from "../../actors/machines/device.ts";
import type { Database } from "../storage/schema.ts";

interface Report {
  /** The last health check's submit time (ms since the epoch). */
  submitTime: number;
  /** Jobs other than health checks started on the device since. */
  jobsSince: number;
}

export interface HealthFrequency {
  readonly healthFrequency: number;
  /** "hours" or "jobs". */
  readonly healthDenominator: string;
}

export class HealthSchedule {
  readonly #reports = new Map<string, Report>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();

  /** `wake` asks for a scheduling pass over the device when its health check becomes due. */
  constructor(private readonly wake: (hostname: string) => void, private readonly now: () => number = Date.now) {}

  /** Reads every device's last health check and the jobs run since, as the previous master left them. */
  async load(db: Kysely<Database>): Promise<void> {
    const rows = await sql<{ device: string; submit_time: Date; jobs_since: number }>`
      SELECT d.hostname AS device, hc.submit_time,
        (SELECT count(*)::integer FROM test_jobs j WHERE j.actual_device = d.hostname AND NOT j.health_check
           AND j.start_time > hc.submit_time) AS jobs_since
      FROM devices d JOIN test_jobs hc ON hc.id = d.last_health_report_job`.execute(db);
    for (const r of rows.rows) {
      this.#reports.set(r.device, { submitTime: new Date(r.submit_time).getTime(), jobsSince: r.jobs_since });
    }
  }

  isDue(hostname: string, health: DeviceHealthName, type: HealthFrequency): boolean {
    if (health === "Unknown" || health === "Looping") return true;
    const report = this.#reports.get(hostname);
    if (!report) return true;
    if (type.healthDenominator === "jobs") return report.jobsSince >= type.healthFrequency;
    const due = report.submitTime + type.healthFrequency * 3_600_000;
    const left = due - this.now();
    if (left <= 0) return true;
    clearTimeout(this.#timers.get(hostname));
    this.#timers.set(hostname, setTimeout(() => this.wake(hostname), Math.min(left, 2 ** 31 - 1)));
    return false;
  }

  /** A job other than a health check started on the device. */
  jobStarted(hostname: string): void {
    const report = this.#reports.get(hostname);
    if (report) report.jobsSince++;
  }

  /** A health check submitted at `submitTime` ended on the device. */
  healthChecked(hostname: string, submitTime: number): void {
    this.#reports.set(hostname, { submitTime, jobsSince: 0 });
  }

  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
