/**
 * Writing XML-RPC documents exactly as Python's xmlrpc.client reads them:
 * responses, faults, and calls for Basalt's own client.
 */
import { MAX_VALUE_DEPTH, XmlRpcDouble, type XmlRpcInput } from "./values.ts";

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

// Characters XML 1.0 cannot carry at all (C0 controls, U+FFFE/U+FFFF, unpaired
// surrogates) become U+FFFD, so an odd byte in a job log cannot make the whole
// response unreadable. With the u flag the surrogate range matches only unpaired
// ones. CR is legal, but a literal one would read back as LF.
const NEEDS_ESCAPE =
  // deno-lint-ignore no-control-regex
  /[&<>\r\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/gu;

function escapeText(text: string): string {
  return text.replace(NEEDS_ESCAPE, (c) => {
    switch (c) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case "\r":
        return "&#13;";
      default:
        return "\uFFFD";
    }
  });
}

function formatDouble(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  const text = String(value);
  return /^-?[0-9]+$/.test(text) ? `${text}.0` : text;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/** `YYYYMMDDTHH:MM:SS` in UTC, which Python's DateTime and datetime.strptime read; milliseconds are dropped. */
function formatDateTime(date: Date): string {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year)) throw new TypeError("cannot serialise an invalid Date as XML-RPC");
  if (year < 1 || year > 9999) throw new RangeError(`year ${year} is outside what XML-RPC dates can carry`);
  return `${pad(year, 4)}${pad(date.getUTCMonth() + 1, 2)}${pad(date.getUTCDate(), 2)}T` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`;
}

function encodeBase64(bytes: Uint8Array): string {
  const chunks: string[] = [];
  // fromCharCode takes its arguments on the stack, hence the chunks.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    chunks.push(String.fromCharCode(...bytes.subarray(i, i + 0x8000)));
  }
  return btoa(chunks.join(""));
}

function writeValue(value: XmlRpcInput, out: string[], depth: number): void {
  if (depth > MAX_VALUE_DEPTH) {
    throw new RangeError(`XML-RPC values nested deeper than ${MAX_VALUE_DEPTH} levels (or cyclic)`);
  }
  out.push("<value>");
  if (value === null || value === undefined) {
    out.push("<nil/>");
  } else if (typeof value === "boolean") {
    out.push(value ? "<boolean>1</boolean>" : "<boolean>0</boolean>");
  } else if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) out.push(`<double>${formatDouble(value)}</double>`);
    else if (value >= INT32_MIN && value <= INT32_MAX) out.push(`<int>${value}</int>`);
    else out.push(`<i8>${value}</i8>`); // Python 3 reads <i8> (it only refuses to write one)
  } else if (typeof value === "string") {
    out.push("<string>", escapeText(value), "</string>");
  } else if (value instanceof XmlRpcDouble) {
    out.push(`<double>${formatDouble(value.value)}</double>`);
  } else if (value instanceof Date) {
    out.push(`<dateTime.iso8601>${formatDateTime(value)}</dateTime.iso8601>`);
  } else if (value instanceof Uint8Array) {
    out.push(`<base64>${encodeBase64(value)}</base64>`);
  } else if (Array.isArray(value)) {
    out.push("<array><data>");
    for (const item of value as readonly XmlRpcInput[]) writeValue(item, out, depth + 1);
    out.push("</data></array>");
  } else if (typeof value === "object" && isPlainObject(value)) {
    out.push("<struct>");
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      out.push("<member><name>", escapeText(key), "</name>");
      writeValue(item, out, depth + 1);
      out.push("</member>");
    }
    out.push("</struct>");
  } else {
    const kind = typeof value === "object" ? (value as object).constructor?.name ?? "object" : typeof value;
    throw new TypeError(`cannot serialise ${kind} as XML-RPC`);
  }
  out.push("</value>");
}

// A Map or class instance would otherwise go out silently as an empty or partial struct.
function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

const PROLOGUE = "<?xml version='1.0'?>";

/** A successful `<methodResponse>` carrying one value. */
export function serializeResponse(value: XmlRpcInput): string {
  const out = [PROLOGUE, "<methodResponse><params><param>"];
  writeValue(value, out, 1);
  out.push("</param></params></methodResponse>");
  return out.join("");
}

/** A `<methodResponse>` fault, which Python raises as xmlrpc.client.Fault(code, message). */
export function serializeFault(code: number, message: string): string {
  if (!Number.isSafeInteger(code)) throw new RangeError(`fault code ${code} is not an integer`);
  const out = [PROLOGUE, "<methodResponse><fault>"];
  writeValue({ faultCode: code, faultString: message }, out, 1);
  out.push("</fault></methodResponse>");
  return out.join("");
}

/** A `<methodCall>` request, as Basalt's own client sends it. */
export function serializeMethodCall(method: string, params: readonly XmlRpcInput[]): string {
  if (method.trim() === "") throw new TypeError("an XML-RPC method name cannot be empty");
  const out = [PROLOGUE, "<methodCall><methodName>", escapeText(method), "</methodName><params>"];
  for (const param of params) {
    out.push("<param>");
    writeValue(param, out, 1);
    out.push("</param>");
  }
  out.push("</params></methodCall>");
  return out.join("");
}
