/**
 * `deno task manage [--data-dir DIR | --db URL] COMMAND...`: offline lab
 * administration, like `lava-server manage`. Exit codes: 0 done, 1 refused (the
 * message says why), 2 the command line itself is wrong.
 */
import { type Program, runProgram, stringOption, UsageError } from "../../actors/cli/command_line.ts";
import { DataDirInUseError } from "../../actors/runtime/dir_lock.ts";
import { CertificateError } from "../../actors/transport/zmq/curve.ts";
import { openStorage, StorageError } from "../storage/database.ts";
import { AlreadyExistsError, InvalidValueError, NotFoundError } from "../storage/errors.ts";
import { StorageOptionsError, storageTargetFrom } from "../storage/target.ts";
import { COMMANDS, type ManageCommand, type ManageContext } from "./commands.ts";

export const MANAGE: Program<ManageContext> = {
  name: "manage",
  commands: COMMANDS,
  globalOptions: {
    "data-dir": { type: "string", help: "embedded database directory (default ./data)" },
    db: { type: "string", help: "PostgreSQL URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE" },
  },
  async prepare(command, values) {
    if ((command as ManageCommand).storage === false) {
      return { context: { db: undefined as never }, close: () => Promise.resolve() };
    }
    let target;
    try {
      target = storageTargetFrom({ dataDir: stringOption(values, "data-dir"), db: stringOption(values, "db") });
    } catch (error) {
      throw error instanceof StorageOptionsError ? new UsageError(error.message) : error;
    }
    const storage = await openStorage(target);
    return { context: { db: storage.db }, close: () => storage.close() };
  },
  isUserError: (error) =>
    error instanceof NotFoundError || error instanceof AlreadyExistsError || error instanceof InvalidValueError ||
    error instanceof StorageError || error instanceof DataDirInUseError || error instanceof CertificateError ||
    error instanceof Deno.errors.PermissionDenied,
};

if (import.meta.main) {
  Deno.exit(await runProgram(MANAGE, Deno.args));
}
