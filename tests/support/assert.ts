/**
 * The assertions our tests use, in the shape of Deno std's `@std/assert` (JSR is
 * out of reach here), built on Node's strict `assert` that Deno ships.
 */
import nodeAssert from "node:assert/strict";

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = new (...args: any[]) => E;

// Prefixes Node's own failure text (with its diff) with the caller's note.
function withNote(message: string | undefined, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (message !== undefined && error instanceof Error) error.message = `${message}\n${error.message}`;
    throw error;
  }
}

export function assert(condition: unknown, message?: string): asserts condition {
  withNote(message, () => nodeAssert.ok(condition));
}

export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  withNote(message, () => nodeAssert.deepStrictEqual(actual, expected));
}

export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  withNote(message, () => nodeAssert.notDeepStrictEqual(actual, expected));
}

export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  withNote(message, () => nodeAssert.match(actual, pattern));
}

export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  if (!actual.includes(expected)) {
    nodeAssert.fail(message ?? `expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`);
  }
}

export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClass?: ErrorClass<E>,
  messageIncludes?: string,
): E {
  try {
    fn();
  } catch (error) {
    return checkError(error, errorClass, messageIncludes);
  }
  return nodeAssert.fail("expected the function to throw");
}

export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  errorClass?: ErrorClass<E>,
  messageIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, errorClass, messageIncludes);
  }
  return nodeAssert.fail("expected the promise to reject");
}

function checkError<E extends Error>(
  error: unknown,
  errorClass: ErrorClass<E> | undefined,
  messageIncludes: string | undefined,
): E {
  if (errorClass && !(error instanceof errorClass)) {
    nodeAssert.fail(`expected ${errorClass.name}, got ${error instanceof Error ? error.name : typeof error}: ${error}`);
  }
  if (!(error instanceof Error)) nodeAssert.fail(`expected an Error, got ${typeof error}`);
  if (messageIncludes !== undefined) assertStringIncludes(error.message, messageIncludes);
  return error as E;
}
