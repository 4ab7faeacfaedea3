/**
 * From XML elements to XML-RPC values: `<methodCall>` requests as the master
 * receives them and `<methodResponse>` answers as Basalt's own client reads
 * them, read as Python's xmlrpc.client writes them.
 */
import { type Element, readDocument, type Reader } from "./xml_reader.ts";
import { MAX_VALUE_DEPTH, type XmlRpcResponse, type XmlRpcValue } from "./values.ts";

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
