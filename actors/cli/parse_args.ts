/**
 * Command-line options as `node:util`'s `parseArgs` reads them — `--name value`,
 * `--name=value`, `-h`, repeated options, `--` before positionals, defaults —
 * for every launcher. Ours rather than `node:util`'s because a dispatch process
 * starts per job, and importing any `node:` module makes Deno load its Node
 * compatibility layer first (milliseconds of CPU a job, before the job is read).
 */

export interface OptionConfig {
  readonly type: "string" | "boolean";
  /** One letter, given as `-x`. */
  readonly short?: string;
  /** May be given several times; the value is a list. */
  readonly multiple?: boolean;
  readonly default?: string | boolean | readonly string[] | readonly boolean[];
}

type ValueOf<O extends OptionConfig> = O extends { type: "string" } ? (O extends { multiple: true } ? string[] : string)
  : (O extends { multiple: true } ? boolean[] : boolean);

/** Each option's value, typed by its configuration; one with a default is always there. */
export type ParsedValues<T extends Record<string, OptionConfig>> =
  & { -readonly [K in keyof T as T[K] extends { default: unknown } ? K : never]: ValueOf<T[K]> }
  & { -readonly [K in keyof T as T[K] extends { default: unknown } ? never : K]?: ValueOf<T[K]> };

export interface ParseArgsConfig<T extends Record<string, OptionConfig>> {
  /** The program's own arguments when not given. */
  readonly args?: readonly string[];
  readonly options: T;
  /** Words that are not options are kept (otherwise, strictly, an error). */
  readonly allowPositionals?: boolean;
  /** Unknown options, missing values and values given to switches are errors (the default). */
  readonly strict?: boolean;
}

export interface ParsedArgs<T extends Record<string, OptionConfig>> {
  readonly values: ParsedValues<T>;
  readonly positionals: string[];
}

/** A command line that does not fit its options (the message says how, naming the option). */
export class ArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArgsError";
  }
}

export function parseArgs<const T extends Record<string, OptionConfig>>(config: ParseArgsConfig<T>): ParsedArgs<T> {
  const strict = config.strict ?? true;
  const allowPositionals = config.allowPositionals ?? !strict;
  const options: Record<string, OptionConfig> = config.options;
  const byShort = new Map<string, string>();
  for (const [name, option] of Object.entries(options)) if (option.short) byShort.set(option.short, name);
  // No prototype: an option may be called anything, `--__proto__` included.
  const values: Record<string, unknown> = Object.create(null);
  const positionals: string[] = [];
  const store = (name: string, value: string | boolean) => {
    if (options[name]?.multiple) ((values[name] ??= []) as unknown[]).push(value);
    else values[name] = value;
  };
  const args = config.args ?? Deno.args;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    const long = arg.startsWith("--");
    if (!long && !(arg.length === 2 && arg[0] === "-" && arg[1] !== "-")) {
      if (!allowPositionals) {
        throw new ArgsError(`Unexpected argument '${arg}'. This command does not take positional arguments`);
      }
      positionals.push(arg);
      continue;
    }
    const equals = long ? arg.indexOf("=") : -1;
    const written = equals >= 0 ? arg.slice(0, equals) : arg;
    const name = long ? written.slice(2) : byShort.get(arg[1]);
    const option = name === undefined ? undefined : Object.hasOwn(options, name) ? options[name] : undefined;
    if (name === undefined || option === undefined) {
      if (strict) throw new ArgsError(`Unknown option '${written}'`);
      store(name ?? arg[1], equals >= 0 ? arg.slice(equals + 1) : true);
      continue;
    }
    if (option.type === "boolean") {
      if (equals >= 0 && strict) throw new ArgsError(`Option '${written}' does not take an argument`);
      store(name, equals >= 0 ? arg.slice(equals + 1) : true);
      continue;
    }
    if (equals >= 0) {
      store(name, arg.slice(equals + 1));
      continue;
    }
    const value = args[i + 1];
    if (value === undefined) {
      if (strict) throw new ArgsError(`Option '${written} <value>' argument missing`);
      store(name, true);
      continue;
    }
    if (strict && value.startsWith("-") && value !== "-") {
      throw new ArgsError(
        `Option '${written}' argument is ambiguous: did you forget its value? A value starting with a dash is given as '--${name}=${value}'`,
      );
    }
    store(name, value);
    i++;
  }
  for (const [name, option] of Object.entries(options)) {
    if (values[name] === undefined && option.default !== undefined) {
      values[name] = Array.isArray(option.default) ? [...option.default] : option.default;
    }
  }
  return { values: values as ParsedValues<T>, positionals };
}
