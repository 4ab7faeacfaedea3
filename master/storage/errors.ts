/**
 * Errors the storage layer raises for things a user asked for that cannot be
 * done. Their messages are meant to be printed as they are.
 */

/** The named object does not exist. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/** An object with that name already exists. */
export class AlreadyExistsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AlreadyExistsError";
  }
}

/** A value breaks one of the schema's rules (a CHECK constraint). */
export class InvalidValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidValueError";
  }
}

/** PostgreSQL's SQLSTATE of a failed statement, from either driver. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code;
  }
  return undefined;
}

export const UNIQUE_VIOLATION = "23505";
export const FOREIGN_KEY_VIOLATION = "23503";
export const CHECK_VIOLATION = "23514";

/** Runs `fn`, turning a uniqueness or CHECK failure into the user-facing error given. */
export async function explainConstraint<T>(
  fn: () => Promise<T>,
  explain: { unique?: () => Error; check?: () => Error },
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const state = sqlState(error);
    if (state === UNIQUE_VIOLATION && explain.unique) throw explain.unique();
    if (state === CHECK_VIOLATION && explain.check) throw explain.check();
    throw error;
  }
}
