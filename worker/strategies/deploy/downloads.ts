/**
 * Downloading a deploy's images: one `download-retry` per image (LAVA's shape),
 * run all at once, bounded by the number of cores, each saved under the job's
 * directory by a name the job cannot turn into a path elsewhere.
 */
import { join } from "../../../actors/path.ts";
import { type ActionShape, shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import type { ActionImplementation, ActionRun, Block } from "../context.ts";
import { unpackTar } from "../../drivers/archive.ts";
import { type Compression, DEFAULT_MAX_DOWNLOAD_BYTES, download, inParallel } from "../../drivers/download.ts";
import { JobError } from "../../job/errors.ts";
import { fileNameInside, hasControlCharacters } from "../../job/paths.ts";

const CORES = Math.max(1, navigator.hardwareConcurrency ?? 2);

/** LAVA's download action for one image: over http(s), or a copy of a local file. */
export function downloadShape(key: string, image: unknown): ActionShape {
  const url = isMapping(image) && typeof image.url === "string" ? image.url : "";
  const leaf = url.startsWith("file://")
    ? shape("file-download", "use local file", "local file copy", { url, item: key })
    : shape("http-download", "use http to download the file", "http download", { url, item: key });
  return shape("download-retry", "download with retry", "download-retry", { retry: true, item: key, pipeline: [leaf] });
}

/** The downloadable images of a deploy block, by key, in the order they are written. */
export function imagesOf(block: Block, keys: readonly string[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  if (isMapping(block.images)) out.push(...Object.entries(block.images));
  for (const key of keys) if (isMapping(block[key])) out.push([key, block[key]]);
  return out;
}

/** The download actions for a deploy block's images. */
export function downloadShapes(block: Block, keys: readonly string[] = []): ActionShape[] {
  return imagesOf(block, keys).map(([key, image]) => downloadShape(key, image));
}

/** Runs the deploy's children, the downloads all at once (bounded by cores). */
export const deployWithParallelDownloads: ActionImplementation = async (run) => {
  const downloads = run.action.pipeline.filter((c) => c.name === "download-retry");
  for (const child of run.action.pipeline) {
    if (child.name === "download-retry") {
      if (child === downloads[0]) await inParallel(downloads.map((d) => () => run.child(d)), CORES);
      continue;
    }
    await run.child(child);
  }
};

/** The image (or kernel, dtb...) a download action is for. */
function resourceOf(block: Block, key: string): Record<string, unknown> {
  if (isMapping(block.images) && isMapping(block.images[key])) return block.images[key] as Record<string, unknown>;
  return isMapping(block[key]) ? block[key] as Record<string, unknown> : {};
}

/** The file name a download is saved under: the URL's last segment, decoded, without its compression suffix when decompressed. */
function downloadName(url: string, key: string, what: string, decompressed: boolean): string {
  let segment: string;
  try {
    segment = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
  } catch {
    throw new JobError(`${what}: ${url} is not a URL (or its last segment is not valid %-encoding)`);
  }
  if (segment.includes("/")) throw new JobError(`${what}: ${JSON.stringify(segment)} is not a plain file name`);
  // The name ends up in QEMU's -drive options and U-Boot's commands, where "," or ";" would be read as syntax.
  const name = decompressed ? segment.replace(/\.(gz|xz|bz2|zst|zstd)$/, "") : segment;
  return (name || key).replace(/[^A-Za-z0-9._+-]/g, "_");
}

/** The job's HTTP headers for a download: names and values HTTP allows, or the job's error. */
function requestHeaders(raw: unknown, what: string): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMapping(raw)) throw new JobError(`${what}: must be a mapping of header names to values`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const text = typeof value === "string" || typeof value === "number" ? String(value) : undefined;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || text === undefined || hasControlCharacters(text)) {
      throw new JobError(`${what}: ${JSON.stringify(name)} is not an HTTP header name with a one-line value`);
    }
    headers[name] = text;
  }
  return headers;
}

const fetchResource: ActionImplementation = async ({ ctx, action, block, signal }: ActionRun) => {
  const key = action.item!;
  const resource = resourceOf(block, key);
  const url = String(resource.url);
  const field = isMapping(block.images) && isMapping(block.images[key]) ? `images.${key}` : key;
  if (!/^[A-Za-z0-9._-]+$/.test(key)) {
    throw new JobError(`${action.name} images key: ${JSON.stringify(key)} must be letters, digits, '.', '_', '-'`);
  }
  const keyDir = fileNameInside(ctx.downloadDir, key, `${action.name} images key`);
  // As LAVA: a ramdisk is kept as it came (compressed, with its header); the deploy that needs it opened opens it.
  const compression = key === "ramdisk" ? undefined : resource.compression as Compression | undefined;
  const target = fileNameInside(
    keyDir,
    downloadName(url, key, `${action.name} ${field}.url`, compression !== undefined),
    `${action.name} ${field}.url`,
  );
  const started = performance.now();
  const result = await download({
    url,
    target,
    what: `${action.name} ${field}.url`,
    fileDirs: ctx.fileDirs,
    maxBytes: ctx.maxDownloadBytes,
    compression,
    md5sum: resource.md5sum as string | undefined,
    sha256sum: resource.sha256sum as string | undefined,
    sha512sum: resource.sha512sum as string | undefined,
    headers: requestHeaders(resource.headers, `${action.name} ${field}.headers`),
    cacheDir: ctx.cacheDir,
    useCache: resource.use_cache === true,
    signal,
  });
  const seconds = (performance.now() - started) / 1000;
  ctx.log.info(
    `${result.fromCache ? "Reused the cached" : "Downloaded"} ${key} from ${url}: ${result.bytes} bytes` +
      (result.fromCache ? "" : ` in ${seconds.toFixed(2)} s`) + ` (sha256 ${result.sha256})`,
  );
  if (resource.archive !== undefined && resource.archive !== null) {
    if (resource.archive !== "tar") {
      throw new JobError(`${action.name} ${field}.archive: unknown archive format ${JSON.stringify(resource.archive)}`);
    }
    // As LAVA: the archive is unpacked beside it, in a directory named for the key, which the key then means.
    const unpacked = join(keyDir, key);
    await unpackTar(
      result.path,
      unpacked,
      ctx.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES,
      `${action.name} ${field}`,
    );
    ctx.log.info(`Unpacked the ${key} archive into ${unpacked}`);
    ctx.downloads.set(key, unpacked);
    return;
  }
  ctx.downloads.set(key, result.path);
};

/** The implementations of the download actions, for a deploy strategy's table. */
export const DOWNLOAD_ACTIONS: Readonly<Record<string, ActionImplementation>> = {
  "http-download": fetchResource,
  "file-download": fetchResource,
};
