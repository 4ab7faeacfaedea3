/**
 * JSON as Python's `json.dumps` writes it with its defaults — `", "` and `": "`
 * between items, every non-ASCII character as `\uXXXX`, keys in insertion order
 * (a Map for keys that look like numbers) — because LAVA's
 * coordinator replies are compared byte for byte by some clients, and because
 * the frame's length header counts the characters Python would have sent. The
 * coordinator writes its replies this way, and the dispatcher its requests, as
 * LAVA's own client does.
 */

function escapeString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ch = text[i];
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + '"';
}

export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
    return Number.isInteger(value) ? String(value) : String(value);
  }
  if (typeof value === "string") return escapeString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  // A Map keeps insertion order even for keys like "1234", which a plain object would sort.
  if (value instanceof Map) {
    return `{${[...value.entries()].map(([k, v]) => `${escapeString(String(k))}: ${pythonJson(v)}`).join(", ")}}`;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${escapeString(k)}: ${pythonJson(v)}`).join(", ")}}`;
  }
  return "null";
}
