/**
 * Bytes to text, as a stream. One place for it because the type of
 * `TextDecoderStream` differs between Deno's own declarations and the DOM's
 * (which preact's JSX types pull into any program that renders pages), and
 * `pipeThrough` only accepts it under one of them without a cast.
 *
 * @example
 * ```ts
 * for await (const chunk of textStream(child.stdout)) console.log(chunk);
 * ```
 */
export function textStream(stream: ReadableStream<Uint8Array>): ReadableStream<string> {
  return stream.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>);
}
