/**
 * One master process: the database, the actor host journaling into it, the lab
 * (actors, scheduler, workers' mailbox), the event publisher and the HTTP
 * server. `deno task master` starts one; tests and the demo start one in-process.
 */
import { join } from "../actors/path.ts";
import type { Transaction } from "kysely";
import { ActorHost } from "../actors/process/host.ts";
import type { Logger } from "../actors/runtime/log.ts";
import type { CurveServerOptions } from "../actors/mailbox/endpoint.ts";
import { openStorage, type Storage } from "./storage/database.ts";
import { StorageJournal } from "./storage/journal.ts";
import type { Database } from "./storage/schema.ts";
import type { StorageTarget } from "./storage/target.ts";
import { createApp } from "./http/app.ts";
import type { ProxyLogin } from "./http/auth.ts";
import { SlowClientError } from "./http/streams.ts";
import { mountWeb } from "../web/mod.ts";
import { Sessions } from "./http/sessions.ts";
import { EventAudience } from "./lab/event_audience.ts";
import { EventHub } from "./lab/events.ts";
import { Lab } from "./lab/lab.ts";
import type { CertificateOptions } from "./lab/certificates.ts";
import { SecretBox } from "./storage/secret_box.ts";
import { LabDir } from "./lab/lab_dir.ts";
import { Retention } from "./lab/retention.ts";
import { type Publisher, publishEvents } from "./events/zmq_publisher.ts";

export interface MasterOptions {
  readonly storage: StorageTarget;
  /** `127.0.0.1:8000`; port 0 picks a free one. */
  readonly http: { readonly hostname: string; readonly port: number };
  /** The workers' mailbox, e.g. `tcp://127.0.0.1:5556`. */
  readonly zmq: string;
  /** LAVA's event PUB socket, e.g. `tcp://127.0.0.1:5500`. */
  readonly events: string;
  /** Device dictionaries, device-type templates and health checks (default: `lab/` beside the database). */
  readonly labDir?: string;
  readonly curve?: CurveServerOptions;
  readonly coordinator?: { readonly host: string; readonly port: number };
  readonly heartbeatMs?: number;
  /** Mark the web UI's cookies Secure (the master is reached over HTTPS through a proxy). */
  readonly secureCookies?: boolean;
  /**
   * Days finished jobs are kept when their device type sets no retention (null or absent: kept for ever); the
   * purge runs in the background (lab/retention.ts).
   */
  readonly keepDays?: number | null;
  /** Single sign-on: trust this proxy's authenticated-user header (off when absent). */
  readonly proxyLogin?: ProxyLogin;
  /**
   * The key users' callback tokens are sealed with, a file kept apart from the database (default: `secrets.key`
   * in the data directory; a PostgreSQL master without one keeps no callback tokens).
   */
  readonly secretsKey?: string;
  /** The certificates lavacli's `system certificate` and `workers certificate` read and write (with curve). */
  readonly certificates?: CertificateOptions;
  readonly logger: Logger;
}

export interface RunningMaster {
  readonly lab: Lab;
  readonly storage: Storage;
  readonly retention: Retention;
  /** `http://127.0.0.1:8000` */
  readonly url: string;
  readonly zmq: string;
  readonly events: string;
  close(): Promise<void>;
}

export async function startMaster(options: MasterOptions): Promise<RunningMaster> {
  const storage = await openStorage(options.storage);
  const cleanups: (() => Promise<void>)[] = [() => storage.close()];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const host = await ActorHost.open<Transaction<Database>>({
      name: "master",
      journal: await StorageJournal.open(storage.db),
      logger: options.logger,
    });
    cleanups.push(() => host.close());
    const labDir = new LabDir(
      options.labDir ?? (options.storage.kind === "pglite" ? join(options.storage.dataDir, "lab") : "lab"),
    );
    const unwatchLabDir = labDir.watch();
    cleanups.push(() => Promise.resolve(unwatchLabDir()));
    const events = new EventHub();
    const audience = new EventAudience(events, storage.db, (e) => options.logger.error(`event filter: ${e}`));
    const publisher: Publisher = await publishEvents(host.reactor, audience, options.events);
    cleanups.push(() => publisher.close());
    const lab = await Lab.open({
      db: storage.db,
      host,
      labDir,
      events,
      logger: options.logger,
      endpoint: options.zmq,
      curve: options.curve,
      heartbeatMs: options.heartbeatMs,
      coordinator: options.coordinator,
      secrets: await openSecrets(options),
      certificates: options.certificates,
    });
    cleanups.push(() => lab.close());
    const retention = new Retention({ db: storage.db, logger: options.logger, keepDays: options.keepDays ?? null });
    retention.start();
    cleanups.push(() => retention.close());
    const eventSocket = publisher.endpoint.replace(/^tcp:\/\/(127\.0\.0\.1|0\.0\.0\.0)/, "tcp://*");
    const closing = new AbortController();
    const sessions = new Sessions({ db: storage.db, secureCookies: options.secureCookies });
    const app = createApp({
      lab,
      eventSocket,
      closing: closing.signal,
      sessions,
      audience,
      proxyLogin: options.proxyLogin,
    });
    await mountWeb(app, lab, sessions);
    const server = Deno.serve({
      hostname: options.http.hostname,
      port: options.http.port,
      onListen: () => {},
      // A stream dropped for its client's slowness is the bound at work, worth a line rather than a stack.
      onError: (error) => {
        if (error instanceof SlowClientError) options.logger.info(`event stream dropped: ${error.message}`);
        else options.logger.error(`HTTP request failed: ${(error as Error)?.stack ?? error}`);
        return new Response("internal error", { status: 500 });
      },
    }, app.fetch);
    cleanups.push(() => {
      closing.abort();
      return server.shutdown();
    });
    const address = server.addr as Deno.NetAddr;
    return {
      lab,
      storage,
      retention,
      url: `http://${address.hostname}:${address.port}`,
      zmq: lab.mailbox.boundEndpoint,
      events: publisher.endpoint,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function openSecrets(options: MasterOptions): Promise<SecretBox> | undefined {
  const path = options.secretsKey ??
    (options.storage.kind === "pglite" ? join(options.storage.dataDir, "secrets.key") : undefined);
  return path === undefined ? undefined : SecretBox.open(path);
}
