/**
 * Python's Jinja2 (Debian's python3-jinja2) as a reference renderer for tests:
 * one long-lived process, fed JSON requests by tests/support/jinja2_render.py.
 */
import { textStream } from "../../actors/text_stream.ts";

export interface ReferenceRequest {
  readonly paths: readonly string[];
  readonly template?: string;
  readonly source?: string;
  readonly context: Record<string, unknown>;
}

export type ReferenceResult = { output: string } | { error: string };

export class Jinja2Reference {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  constructor() {
    const script = new URL("./jinja2_render.py", import.meta.url).pathname;
    this.#child = new Deno.Command("/usr/bin/python3", {
      args: [script],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    })
      .spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = lines(this.#child.stdout)[Symbol.asyncIterator]();
  }

  async render(request: ReferenceRequest): Promise<ReferenceResult> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
    const { value, done } = await this.#lines.next();
    if (done) throw new Error("the Jinja2 reference process ended");
    return JSON.parse(value);
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.#child.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of textStream(stream)) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
    }
  }
}
