/**
 * Basalt's JSON API from the command line's side: requests with the user's
 * token, errors that say what the server said, and server-sent event streams
 * (a job's log, the lab's events) read as they arrive.
 */
import { textStream } from "../../actors/text_stream.ts";

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "ApiError";
  }
}

export interface SseMessage {
  readonly event: string;
  readonly data: string;
}

export class ApiClient {
  constructor(readonly baseUrl: string, readonly token?: string) {}

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { Authorization: `Token ${this.token}` } : {}), ...extra };
  }

  async #fetch(method: string, path: string, body?: unknown, accept = "application/json"): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: this.#headers({
          Accept: accept,
          ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, `cannot reach the master at ${this.baseUrl}: ${(error as Error).message}`);
    }
    if (!response.ok) {
      const text = await response.text();
      let message = text;
      try {
        message = JSON.parse(text).error ?? text;
      } catch { /* plain text */ }
      throw new ApiError(response.status, `${method} ${path}: ${response.status} ${message}`);
    }
    return response;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return await (await this.#fetch(method, path, body)).json() as T;
  }

  async text(path: string): Promise<string> {
    return await (await this.#fetch("GET", path, undefined, "*/*")).text();
  }

  /** Opens a WebSocket on `path`, authenticated as the other requests are; rejects if it cannot open. */
  websocket(path: string): Promise<WebSocket> {
    const url = new URL(path, this.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    // Deno's WebSocket takes headers, so the token never goes into a URL (and a proxy's log).
    const socket = new WebSocket(url, { headers: this.#headers() } as unknown as string[]);
    return new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(socket), { once: true });
      socket.addEventListener("error", (event) => {
        const message = (event as ErrorEvent).message ?? "the connection failed";
        reject(new ApiError(0, `cannot open ${path}: ${message}`));
      }, { once: true });
    });
  }

  /** Reads a server-sent event stream until it ends or `signal` aborts. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<SseMessage> {
    const response = await this.#fetch("GET", path, undefined, "text/event-stream");
    const reader = textStream(response.body!).getReader();
    signal?.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          if (data.length > 0) yield { event, data: data.join("\n") };
        }
      }
    } finally {
      reader.releaseLock();
    }
  }
}
