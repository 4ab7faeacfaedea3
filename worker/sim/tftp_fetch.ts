/**
 * How a simulated firmware fetches a file over TFTP: Debian's curl (its TFTP
 * client), bounded in time, ended by `signal` (the board switched off).
 */

/** Fetches `path` from `host` (an address this machine reaches) into `file`; gives curl's error, or undefined. */
export async function fetchOverTftp(
  host: string,
  path: string,
  file: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  const output = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "120", "-o", file, `tftp://${host}/${path.replace(/^\/+/, "")}`],
    stdout: "null",
    stderr: "piped",
    signal,
  }).output().catch((error: Error) => ({ success: false, stderr: new TextEncoder().encode(error.message) }));
  return output.success ? undefined : new TextDecoder().decode(output.stderr).trim().slice(0, 200) || "failed";
}
