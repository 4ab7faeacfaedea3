/**
 * Where a browser island goes in a server-rendered page: the component rendered
 * on the server inside a marked element, with its props beside it as JSON, so
 * the browser bundle hydrates the same markup and only then goes live.
 */
import type { ComponentChildren } from "preact";

/** JSON safe inside a <script> element: no way to close it early. */
function safeJson(value: unknown): string {
  return JSON.stringify(value).replaceAll("<", "\\u003c").replaceAll(">", "\\u003e").replaceAll("&", "\\u0026");
}

export function Island(props: { name: string; props: unknown; children: ComponentChildren }) {
  return (
    <div data-island={props.name}>
      <script type="application/json" dangerouslySetInnerHTML={{ __html: safeJson(props.props) }} />
      <div data-island-root>{props.children}</div>
    </div>
  );
}
