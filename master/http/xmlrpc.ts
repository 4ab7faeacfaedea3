/**
 * The XML-RPC wire codec behind the master's `/RPC2` endpoint. LAVA's clients
 * (`lavacli`, and scripts built on Python's `xmlrpc.client`) speak only XML-RPC, so
 * Basalt must read and write exactly what Python writes and reads. The request body
 * is untrusted, which is why this carries its own small XML reader: it needs no
 * DTDs or namespaces, must run in linear time and must refuse deep nesting instead
 * of overflowing the stack.
 */

/** A decoded XML-RPC value. `<struct>` becomes a plain object, `<base64>` a Uint8Array. */
export type XmlRpcValue =
  | null
  | boolean
  | number
  | string
  | Date
  | Uint8Array
  | XmlRpcValue[]
  | { [key: string]: XmlRpcValue };

/** Forces `<double>` for a number that happens to be integral (JS cannot tell 3 from 3.0). */
export class XmlRpcDouble {
  constructor(readonly value: number) {}
}

/**
 * What the serialisers accept: XmlRpcValue plus XmlRpcDouble anywhere, and
 * `undefined` so that objects with optional fields can be passed as they are.
 */
export type XmlRpcInput =
  | undefined
  | null
  | boolean
  | number
  | string
  | Date
  | Uint8Array
  | XmlRpcDouble
  | readonly XmlRpcInput[]
  | { readonly [key: string]: XmlRpcInput };

/** The request body is not a well-formed XML-RPC document; the message says why and where. */
export class XmlRpcParseError extends Error {
  override name = "XmlRpcParseError";
}

/** A decoded `<methodResponse>`: either the single result or the fault the server raised. */
export type XmlRpcResponse =
  | { kind: "value"; value: XmlRpcValue }
  | { kind: "fault"; code: number; message: string };

/** How deep values may nest, in both directions; far beyond anything LAVA's API returns. */
export const MAX_VALUE_DEPTH = 64;

// Each value level costs at most three elements (<value><array><data> or
// <value><struct><member>) and the envelope a handful more; anything deeper is
// refused while tokenising, before the tree could get deep enough to hurt.
const MAX_ELEMENT_DEPTH = 3 * MAX_VALUE_DEPTH + 16;

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

// ---------------------------------------------------------------------------
// XML tokeniser: builds a small element tree without recursion.

interface Element {
  name: string;
  /** Offset of the `<` in the normalised input, for error messages. */
  at: number;
  children: Element[];
  /** Character data pieces, joined once at the end so long texts stay linear. */
  text: string[];
}

const NAME = /[A-Za-z_:\u00C0-\uFFFF][-A-Za-z0-9_:.\u00B7\u00C0-\uFFFF]*/y;
const SPACE = /[ \t\n]*/y;
const PREDEFINED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
// Longest entity we honour is "&#x10FFFF;" with some leading zeros; anything
// longer is an error, which also keeps the search for ';' short.
const MAX_ENTITY_LENGTH = 16;

class Reader {
  constructor(readonly xml: string) {}

  fail(message: string, at: number): never {
    throw new XmlRpcParseError(`${message} at ${this.position(at)}`);
  }

  position(at: number): string {
    let line = 1;
    let lineStart = 0;
    for (let i = this.xml.indexOf("\n"); i !== -1 && i < at; i = this.xml.indexOf("\n", i + 1)) {
      line++;
      lineStart = i + 1;
    }
    return `line ${line}, column ${at - lineStart + 1}`;
  }

  name(at: number): string {
    NAME.lastIndex = at;
    const match = NAME.exec(this.xml);
    if (!match) this.fail("expected an element name", at);
    return match[0];
  }

  skipSpace(at: number): number {
    SPACE.lastIndex = at;
    SPACE.exec(this.xml);
    return SPACE.lastIndex;
  }

  decode(raw: string, at: number): string {
    let amp = raw.indexOf("&");
    if (amp === -1) return raw;
    const out: string[] = [];
    let from = 0;
    while (amp !== -1) {
      out.push(raw.slice(from, amp));
      const semi = raw.indexOf(";", amp + 1);
      if (semi === -1 || semi - amp > MAX_ENTITY_LENGTH) {
        this.fail("unterminated entity reference ('&' must be written '&amp;')", at + amp);
      }
      out.push(this.entity(raw.slice(amp + 1, semi), at + amp));
      from = semi + 1;
      amp = raw.indexOf("&", from);
    }
    out.push(raw.slice(from));
    return out.join("");
  }

  entity(body: string, at: number): string {
    const named = PREDEFINED[body];
    if (named !== undefined && Object.hasOwn(PREDEFINED, body)) return named;
    let code = NaN;
    if (/^#[0-9]+$/.test(body)) code = parseInt(body.slice(1), 10);
    else if (/^#x[0-9A-Fa-f]+$/.test(body)) code = parseInt(body.slice(2), 16);
    else this.fail(`unknown entity '&${body};'`, at);
    if (!isXmlChar(code)) this.fail(`character reference '&${body};' is not an XML character`, at);
    return String.fromCodePoint(code);
  }

  /** Reads the whole document and returns its root element. */
  document(): Element {
    const xml = this.xml;
    const stack: Element[] = [];
    let root: Element | undefined;
    let i = 0;
    const text = (value: string, at: number) => {
      const open = stack[stack.length - 1];
      if (open) open.text.push(value);
      else if (!/^[ \t\n]*$/.test(value)) this.fail("text outside the root element", at);
    };
    while (i < xml.length) {
      const lt = xml.indexOf("<", i);
      if (lt === -1) {
        text(this.decode(xml.slice(i), i), i);
        break;
      }
      if (lt > i) text(this.decode(xml.slice(i, lt), i), i);
      if (xml.startsWith("<!--", lt)) {
        const end = xml.indexOf("-->", lt + 4);
        if (end === -1) this.fail("unclosed comment", lt);
        i = end + 3;
      } else if (xml.startsWith("<![CDATA[", lt)) {
        const end = xml.indexOf("]]>", lt + 9);
        if (end === -1) this.fail("unclosed CDATA section", lt);
        if (stack.length === 0) this.fail("CDATA outside the root element", lt);
        text(xml.slice(lt + 9, end), lt);
        i = end + 3;
      } else if (xml.startsWith("<?", lt)) {
        // The XML declaration and processing instructions carry nothing we use;
        // the body has already been decoded to a string by the caller.
        const end = xml.indexOf("?>", lt + 2);
        if (end === -1) this.fail("unclosed XML declaration or processing instruction", lt);
        i = end + 2;
      } else if (xml.startsWith("<!", lt)) {
        // A DTD could define entities (the "billion laughs"); XML-RPC never needs one.
        this.fail("DOCTYPE and other markup declarations are not accepted", lt);
      } else if (xml.startsWith("</", lt)) {
        const name = this.name(lt + 2);
        const end = this.skipSpace(lt + 2 + name.length);
        if (xml[end] !== ">") this.fail(`malformed end tag </${name}`, lt);
        const open = stack.pop();
        if (!open) this.fail(`end tag </${name}> without a start tag`, lt);
        if (open.name !== name) this.fail(`end tag </${name}> does not match <${open.name}>`, lt);
        i = end + 1;
      } else {
        const name = this.name(lt + 1);
        const [end, empty] = this.attributes(lt + 1 + name.length, name);
        const element: Element = { name, at: lt, children: [], text: [] };
        const parent = stack[stack.length - 1];
        if (parent) parent.children.push(element);
        else if (root) this.fail(`second root element <${name}>`, lt);
        else root = element;
        if (!empty) {
          if (stack.length >= MAX_ELEMENT_DEPTH) {
            this.fail(`elements nested deeper than ${MAX_ELEMENT_DEPTH} levels`, lt);
          }
          stack.push(element);
        }
        i = end;
      }
    }
    if (stack.length > 0) {
      const open = stack[stack.length - 1];
      this.fail(`unexpected end of document: <${open.name}> is not closed`, open.at);
    }
    if (!root) this.fail("no root element", 0);
    return root;
  }

  /** Skips a start tag's attributes (XML-RPC defines none); returns the offset after '>' and whether it was '/>'. */
  attributes(at: number, element: string): [number, boolean] {
    const xml = this.xml;
    let i = at;
    for (;;) {
      const afterSpace = this.skipSpace(i);
      const c = xml[afterSpace];
      if (c === ">") return [afterSpace + 1, false];
      if (c === "/" && xml[afterSpace + 1] === ">") return [afterSpace + 2, true];
      if (c === undefined) this.fail(`unexpected end of document in <${element}>`, at);
      if (afterSpace === i) this.fail(`malformed start tag <${element}>`, afterSpace);
      const attribute = this.name(afterSpace);
      i = this.skipSpace(afterSpace + attribute.length);
      if (xml[i] !== "=") this.fail(`attribute ${attribute} of <${element}> has no value`, i);
      i = this.skipSpace(i + 1);
      const quote = xml[i];
      if (quote !== '"' && quote !== "'") this.fail(`attribute ${attribute} of <${element}> is not quoted`, i);
      const close = xml.indexOf(quote, i + 1);
      if (close === -1) this.fail(`unterminated attribute ${attribute} of <${element}>`, i);
      i = close + 1;
    }
  }
}

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

function readDocument(xml: string): Reader & { root: Element } {
  // XML requires line ends to be normalised before anything else; a literal CR
  // therefore reads as LF, exactly as Python's expat reports it.
  const normalised = xml.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const reader = new Reader(normalised);
  return Object.assign(reader, { root: reader.document() });
}

// ---------------------------------------------------------------------------
// From elements to values.

// Python's Unmarshaller drops namespace prefixes (Apache's `<ex:nil/>`, `<ex:i8>`).
function localName(element: Element): string {
  const colon = element.name.lastIndexOf(":");
  return colon === -1 ? element.name : element.name.slice(colon + 1);
}

function textOf(element: Element): string {
  return element.text.length === 1 ? element.text[0] : element.text.join("");
}

class Decoder {
  constructor(readonly reader: Reader) {}

  fail(message: string, element: Element): never {
    return this.reader.fail(message, element.at);
  }

  /** Children of an element that must hold only elements (whitespace between them is fine). */
  elements(element: Element, allowed: readonly string[]): Element[] {
    if (!/^[ \t\n]*$/.test(textOf(element))) this.fail(`unexpected text inside <${element.name}>`, element);
    for (const child of element.children) {
      if (!allowed.includes(localName(child))) {
        this.fail(`unexpected <${child.name}> inside <${element.name}>`, child);
      }
    }
    return element.children;
  }

  one(element: Element, name: string): Element {
    const children = this.elements(element, [name]);
    if (children.length !== 1) {
      this.fail(`<${element.name}> must hold exactly one <${name}>, found ${children.length}`, element);
    }
    return children[0];
  }

  leaf(element: Element): string {
    if (element.children.length > 0) {
      this.fail(`<${element.name}> must hold text, found <${element.children[0].name}>`, element.children[0]);
    }
    return textOf(element);
  }

  value(element: Element, depth: number): XmlRpcValue {
    if (depth > MAX_VALUE_DEPTH) this.fail(`values nested deeper than ${MAX_VALUE_DEPTH} levels`, element);
    if (element.children.length === 0) return textOf(element); // untyped: a string, spaces kept
    if (element.children.length > 1) {
      this.fail(`<value> must hold one typed element, found ${element.children.length}`, element.children[1]);
    }
    const typed = element.children[0];
    if (!/^[ \t\n]*$/.test(textOf(element))) this.fail(`unexpected text next to <${typed.name}> in <value>`, typed);
    switch (localName(typed)) {
      case "int":
      case "i4":
      case "i8":
      case "i1":
      case "i2":
      case "biginteger":
        return this.integer(typed);
      case "boolean":
        return this.boolean(typed);
      case "string":
        return this.leaf(typed);
      case "double":
      case "float":
      case "bigdecimal":
        return this.double(typed);
      case "dateTime.iso8601":
        return this.dateTime(typed);
      case "base64":
        return this.base64(typed);
      case "nil":
        if (!/^[ \t\n]*$/.test(this.leaf(typed))) this.fail("<nil> must be empty", typed);
        return null;
      case "array":
        return this.array(typed, depth);
      case "struct":
        return this.struct(typed, depth);
      default:
        return this.fail(`unknown value type <${typed.name}>`, typed);
    }
  }

  integer(element: Element): number {
    const text = this.leaf(element).trim();
    if (!/^[+-]?[0-9]+$/.test(text)) {
      this.fail(`<${element.name}> holds ${JSON.stringify(text)}, not an integer`, element);
    }
    const value = Number(text);
    if (!Number.isSafeInteger(value)) {
      this.fail(`integer ${text} is too large to be represented exactly`, element);
    }
    return value === 0 ? 0 : value; // "-0" is plain zero
  }

  boolean(element: Element): boolean {
    const text = this.leaf(element).trim();
    if (text === "1" || text.toLowerCase() === "true") return true;
    if (text === "0" || text.toLowerCase() === "false") return false;
    return this.fail(`<boolean> holds ${JSON.stringify(text)}, not 0 or 1`, element);
  }

  double(element: Element): number {
    const text = this.leaf(element).trim();
    // Python writes repr(float): "1.5", "1e+16", "inf", "nan".
    if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(text)) return Number(text);
    const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
    if (special) {
      if (special[2].toLowerCase() === "nan") return NaN;
      return special[1] === "-" ? -Infinity : Infinity;
    }
    return this.fail(`<${element.name}> holds ${JSON.stringify(text)}, not a number`, element);
  }

  dateTime(element: Element): Date {
    const text = this.leaf(element).trim();
    const date = parseDateTime(text);
    if (!date) this.fail(`<dateTime.iso8601> holds ${JSON.stringify(text)}, not a date and time`, element);
    return date;
  }

  base64(element: Element): Uint8Array {
    // Python's encodebytes wraps lines at 76 characters.
    const text = this.leaf(element).replace(/[ \t\n]+/g, "");
    let binary: string;
    try {
      binary = atob(text);
    } catch {
      return this.fail("<base64> does not hold valid base64", element);
    }
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  array(element: Element, depth: number): XmlRpcValue[] {
    const data = this.elements(element, ["data"]);
    if (data.length === 0) return [];
    if (data.length > 1) this.fail("<array> must hold exactly one <data>", data[1]);
    return this.elements(data[0], ["value"]).map((value) => this.value(value, depth + 1));
  }

  struct(element: Element, depth: number): { [key: string]: XmlRpcValue } {
    const result: { [key: string]: XmlRpcValue } = {};
    for (const member of this.elements(element, ["member"])) {
      const parts = this.elements(member, ["name", "value"]);
      const names = parts.filter((part) => localName(part) === "name");
      const values = parts.filter((part) => localName(part) === "value");
      if (names.length !== 1 || values.length !== 1) {
        this.fail("<member> must hold exactly one <name> and one <value>", member);
      }
      const key = this.leaf(names[0]);
      const value = this.value(values[0], depth + 1);
      // A plain assignment to "__proto__" would swap the object's prototype.
      if (key === "__proto__") {
        Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      } else {
        result[key] = value;
      }
    }
    return result;
  }

  params(element: Element): XmlRpcValue[] {
    return this.elements(element, ["param"]).map((param) => this.value(this.one(param, "value"), 1));
  }
}

const DATE_TIME =
  /^([0-9]{4})-?([0-9]{2})-?([0-9]{2})T([0-9]{2}):?([0-9]{2}):?([0-9]{2})(?:[.,]([0-9]+))?(Z|[+-][0-9]{2}:?[0-9]{2})?$/;

/** Python's `20261126T14:05:00`, plus the dashed and zoned ISO 8601 forms other clients send; no zone means UTC. */
function parseDateTime(text: string): Date | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = match[7] ? Math.floor(Number(`0.${match[7]}`) * 1000) : 0;
  const date = new Date(0);
  // setUTCFullYear, because Date.UTC maps years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  if (date.getUTCDate() !== day) return undefined; // 31 February and the like
  const zone = match[8];
  if (zone && zone !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
    date.setTime(date.getTime() - sign * offset * 60_000);
  }
  return date;
}

/** Parses a `<methodCall>` request body. Throws XmlRpcParseError for anything malformed. */
export function parseMethodCall(xml: string): { method: string; params: XmlRpcValue[] } {
  const reader = readDocument(xml);
  const decoder = new Decoder(reader);
  const root = reader.root;
  if (root.name !== "methodCall") decoder.fail(`expected <methodCall>, found <${root.name}>`, root);
  const parts = decoder.elements(root, ["methodName", "params"]);
  const names = parts.filter((part) => part.name === "methodName");
  const params = parts.filter((part) => part.name === "params");
  if (names.length !== 1) decoder.fail(`<methodCall> must hold one <methodName>, found ${names.length}`, root);
  if (params.length > 1) decoder.fail("<methodCall> holds more than one <params>", params[1]);
  const method = decoder.leaf(names[0]).trim();
  if (method === "") decoder.fail("empty <methodName>", names[0]);
  return { method, params: params.length === 0 ? [] : decoder.params(params[0]) };
}

/** Parses a `<methodResponse>`, for Basalt's own client. A fault is returned, not thrown. */
export function parseMethodResponse(xml: string): XmlRpcResponse {
  const reader = readDocument(xml);
  const decoder = new Decoder(reader);
  const root = reader.root;
  if (root.name !== "methodResponse") decoder.fail(`expected <methodResponse>, found <${root.name}>`, root);
  const children = decoder.elements(root, ["params", "fault"]);
  if (children.length !== 1) decoder.fail("<methodResponse> must hold one <params> or one <fault>", root);
  const body = children[0];
  if (body.name === "params") {
    const params = decoder.params(body);
    if (params.length !== 1) decoder.fail(`a response holds exactly one <param>, found ${params.length}`, body);
    return { kind: "value", value: params[0] };
  }
  const fault = decoder.value(decoder.one(body, "value"), 1);
  if (
    fault === null || typeof fault !== "object" || Array.isArray(fault) || fault instanceof Date ||
    fault instanceof Uint8Array || typeof fault.faultCode !== "number" || typeof fault.faultString !== "string"
  ) {
    return decoder.fail("<fault> must hold a struct with faultCode (int) and faultString (string)", body);
  }
  return { kind: "fault", code: fault.faultCode, message: fault.faultString };
}

// ---------------------------------------------------------------------------
// Serialisation.

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
