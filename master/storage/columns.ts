/** Partial updates: only the columns a change names are written. */

/** The entries of `values` that are not undefined (null is a value: it clears a column). */
export function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}
