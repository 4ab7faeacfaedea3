/**
 * Waiting in tests for something another process or actor makes true: the
 * waiters are re-checked whenever the thing being watched changes (`notify`),
 * never on a timer, and a timeout says what was awaited.
 */
export class Condition {
  readonly #waiters = new Set<() => void>();

  /** Re-checks every waiter; call it whenever the watched state changes. */
  notify(): void {
    for (const check of this.#waiters) check();
  }

  /** Resolves with `predicate`'s first truthy value; `detail` adds context to the timeout's message. */
  until<T>(predicate: () => T | undefined | false, timeoutMs: number, what: string, detail?: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = predicate();
        if (value) {
          cleanup();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${timeoutMs} ms${detail ? `; ${detail()}` : ""}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

/**
 * Polls `check` every 25 ms until it holds, for state that sends no notification (rows another process writes);
 * the timeout says what was awaited.
 */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
