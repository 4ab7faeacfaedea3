/**
 * `deno task manage [--data-dir DIR | --db URL] COMMAND...`: offline lab
 * administration. Exit codes: 0 done, 1 refused (the message says why), 2 the
 * command line itself is wrong.
 */
import { parseArgs } from "node:util";
import { openStorage, StorageError } from "../storage/database.ts";
import { DataDirInUseError } from "../../actors/runtime/dir_lock.ts";
import { AlreadyExistsError, InvalidValueError, NotFoundError } from "../storage/errors.ts";
import { StorageOptionsError, storageTargetFrom } from "../storage/target.ts";
import { type Command, COMMANDS, UsageError } from "./commands.ts";
import { CertificateError } from "../../actors/transport/zmq/curve.ts";

const STORAGE_OPTIONS = {
  "data-dir": { type: "string", help: "embedded database directory (default ./data)" },
  db: { type: "string", help: "PostgreSQL URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE" },
} as const;

export function usage(command?: Command): string {
  if (command) {
    const options = { ...command.options, ...STORAGE_OPTIONS };
    const lines = Object.entries(options).map(([name, spec]) =>
      `  --${name}${spec.type === "string" ? " VALUE" : ""}${
        "required" in spec && spec.required ? " (required)" : ""
      }\n      ${spec.help}`
    );
    return `usage: deno task manage ${command.path.join(" ")} [options] ${command.positionals.join(" ")}\n` +
      `${command.summary}\n\noptions:\n${lines.join("\n")}`;
  }
  const width = Math.max(...COMMANDS.map((c) => c.path.join(" ").length));
  return "usage: deno task manage [--data-dir DIR | --db URL] COMMAND [options] [ARGS]\n\ncommands:\n" +
    COMMANDS.map((c) => `  ${c.path.join(" ").padEnd(width)}  ${c.summary}`).join("\n") +
    "\n\n`deno task manage COMMAND --help` describes one command.";
}

function findCommand(words: readonly string[]): Command | undefined {
  return COMMANDS.find((c) => c.path.every((word, i) => words[i] === word));
}

// Every option any command knows, so a first loose parse can tell option values
// from the words that name the command.
const ALL_OPTIONS = Object.fromEntries(
  [...COMMANDS.flatMap((c) => Object.entries(c.options)), ...Object.entries(STORAGE_OPTIONS)]
    .map(([name, spec]) => [name, { type: spec.type }]),
);

/** Runs one manage command line; returns the process exit code. */
export async function main(args: readonly string[], out = console.log, err = console.error): Promise<number> {
  const loose = parseArgs({ args: [...args], options: ALL_OPTIONS, allowPositionals: true, strict: false });
  const command = findCommand(loose.positionals);
  const wantsHelp = args.includes("--help") || args.includes("-h");
  if (wantsHelp) {
    out(usage(command));
    return 0;
  }
  if (!command) {
    err(
      loose.positionals.length > 0 ? `manage: unknown command "${loose.positionals.join(" ")}"\n\n${usage()}` : usage(),
    );
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: Object.fromEntries(
        Object.entries({ ...command.options, ...STORAGE_OPTIONS }).map(([name, spec]) => [name, { type: spec.type }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    err(`manage: ${(error as Error).message}\n\n${usage(command)}`);
    return 2;
  }
  const positionals = parsed.positionals.slice(command.path.length);
  const missing = Object.entries(command.options).filter(([name, spec]) =>
    spec.required && parsed.values[name] === undefined
  )
    .map(([name]) => `--${name}`);
  if (positionals.length !== command.positionals.length || missing.length > 0) {
    const problem = missing.length > 0
      ? `missing ${missing.join(", ")}`
      : `expected ${command.positionals.length === 0 ? "no arguments" : command.positionals.join(" ")}, got ${
        positionals.length === 0 ? "none" : positionals.join(" ")
      }`;
    err(`manage: ${problem}\n\n${usage(command)}`);
    return 2;
  }
  try {
    const target = storageTargetFrom({
      dataDir: parsed.values["data-dir"] as string | undefined,
      db: parsed.values.db as string | undefined,
    });
    if (command.storage === false) {
      await command.run({ db: undefined as never, values: parsed.values, positionals, print: out });
      return 0;
    }
    const storage = await openStorage(target);
    try {
      await command.run({ db: storage.db, values: parsed.values, positionals, print: out });
    } finally {
      await storage.close();
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof StorageOptionsError) {
      err(`manage: ${error.message}`);
      return 2;
    }
    if (
      error instanceof NotFoundError || error instanceof AlreadyExistsError || error instanceof InvalidValueError ||
      error instanceof StorageError || error instanceof DataDirInUseError || error instanceof CertificateError ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      err(`manage: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
