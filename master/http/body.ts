/**
 * Reading request bodies with a byte limit. Every body the master reads goes
 * through `readBodyBytes`: it refuses a declared `Content-Length` over the limit
 * before reading anything, and stops reading a chunked (or lying) body as soon
 * as it passes the limit, so a client can never make the master hold more than
 * `limit` bytes of one request.
 *
 * ```ts
 * const text = await readBodyText(c.req.raw, BODY_LIMITS.rpc);
 * ```
 */

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The limits, by what the body is. A job definition with inline test definitions
 * is a few hundred KiB at most, so job submissions get 8 MiB; anonymous XML-RPC
 * calls only read, with small arguments; forms and logins are a few fields.
 */
export const BODY_LIMITS = {
  /** `/RPC2` with a user: job submissions, templates, dictionaries. */
  rpc: 8 * MiB,
  /** `/RPC2` without a user: only reading methods, whose arguments are short. */
  rpcAnonymous: 64 * KiB,
  /** JSON API bodies: job submissions and small settings. */
  json: 8 * MiB,
  /** A device dictionary stored through the API. */
  dictionary: 1 * MiB,
  /** A web form (cancel, resubmit, health, tokens). */
  form: 16 * KiB,
  /** The web login form: a user name and a token. */
  login: 4 * KiB,
  /** A batch of lava-run's log: up to 1,000 records, each LAVA cuts below 1 MB (most are short). */
  lavaLogBatch: 32 * MiB,
  /** A LAVA worker's end of a job: its state, lava-run's stderr and the pipeline's description.yaml. */
  lavaJobEnd: 8 * MiB,
} as const;

/** The body is larger than its limit; answered with 413. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
  readonly status = 413;
  constructor(readonly limit: number) {
    super(`the request body is larger than ${formatBytes(limit)}`);
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} bytes`;
}

/** The whole body, at most `limit` bytes; throws BodyTooLargeError, having stopped reading, when it is larger. */
export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get("Content-Length");
  if (declared !== null && /^[0-9]+$/.test(declared.trim()) && Number(declared) > limit) {
    await request.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(limit);
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw new BodyTooLargeError(limit);
      }
      chunks.push(value as Uint8Array<ArrayBuffer>);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** The body as UTF-8 text (invalid sequences become U+FFFD), at most `limit` bytes. */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  return new TextDecoder().decode(await readBodyBytes(request, limit));
}

/** The body's fields, URL-encoded or multipart (files are dropped: no form uploads any), at most `limit` bytes. */
export async function readBodyForm(request: Request, limit: number): Promise<Record<string, string>> {
  const bytes = await readBodyBytes(request, limit);
  const type = request.headers.get("Content-Type") ?? "";
  let entries: Iterable<[string, FormDataEntryValue]>;
  if (/^multipart\/form-data/i.test(type)) {
    try {
      entries = await new Response(bytes, { headers: { "Content-Type": type } }).formData();
    } catch {
      return {};
    }
  } else {
    entries = new URLSearchParams(new TextDecoder().decode(bytes));
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of entries) {
    // defineProperty: a field named "__proto__" must stay a field.
    if (typeof value === "string") {
      Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return fields;
}
