/**
 * Runs the same storage cases against both backends: a fresh PGlite data
 * directory and a fresh database on a real PostgreSQL server. Each backend is one
 * Deno test whose steps are the cases, so the server lives exactly as long as it.
 */
import { type OpenOptions, openStorage, type Storage } from "../../master/storage/database.ts";
import type { StorageTarget } from "../../master/storage/target.ts";
import { startPostgres } from "./postgres.ts";

export interface BackendFixture {
  readonly backend: "pglite" | "postgres";
  /** A fresh, empty target no other case uses. */
  newTarget(): Promise<StorageTarget>;
  /** Opens a fresh, migrated database; closed after the case. */
  open(options?: OpenOptions): Promise<Storage>;
  /** Opens a given target; closed after the case. */
  openAt(target: StorageTarget, options?: OpenOptions): Promise<Storage>;
}

export interface StorageCase {
  readonly name: string;
  fn(fixture: BackendFixture): Promise<void>;
}

const BACKEND_NAMES = { pglite: "the embedded PGlite", postgres: "a real PostgreSQL" } as const;

export function testOnBothBackends(subject: string, cases: readonly StorageCase[]): void {
  for (const backend of ["pglite", "postgres"] as const) {
    Deno.test(`${subject} on ${BACKEND_NAMES[backend]}`, async (t) => {
      const server = backend === "postgres" ? await startPostgres() : undefined;
      const tempDirs: string[] = [];
      const tempDir = async () => {
        const dir = await Deno.makeTempDir({ prefix: "basalt-pglite-" });
        tempDirs.push(dir);
        return dir;
      };
      // Creating a PGlite directory costs seconds; copying a migrated one, milliseconds.
      let template: string | undefined;
      const migratedCopy = async (): Promise<StorageTarget> => {
        if (template === undefined) {
          template = await tempDir();
          await (await openStorage({ kind: "pglite", dataDir: template })).close();
        }
        const dir = await tempDir();
        const copy = await new Deno.Command("cp", { args: ["-a", `${template}/.`, dir] }).output();
        if (!copy.success) throw new Error(`cp failed: ${new TextDecoder().decode(copy.stderr)}`);
        return { kind: "pglite", dataDir: dir };
      };
      try {
        for (const c of cases) {
          const opened: Storage[] = [];
          const fixture: BackendFixture = {
            backend,
            async newTarget() {
              if (server) return { kind: "postgres", url: await server.createDatabase() };
              return { kind: "pglite", dataDir: await tempDir() };
            },
            async openAt(target, options) {
              const storage = await openStorage(target, options);
              opened.push(storage);
              return storage;
            },
            async open(options) {
              return await fixture.openAt(server ? await fixture.newTarget() : await migratedCopy(), options);
            },
          };
          await t.step(c.name, async () => {
            try {
              await c.fn(fixture);
            } finally {
              for (const s of opened) await s.close();
            }
          });
        }
      } finally {
        await server?.stop();
        for (const dir of tempDirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    });
  }
}
