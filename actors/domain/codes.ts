/**
 * A closed set of named integer codes, as LAVA stores its states and healths:
 * the database keeps the integer, APIs speak the display name, and filters accept
 * the upper-case spelling too (`RUNNING`).
 *
 * @example
 * ```ts
 * const Colour = defineCodes("colour", ["Red", "Green"]);
 * Colour.code("Green"); // 1
 * Colour.name(0); // "Red"
 * Colour.parse("GREEN"); // 1
 * ```
 */
export interface Codes<Name extends string> {
  /** What the codes describe, used in error messages ("job state"). */
  readonly label: string;
  /** Display names in code order: `names[code] === name`. */
  readonly names: readonly Name[];
  /** Name → code, for writing `JobState.Running` style constants. */
  readonly byName: { readonly [K in Name]: number };
  code(name: Name): number;
  name(code: number): Name;
  /** Accepts a display name in any letter case or a code; throws {@link UnknownCodeError}. */
  parse(input: string | number): number;
  isCode(value: unknown): value is number;
}

/** Thrown when a state or health name or number is not one LAVA defines. */
export class UnknownCodeError extends Error {
  constructor(label: string, input: string | number, names: readonly string[]) {
    super(`unknown ${label} ${JSON.stringify(input)}: expected one of ${names.join(", ")}`);
    this.name = "UnknownCodeError";
  }
}

/** Builds a {@link Codes} table whose codes are the positions of `names`. */
export function defineCodes<const Name extends string>(
  label: string,
  names: readonly Name[],
): Codes<Name> {
  const byName = Object.fromEntries(names.map((n, i) => [n, i])) as { [K in Name]: number };
  const byUpper = new Map(names.map((n, i) => [n.toUpperCase(), i]));
  const isCode = (value: unknown): value is number =>
    typeof value === "number" && Number.isInteger(value) && value >= 0 && value < names.length;
  return {
    label,
    names,
    byName,
    code: (name) => byName[name],
    name(code) {
      if (!isCode(code)) throw new UnknownCodeError(label, code, names);
      return names[code];
    },
    parse(input) {
      if (typeof input === "number") {
        if (isCode(input)) return input;
        throw new UnknownCodeError(label, input, names);
      }
      const code = byUpper.get(input.trim().toUpperCase());
      if (code === undefined) throw new UnknownCodeError(label, input, names);
      return code;
    },
    isCode,
  };
}
