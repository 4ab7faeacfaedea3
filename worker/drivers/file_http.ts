/**
 * Serving one file to a device over HTTP, as LAVA's worker serves a job's overlay
 * from its Apache for `transfer_overlay`: Basalt's dispatcher listens for the
 * length of the transfer only, at a path nobody can guess, and serves nothing else.
 */
import { basename } from "../../actors/path.ts";
import { InfrastructureError } from "../job/errors.ts";

/** How long a transfer still running may hold the server's closing. */
const CLOSE_GRACE_MS = 2_000;

export interface ServedFile {
  /** The URL the device fetches, on the address it reaches the worker at. */
  readonly url: string;
  /** How many times the file was fetched. */
  readonly fetches: () => number;
  close(): Promise<void>;
}

/** Serves `path` on `hostname` (an address of this machine, or 0.0.0.0) at a free port; the URL names `advertised`. */
export function serveFile(path: string, hostname: string, advertised: string): ServedFile {
  const token = crypto.randomUUID();
  const name = basename(path);
  const route = `/${token}/${encodeURIComponent(name)}`;
  let fetches = 0;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port: 0, onListen: () => {} }, async (request) => {
      if (request.method !== "GET" || new URL(request.url).pathname !== route) {
        return new Response("not found\n", { status: 404 });
      }
      const file = await Deno.open(path, { read: true });
      const { size } = await file.stat();
      fetches++;
      return new Response(file.readable, {
        headers: { "content-type": "application/octet-stream", "content-length": String(size) },
      });
    });
  } catch (error) {
    throw new InfrastructureError(`cannot serve ${name} over HTTP on ${hostname}: ${(error as Error).message}`);
  }
  const host = advertised.includes(":") ? `[${advertised}]` : advertised;
  return {
    url: `http://${host}:${server.addr.port}${route}`,
    fetches: () => fetches,
    // A device that stalls mid-download must not hold the boot: the listener closes at once, a transfer still
    // running gets a moment, then the dispatcher goes on (its end closes what is left).
    close: async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        server.shutdown(),
        new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS)),
      ]);
      clearTimeout(timer);
    },
  };
}
