/**
 * A small XML reader for untrusted XML-RPC bodies: no DTDs or namespaces,
 * linear time, and deep nesting refused while tokenising instead of
 * overflowing the stack. It builds an element tree without recursion.
 */
import { MAX_VALUE_DEPTH, XmlRpcParseError } from "./values.ts";

// Each value level costs at most three elements (<value><array><data> or
// <value><struct><member>) and the envelope a handful more; anything deeper is
// refused while tokenising, before the tree could get deep enough to hurt.
const MAX_ELEMENT_DEPTH = 3 * MAX_VALUE_DEPTH + 16;

/** An element as read: its children and text, where it began for messages. */
export interface Element {
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

/** The tokeniser over one normalised document; `fail` names the line and column. */
export class Reader {
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

/** Reads a whole document (line ends normalised first, as XML requires) into its root element. */
export function readDocument(xml: string): Reader & { root: Element } {
  // XML requires line ends to be normalised before anything else; a literal CR
  // therefore reads as LF, exactly as Python's expat reports it.
  const normalised = xml.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const reader = new Reader(normalised);
  return Object.assign(reader, { root: reader.document() });
}
