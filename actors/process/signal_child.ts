/** Signals to child processes that may have ended on their own. */

/**
 * Sends `signal` to a child of this process; false when it has already ended. Stopping what has stopped is not an
 * error: a terminal's Ctrl-C reaches every process of its group, so children are often gone before they are told.
 *
 * @example
 * signalChild(ser2net, "SIGKILL");
 * await ser2net.status;
 */
export function signalChild(child: Deno.ChildProcess, signal: Deno.Signal): boolean {
  try {
    child.kill(signal);
    return true;
  } catch {
    return false;
  }
}
