/**
 * The command-line shape every Basalt launcher shares (`deno task manage`,
 * `deno task cli`...): commands named by words (`devices add`), options checked
 * against what each command takes, `--help` at every level, and exit codes that
 * scripts can rely on: 0 done, 1 refused (the message says why), 2 the command line
 * itself is wrong.
 */
import { parseArgs } from "./parse_args.ts";

export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly required?: boolean;
  /** May be given several times; the command gets a list. */
  readonly multiple?: boolean;
  readonly help: string;
}

export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export interface Invocation<Context> {
  readonly context: Context;
  readonly values: OptionValues;
  readonly positionals: readonly string[];
  print(text: string): void;
  printError(text: string): void;
}

export interface Command<Context> {
  /** Words that select it, e.g. `["devices", "add"]`. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Names of the positional arguments; a last name ending in "..." takes one or more. */
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Returns the exit code (0 when it returns nothing). */
  run(invocation: Invocation<Context>): Promise<number | void>;
}

/** Thrown by a command for a value of the wrong form: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface Program<Context> {
  /** As typed after `deno task`, e.g. "manage". */
  readonly name: string;
  readonly commands: readonly Command<Context>[];
  /** Options every command takes. */
  readonly globalOptions?: Readonly<Record<string, OptionSpec>>;
  /** Sets up what a command needs (a database...); `close` runs after it. */
  prepare(command: Command<Context>, values: OptionValues): Promise<{ context: Context; close(): Promise<void> }>;
  /** Errors whose message is meant for the user: printed, exit 1. Others are bugs and propagate. */
  isUserError(error: unknown): boolean;
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const consoleOutput: Output = { out: (t) => console.log(t), err: (t) => console.error(t) };

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  return Object.entries(options).map(([name, spec]) =>
    `  --${name}${spec.type === "string" ? " VALUE" : ""}${spec.required ? " (required)" : ""}${
      spec.multiple ? " (repeatable)" : ""
    }\n      ${spec.help}`
  );
}

export function usage<Context>(program: Program<Context>, command?: Command<Context>): string {
  if (command) {
    const options = { ...command.options, ...program.globalOptions };
    return `usage: deno task ${program.name} ${command.path.join(" ")} [options] ${command.positionals.join(" ")}`
      .trimEnd() + `\n${command.summary}\n\noptions:\n${optionLines(options).join("\n")}`;
  }
  const width = Math.max(...program.commands.map((c) => c.path.join(" ").length));
  return `usage: deno task ${program.name} COMMAND [options] [ARGS]\n\ncommands:\n` +
    program.commands.map((c) => `  ${c.path.join(" ").padEnd(width)}  ${c.summary}`).join("\n") +
    (program.globalOptions ? `\n\noptions of every command:\n${optionLines(program.globalOptions).join("\n")}` : "") +
    `\n\n\`deno task ${program.name} COMMAND --help\` describes one command.`;
}

function parseSpec(options: Readonly<Record<string, OptionSpec>>) {
  return Object.fromEntries(
    Object.entries(options).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple ?? false }]),
  );
}

/** Runs one command line of `program`; returns the exit code. */
export async function runProgram<Context>(
  program: Program<Context>,
  args: readonly string[],
  output: Output = consoleOutput,
): Promise<number> {
  const say = (text: string) => output.err(`${program.name}: ${text}`);
  // A loose parse with every option any command knows tells option values apart
  // from the words that name the command.
  const all = parseSpec(
    Object.assign({}, program.globalOptions, ...program.commands.map((c) => c.options)),
  );
  const loose = parseArgs({ args: [...args], options: all, allowPositionals: true, strict: false });
  const command = program.commands.find((c) => c.path.every((word, i) => loose.positionals[i] === word));
  if (args.includes("--help") || args.includes("-h")) {
    output.out(usage(program, command));
    return 0;
  }
  if (!command) {
    if (loose.positionals.length > 0) say(`unknown command "${loose.positionals.join(" ")}"\n\n${usage(program)}`);
    else output.err(usage(program));
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: parseSpec({ ...command.options, ...program.globalOptions }),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    say(`${(error as Error).message}\n\n${usage(program, command)}`);
    return 2;
  }
  const positionals = parsed.positionals.slice(command.path.length);
  const missing = Object.entries(command.options)
    .filter(([name, spec]) => spec.required && parsed.values[name] === undefined)
    .map(([name]) => `--${name}`);
  const variadic = command.positionals.at(-1)?.endsWith("...") ?? false;
  const fixed = variadic ? command.positionals.length - 1 : command.positionals.length;
  const countOk = variadic ? positionals.length > fixed : positionals.length === fixed;
  if (missing.length > 0 || !countOk) {
    const problem = missing.length > 0
      ? `missing ${missing.join(", ")}`
      : `expected ${command.positionals.length === 0 ? "no arguments" : command.positionals.join(" ")}, got ${
        positionals.length === 0 ? "none" : positionals.join(" ")
      }`;
    say(`${problem}\n\n${usage(program, command)}`);
    return 2;
  }
  try {
    const { context, close } = await program.prepare(command, parsed.values);
    try {
      const code = await command.run({
        context,
        values: parsed.values,
        positionals,
        print: output.out,
        printError: output.err,
      });
      return code ?? 0;
    } finally {
      await close();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      say(error.message);
      return 2;
    }
    if (program.isUserError(error)) {
      say((error as Error).message);
      return 1;
    }
    throw error;
  }
}

/** A string option's value, if given. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** A repeatable string option's values (empty when not given). */
export function stringOptions(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return typeof value === "string" ? [value] : [];
}

/**
 * Reads a file a launcher was given, or prints `PROGRAM: cannot read the WHAT
 * PATH: reason` and exits with `exitCode`. For launchers that take single
 * options rather than commands (`deno task dispatch`, `worker`).
 */
export function readTextOrExit(program: string, path: string, what: string, exitCode: number): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    console.error(`${program}: cannot read the ${what} ${path}: ${(error as Error).message}`);
    Deno.exit(exitCode);
  }
}

/** A comma-separated option's items (`--tags a,b`), empty when it is absent. */
export function commaListOption(values: OptionValues, name: string): string[] {
  return (stringOption(values, name) ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "");
}

/** A whole-number option of at least `min`, or undefined when it is absent; a usage error otherwise. */
export function wholeNumberOption(values: OptionValues, name: string, min = 0): number | undefined {
  const value = stringOption(values, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value) || Number(value) < min) {
    throw new UsageError(`--${name} must be a whole number of ${min} or more, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
