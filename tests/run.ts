/**
 * `deno task test [deno test arguments]`: the set-up step for the tests (ops/setup.ts), one private
 * PostgreSQL cluster on 127.0.0.1 for the whole run unless BASALT_TEST_POSTGRES_URL names a server,
 * then `deno test --allow-all` with the arguments given (a file, a folder, `--filter`), and the
 * cluster stopped by PID however the run ends.
 */
import { setUp, SetupError } from "../ops/setup.ts";

async function main(args: string[]): Promise<number> {
  try {
    await setUp("test");
  } catch (error) {
    console.error(`setup: ${error instanceof SetupError ? error.message : error}`);
    return 1;
  }
  // Loaded once the set-up is done: the PostgreSQL helpers need the npm packages it installs.
  const { POSTGRES_URL_VARIABLE, startCluster } = await import("./support/postgres.ts");
  const env: Record<string, string> = {};
  const cluster = Deno.env.get(POSTGRES_URL_VARIABLE) ? undefined : await startCluster();
  if (cluster) env[POSTGRES_URL_VARIABLE] = cluster.url;
  try {
    const tests = new Deno.Command(Deno.execPath(), { args: ["test", "--allow-all", ...args], env }).spawn();
    // A terminal's Ctrl-C reaches the tests too (same process group); a SIGTERM sent to this process alone is
    // passed on. Either way the run ends through the tests' own exit, so the cluster is stopped below.
    const forward = (signal: Deno.Signal) => () => {
      try {
        tests.kill(signal);
      } catch { /* already ended */ }
    };
    const onInt = forward("SIGINT");
    const onTerm = forward("SIGTERM");
    Deno.addSignalListener("SIGINT", onInt);
    Deno.addSignalListener("SIGTERM", onTerm);
    const status = await tests.status;
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
    return status.code;
  } finally {
    await cluster?.stop();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
