/**
 * Values as LAVA's Python puts them on the wire, for clients that compare
 * bytes or parse Python's spellings: `str()` of a date or of None, the JSON
 * `requests` sends (`json.dumps`: ", " and ": " separators, non-ASCII escaped),
 * and the form body `requests` encodes from a dict (None dropped, a dict or list
 * sent as its keys or items repeated, `True`/`False`, `quote_plus`).
 */

/** Python's `str()` of an aware UTC datetime, or of None. */
export function pythonTime(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return "None";
  const date = new Date(value);
  const iso = date.toISOString(); // 2026-12-04T13:00:00.123Z
  const micros = date.getUTCMilliseconds() === 0 ? "" : `.${iso.slice(20, 23)}000`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${micros}+00:00`;
}

/** `json.dumps(value)` as Python writes it. */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError("JSON has no NaN or Infinity");
    return String(value);
  }
  if (typeof value === "string") {
    return JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  }
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (value instanceof Date) return pythonJson(value.toISOString());
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`).join(", ")}}`;
}

/** Python's `quote_plus`: only letters, digits and `_.-~` stay as they are; a space is `+`. */
export function quotePlus(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll("%20", "+");
}

function pythonScalar(value: unknown): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
}

/** The body `requests.post(url, data=dict)` sends. */
export function pythonForm(data: Record<string, unknown>): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    let items: unknown[];
    if (value === null || value === undefined) continue;
    else if (Array.isArray(value)) items = value;
    else if (typeof value === "object" && !(value instanceof Date)) items = Object.keys(value);
    else items = [value];
    for (const item of items) {
      if (item === null || item === undefined) continue;
      // urlencode(doseq=True) expands a sequence once more: a dict item gives its keys, a list its elements.
      const leaves = Array.isArray(item)
        ? item
        : typeof item === "object" && !(item instanceof Date)
        ? Object.keys(item)
        : [item];
      for (const leaf of leaves) pairs.push(`${quotePlus(key)}=${quotePlus(pythonScalar(leaf))}`);
    }
  }
  return pairs.join("&");
}
