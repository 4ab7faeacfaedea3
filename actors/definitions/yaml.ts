/**
 * YAML as LAVA reads it: PyYAML's `safe_load` with the behaviours LAVA's users
 * rely on — YAML 1.1 scalars (`yes`/`no`/`on`/`off` are booleans), duplicate keys
 * allowed with the last one winning (LAVA's own sample jobs have them), JSON
 * accepted as YAML — plus what PyYAML lacks: every node's line and column, so an
 * error can point at the file position of the key path it is about.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, Scalar, type Tags } from "yaml";

const BOOL = "tag:yaml.org,2002:bool";

/**
 * YAML 1.1 booleans as PyYAML resolves them: yes/no/on/off/true/false in three
 * spellings each, but not the single letters y/n that the 1.1 spec (and npm:yaml)
 * also take — LAVA jobs name things "n" and "y".
 */
function pyyamlBooleans(tags: Tags): Tags {
  const spelled = (value: boolean, words: string) => ({
    identify: (v: unknown) => v === value,
    default: true,
    tag: BOOL,
    test: new RegExp(`^(?:${words})$`),
    resolve: () => new Scalar(value),
  });
  return [
    ...tags.filter((t) => typeof t === "string" || t.tag !== BOOL),
    spelled(true, "yes|Yes|YES|true|True|TRUE|on|On|ON"),
    spelled(false, "no|No|NO|false|False|FALSE|off|Off|OFF"),
  ];
}

/** 1-based, as editors count. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export interface YamlIssue {
  readonly message: string;
  readonly line: number;
  readonly column: number;
  /** The key path the issue is about, when it has one. */
  readonly path?: string;
}

export type PathSegment = string | number;

export interface LoadedYaml {
  /** The data; undefined when the text has syntax errors. */
  readonly value: unknown;
  readonly errors: readonly YamlIssue[];
  readonly warnings: readonly YamlIssue[];
  /** Where the value at a key path starts. */
  readonly valuePositions: ReadonlyMap<string, SourcePosition>;
  /** Where the key of a mapping entry is written. */
  readonly keyPositions: ReadonlyMap<string, SourcePosition>;
}

/** `actions[1].boot.method`; keys that are not plain words are quoted: `metadata["a.b"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * PyYAML accepts a quoted scalar whose continuation lines are not indented past
 * its key (LAVA's base template renders `interrupt-character: '<newline>'` so);
 * npm:yaml does not. Indenting those lines changes no value, because a quoted
 * scalar's line breaks fold and leading spaces are dropped.
 */
export function indentQuotedContinuations(text: string): string {
  const lines = text.split("\n");
  let quote: "'" | '"' | undefined;
  let startIndent = 0;
  let blockIndent: number | undefined;
  const indentOf = (line: string) => line.length - line.trimStart().length;
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n];
    if (quote) {
      if (line.trim() !== "" && indentOf(line) <= startIndent) {
        line = " ".repeat(startIndent + 1) + line.trimStart();
        lines[n] = line;
      }
    } else if (blockIndent !== undefined) {
      if (line.trim() === "" || indentOf(line) > blockIndent) continue;
      blockIndent = undefined;
    }
    let i = quote ? 0 : indentOf(line);
    const lineIndent = indentOf(line);
    for (; i < line.length; i++) {
      const ch = line[i];
      if (quote === "'") {
        if (ch === "'" && line[i + 1] === "'") i++;
        else if (ch === "'") quote = undefined;
      } else if (quote === '"') {
        if (ch === "\\") i++;
        else if (ch === '"') quote = undefined;
      } else if (ch === "#" && (i === 0 || /\s/.test(line[i - 1]))) {
        break;
      } else if ((ch === "'" || ch === '"') && (i === lineIndent || /[\s:\[{,-]/.test(line[i - 1]))) {
        quote = ch;
        startIndent = lineIndent;
      } else if (
        (ch === "|" || ch === ">") && /(^|[\s:-])$/.test(line.slice(0, i)) &&
        /^[|>][-+0-9]*\s*(#.*)?$/.test(line.slice(i))
      ) {
        blockIndent = lineIndent;
        break;
      }
    }
  }
  return lines.join("\n");
}

/**
 * Parses YAML (or JSON) text the way LAVA's server does, keeping positions.
 * Continuation lines of quoted scalars are indented first (see
 * {@link indentQuotedContinuations}); only such lines' columns can differ.
 */
export function loadYaml(text: string): LoadedYaml {
  return canonicalJson(text) ?? parseWithPositions(indentQuotedContinuations(text));
}

/**
 * Canonical JSON text — what `JSON.stringify` writes, as the master hands a job's
 * definition and device configuration to its dispatcher (see `lavaJson`) — read
 * by `JSON.parse`, whose value is the same as YAML's: a dispatch process, which
 * starts per job, then runs none of the YAML parser. Being canonical rules out
 * duplicate keys and the numbers JSON and YAML 1.1 read apart. Positions are found
 * by the YAML parser, when a message asks for one.
 */
function canonicalJson(text: string): LoadedYaml | undefined {
  if (text[0] !== "{" && text[0] !== "[") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (JSON.stringify(value) !== text) return undefined;
  let positions: LoadedYaml | undefined;
  const parsed = () => positions ??= parseWithPositions(text);
  return {
    value,
    errors: [],
    warnings: [],
    get valuePositions() {
      return parsed().valuePositions;
    },
    get keyPositions() {
      return parsed().keyPositions;
    },
  };
}

/**
 * A YAML value as canonical JSON text (see `canonicalJson`), or undefined when JSON
 * cannot carry it exactly: numbers JSON has no spelling for, or that YAML 1.1 reads
 * otherwise once written by JSON (an exponent without a point), and values that are
 * not plain data.
 */
export function lavaJson(value: unknown): string | undefined {
  let exact = true;
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    // The value before any toJSON (a YAML timestamp is a Date, which JSON would make a string).
    const raw = this[key];
    if (typeof raw === "number") {
      if (!Number.isFinite(raw) || Object.is(raw, -0) || /e/i.test(String(raw))) exact = false;
    } else if (typeof raw === "object" && raw !== null) {
      if (!Array.isArray(raw) && Object.getPrototypeOf(raw) !== Object.prototype) exact = false;
    } else if (raw !== null && typeof raw !== "string" && typeof raw !== "boolean") {
      exact = false;
    }
    return exact ? v : null;
  });
  return exact && text !== undefined ? text : undefined;
}

function parseWithPositions(text: string): LoadedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: "1.1",
    uniqueKeys: false,
    lineCounter,
    prettyErrors: false,
    customTags: pyyamlBooleans,
  });
  const at = (offset: number | undefined): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { line, column: col };
  };
  const errors: YamlIssue[] = doc.errors.map((e) => ({ message: e.message.split("\n")[0], ...at(e.pos[0]) }));
  const warnings: YamlIssue[] = doc.warnings.map((w) => ({ message: w.message.split("\n")[0], ...at(w.pos[0]) }));
  const valuePositions = new Map<string, SourcePosition>();
  const keyPositions = new Map<string, SourcePosition>();

  const walk = (node: Node | null | undefined, path: PathSegment[]) => {
    if (!node) return;
    valuePositions.set(formatPath(path), at(node.range?.[0]));
    if (isMap(node)) {
      const seen = new Map<string, SourcePosition>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const keyPath = [...path, key];
        const position = at((pair.key as Node | null)?.range?.[0]);
        const first = seen.get(key);
        if (first) {
          warnings.push({
            message: `duplicate key ${JSON.stringify(key)} (first at line ${first.line}): the last value is used`,
            ...position,
            path: formatPath(keyPath),
          });
        } else {
          seen.set(key, position);
        }
        keyPositions.set(formatPath(keyPath), position);
        if (pair.value) walk(pair.value as Node, keyPath);
        else valuePositions.set(formatPath(keyPath), position);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => walk(item as Node, [...path, index]));
    }
  };
  walk(doc.contents as Node | null, []);

  let value: unknown;
  if (errors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (error) {
      errors.push({ message: (error as Error).message, line: 1, column: 1 });
    }
  }
  return { value, errors, warnings, valuePositions, keyPositions };
}

/** The position of a path, or of its nearest ancestor that has one. */
export function positionOf(loaded: LoadedYaml, path: readonly PathSegment[], preferKey = false): SourcePosition {
  for (let length = path.length; length >= 0; length--) {
    const key = formatPath(path.slice(0, length));
    const found = preferKey && length === path.length
      ? loaded.keyPositions.get(key) ?? loaded.valuePositions.get(key)
      : loaded.valuePositions.get(key) ?? loaded.keyPositions.get(key);
    if (found) return found;
  }
  return { line: 1, column: 1 };
}
