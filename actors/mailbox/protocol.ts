/**
 * The typed bodies a mailbox carries. A protocol maps each data kind to a parser
 * that either returns the typed body or says what is wrong with it; a body that
 * does not parse is dropped and counted, never handed to an actor.
 *
 * @example
 * ```ts
 * const protocol = defineProtocol({
 *   "job.cancel": (body) => isRecord(body) && typeof body.job === "number" ? { job: body.job } : fail("job must be a number"),
 * });
 * ```
 */

export type BodyParser<T> = (body: unknown) => T | ParseProblem;

export interface ParseProblem {
  readonly problem: string;
}

export function fail(problem: string): ParseProblem {
  return { problem };
}

export function isProblem(value: unknown): value is ParseProblem {
  return typeof value === "object" && value !== null && "problem" in value && Object.keys(value).length === 1;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// deno-lint-ignore no-explicit-any
export type Parsers = Record<string, BodyParser<any>>;

/** The body type a protocol gives to kind K. */
export type BodyOf<P extends Parsers, K extends keyof P> = Exclude<ReturnType<P[K]>, ParseProblem>;

export interface Protocol<P extends Parsers> {
  readonly parsers: P;
  readonly kinds: ReadonlySet<string>;
  /**
   * Kinds sent at most once, unnumbered and never journaled: a live stream whose
   * record is kept elsewhere (a console's bytes), where a message late after a
   * reconnection is worth less than no message.
   */
  readonly transient: ReadonlySet<string>;
}

export function defineProtocol<P extends Parsers>(
  parsers: P,
  options: { readonly transient?: readonly (keyof P & string)[] } = {},
): Protocol<P> {
  return { parsers, kinds: new Set(Object.keys(parsers)), transient: new Set(options.transient ?? []) };
}
