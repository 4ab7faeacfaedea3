/**
 * Downloads for deploy actions: `http(s)://` and `file://`, checked against the
 * job's md5sum/sha256sum/sha512sum, decompressed as they stream (gz in-process;
 * xz, bz2 and zstd through Debian's tools), and cached by URL and checksum.
 *
 * A checksum that does not match, or a `compression:` the file does not have, is
 * the job's error; a server or network that fails is the lab's.
 *
 * What a job may reach is bounded: `file://` only inside the directories the
 * worker serves local images from, and no download (once decompressed) larger
 * than the worker's limit, so a decompression bomb fills no disk.
 */
import { dirname, join } from "../../actors/path.ts";
import { type DigestKind, sha256Hex, StreamDigest } from "../../actors/digest.ts";
import { InfrastructureError, JobError, JobFailure } from "../job/errors.ts";
import { confinedLocalPath } from "../job/paths.ts";

/**
 * Where `file://` URLs may point unless the worker says otherwise: the usual
 * local image stores, and the QEMU device image tools/build-dut-image.sh builds.
 */
export const DEFAULT_FILE_DIRS: readonly string[] = [
  "/var/lib/basalt/images",
  "/srv/basalt/images",
  "/var/cache/basalt-dut",
];

/** The largest download (as written, after decompression) unless the worker says otherwise: 16 GiB. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 16 * 2 ** 30;

export type Compression = "gz" | "xz" | "bz2" | "zstd" | "zip";

export interface DownloadRequest {
  readonly url: string;
  readonly target: string;
  /** The action and field the URL came from, for errors: "http-download images.kernel.url". */
  readonly what?: string;
  /** Directories `file://` URLs may read from (real paths checked, symlinks followed); none unless given. */
  readonly fileDirs?: readonly string[];
  /** Most bytes written (after decompression); more is the job's error. */
  readonly maxBytes?: number;
  readonly compression?: Compression | null;
  readonly md5sum?: string;
  readonly sha256sum?: string;
  readonly sha512sum?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Where finished downloads are kept for reuse; none disables the cache. */
  readonly cacheDir?: string;
  readonly useCache?: boolean;
  readonly signal?: AbortSignal;
  /** Called as bytes arrive (for progress logging). */
  readonly onProgress?: (bytes: number) => void;
}

export interface DownloadResult {
  readonly path: string;
  /** Bytes fetched (compressed). */
  readonly bytes: number;
  readonly fromCache: boolean;
  readonly sha256: string;
}

const TOOLS: Record<Exclude<Compression, "gz" | "zip">, string[]> = {
  xz: ["xz", "-dc"],
  bz2: ["bzip2", "-dc"],
  zstd: ["zstd", "-dcq"],
};

async function source(request: DownloadRequest, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  const { url, headers } = request;
  const what = request.what ?? "download";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new JobError(`${what}: ${url} is not a URL`);
  }
  if (parsed.protocol === "file:") {
    if (parsed.host !== "" && parsed.host !== "localhost") {
      throw new JobError(`${what}: ${url} names another host; file:// URLs are read on the worker`);
    }
    let path: string;
    try {
      path = decodeURIComponent(parsed.pathname);
    } catch {
      throw new JobError(`${what}: ${url} is not a valid file:// URL`);
    }
    const real = await confinedLocalPath(path, request.fileDirs ?? [], what);
    try {
      const file = await Deno.open(real);
      if (!(await file.stat()).isFile) {
        file.close();
        throw new JobError(`${what}: ${url} is not a regular file`);
      }
      return file.readable;
    } catch (error) {
      if (error instanceof JobError) throw error;
      throw new JobError(`${what}: cannot read ${url}: ${(error as Error).message}`);
    }
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new JobError(`${what}: ${url}: only http(s):// and file:// URLs can be downloaded`);
  }
  let response: Response;
  try {
    response = await fetch(url, { headers: headers as HeadersInit, signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new InfrastructureError(`cannot download ${url}: ${(error as Error).message}`);
  }
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel();
    throw new JobError(`cannot download ${url}: ${response.status} ${response.statusText} (is the URL right?)`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new InfrastructureError(
      `cannot download ${url}: the server answered ${response.status} ${response.statusText}`,
    );
  }
  return response.body;
}

/** "4 MiB" for 4194304, else the bytes. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** "16G", "512M", "64K" or bytes, as `--max-download-size` takes it; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!match) return undefined;
  const scale = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[match[2].toUpperCase()]!;
  const bytes = Number(match[1]) * scale;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** Passes bytes on until `limit`, then fails the stream with the job's error (and calls `onExceeded`). */
function limitTo(
  limit: number,
  error: () => JobError,
  onExceeded?: () => void,
): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.length;
      if (total > limit) {
        onExceeded?.();
        controller.error(error());
        return;
      }
      controller.enqueue(chunk);
    },
  });
}

/** Decompresses `input` into `output` within a limit; rejects naming the compression (and `url`) when the data is not that. */
export async function decompress(
  input: ReadableStream<Uint8Array>,
  output: WritableStream<Uint8Array>,
  compression: Compression,
  url: string,
  limit: { bytes: number; error: () => JobError },
): Promise<void> {
  if (compression === "zip") {
    // As LAVA: a zip file is kept as it came (a deploy that needs its contents unpacks it), within the limit.
    await input.pipeThrough(limitTo(limit.bytes, limit.error)).pipeTo(output);
    return;
  }
  if (compression === "gz") {
    try {
      await input.pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>)
        .pipeThrough(limitTo(limit.bytes, limit.error))
        .pipeTo(output);
    } catch (error) {
      if (error instanceof JobFailure) throw error;
      throw new JobError(
        `${url} is declared "compression: gz" but cannot be decompressed as gzip: ${(error as Error).message}`,
      );
    }
    return;
  }
  const [tool, ...args] = TOOLS[compression];
  const child = new Deno.Command(tool, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const stderr = new Response(child.stderr).text();
  let exceeded: JobError | undefined;
  const feeding = input.pipeTo(child.stdin).catch(() => {});
  const draining = child.stdout.pipeThrough(limitTo(limit.bytes, () => exceeded = limit.error(), () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  })).pipeTo(output);
  const [status] = await Promise.all([child.status, feeding, draining.catch(() => {})]);
  if (exceeded) throw exceeded;
  if (!status.success) {
    throw new JobError(
      `${url} is declared "compression: ${compression}" but ${tool} cannot decompress it: ${(await stderr).trim()}`,
    );
  }
}

function expectedSums(request: DownloadRequest): [DigestKind, string][] {
  const sums: [DigestKind, string][] = [];
  if (request.md5sum) sums.push(["md5", request.md5sum.toLowerCase()]);
  if (request.sha256sum) sums.push(["sha256", request.sha256sum.toLowerCase()]);
  if (request.sha512sum) sums.push(["sha512", request.sha512sum.toLowerCase()]);
  return sums;
}

/** The cache entry for a request: by URL, checksums and compression. */
function cacheKey(request: DownloadRequest): Promise<string> | undefined {
  const sums = expectedSums(request);
  if (!request.cacheDir || (sums.length === 0 && !request.useCache)) return undefined;
  return sha256Hex(JSON.stringify([request.url, sums, request.compression ?? null]));
}

/** How long a download may receive nothing before the server is taken to have stalled. */
const STALL_MS = Number(Deno.env.get("BASALT_DOWNLOAD_STALL_MS") ?? 10_000);

/** Downloads (or takes from the cache) one file into `request.target`. */
export async function download(request: DownloadRequest): Promise<DownloadResult> {
  await Deno.mkdir(dirname(request.target), { recursive: true });
  const key = await cacheKey(request);
  if (key) {
    const cached = join(request.cacheDir!, key);
    try {
      const meta = JSON.parse(await Deno.readTextFile(`${cached}.json`)) as Omit<DownloadResult, "path" | "fromCache">;
      await Deno.copyFile(cached, request.target);
      // Renewed, so that the worker's pruning takes the least recently used entries first.
      const now = new Date();
      await Deno.utime(cached, now, now).catch(() => {});
      return { ...meta, path: request.target, fromCache: true };
    } catch { /* not cached yet */ }
  }
  // sha256 is always logged; md5 and sha512 cost as much again each, so only a job that gives one gets it computed.
  const expected = expectedSums(request);
  const hashes: Partial<Record<DigestKind, StreamDigest>> = { sha256: new StreamDigest("sha256") };
  for (const [kind] of expected) hashes[kind] ??= new StreamDigest(kind);
  let bytes = 0;
  const counting = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      for (const hash of Object.values(hashes)) await hash.update(chunk);
      bytes += chunk.length;
      request.onProgress?.(bytes);
      controller.enqueue(chunk);
    },
  });
  const partial = `${request.target}.partial`;
  const file = await Deno.open(partial, { write: true, create: true, truncate: true });
  // A server that stops sending is the lab's trouble, not the job's: say so before the action's timeout does.
  const stall = new AbortController();
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  const armStall = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() =>
      stall.abort(
        new InfrastructureError(
          `the server of ${request.url} stopped sending after ${bytes} bytes (nothing for ${STALL_MS / 1000} s)`,
        ),
      ), STALL_MS);
  };
  const watched = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      armStall();
      controller.enqueue(chunk);
    },
  });
  const signal = request.signal ? AbortSignal.any([request.signal, stall.signal]) : stall.signal;
  try {
    armStall();
    const maxBytes = request.maxBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
    const tooLarge = () =>
      new JobError(
        `${request.what ?? "download"}: ${request.url} is more than ${formatBytes(maxBytes)}` +
          `${request.compression ? " once decompressed" : ""}, this worker's limit for one download`,
      );
    const input = (await source(request, signal)).pipeThrough(watched).pipeThrough(counting);
    if (request.compression) {
      await decompress(input, file.writable, request.compression, request.url, { bytes: maxBytes, error: tooLarge });
    } else await input.pipeThrough(limitTo(maxBytes, tooLarge)).pipeTo(file.writable);
  } catch (error) {
    await Deno.remove(partial).catch(() => {});
    if (request.signal?.aborted) throw request.signal.reason;
    if (stall.signal.aborted) throw stall.signal.reason;
    if (error instanceof JobError || error instanceof InfrastructureError) throw error;
    throw new InfrastructureError(`download of ${request.url} failed: ${(error as Error).message}`);
  } finally {
    clearTimeout(stallTimer);
  }
  const digests: Partial<Record<DigestKind, string>> = {};
  for (const [kind, hash] of Object.entries(hashes) as [DigestKind, StreamDigest][]) digests[kind] = await hash.hex();
  for (const [kind, sum] of expected) {
    const actual = digests[kind];
    if (actual !== sum) {
      await Deno.remove(partial).catch(() => {});
      throw new JobError(`${kind}sum of ${request.url} does not match: expected ${sum}, got ${actual}`);
    }
  }
  await Deno.rename(partial, request.target);
  const result = { bytes, sha256: digests.sha256! };
  if (key) {
    await Deno.mkdir(request.cacheDir!, { recursive: true });
    const cached = join(request.cacheDir!, key);
    await Deno.copyFile(request.target, `${cached}.tmp`);
    await Deno.rename(`${cached}.tmp`, cached);
    await Deno.writeTextFile(`${cached}.json`, JSON.stringify(result));
  }
  return { ...result, path: request.target, fromCache: false };
}

/** Runs `tasks` with at most `limit` at once; fails with the first failure, after all have settled. */
export async function inParallel<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      try {
        results[index] = await tasks[index]();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}
