/**
 * A master reached the way an outside client reaches it, over HTTP with an API
 * token: JSON API calls, and server-sent-event streams (the live log, the
 * event stream) read block by block.
 */

/** The master's REST APIs with a token; an answer of 400 or more throws, naming the call. */
export class MasterClient {
  constructor(readonly url: string, readonly token: string) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, text = false): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        Authorization: `Token ${this.token}`,
        ...(body !== undefined && !text ? { "Content-Type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : text ? String(body) : JSON.stringify(body),
    });
    const raw = await response.text();
    let parsed: unknown = raw;
    try {
      parsed = JSON.parse(raw);
    } catch { /* text */ }
    if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${raw.slice(0, 300)}`);
    return parsed as T;
  }
}

/**
 * Reads a server-sent-event stream, calling `onEvent` with each event's name
 * (`message` when it has none) and data, until `onEvent` returns false, the
 * stream ends or `signal` aborts.
 */
export async function readSse(
  url: string,
  token: string,
  onEvent: (event: string, data: string) => boolean | void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await fetch(url, { headers: { Authorization: `Token ${token}` }, signal });
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of response.body!) {
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (onEvent(event, data) === false) return; // leaving the loop cancels the stream
      }
    }
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}
