import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import {
  MAX_VALUE_DEPTH,
  parseMethodCall,
  parseMethodResponse,
  serializeFault,
  serializeMethodCall,
  serializeResponse,
  XmlRpcDouble,
  type XmlRpcInput,
  XmlRpcParseError,
  type XmlRpcValue,
} from "./xmlrpc.ts";

// Python's xmlrpc.client is the reference implementation lavacli uses, so the
// compatibility tests run it rather than trusting hand-written fixtures.
async function python(script: string, stdin = ""): Promise<string> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const run = await child.output();
  const stderr = new TextDecoder().decode(run.stderr);
  assert(run.success, `python3 failed:\n${stderr}`);
  return new TextDecoder().decode(run.stdout);
}

/** Python prints what it wrote as UTF-8 bytes, whatever the locale. */
function pythonDumps(expression: string): Promise<string> {
  return python(
    `import sys, datetime, xmlrpc.client\nsys.stdout.buffer.write((${expression}).encode("utf-8"))`,
  );
}

// Reads an XML-RPC document with Python and prints each value tagged with the
// Python type it became, so that int versus float and bytes versus str are checked too.
const PYTHON_LOADS = `
import sys, json, datetime, xmlrpc.client
def tag(v):
    if v is None: return ["nil"]
    if isinstance(v, bool): return ["bool", v]
    if isinstance(v, int): return ["int", v]
    if isinstance(v, float): return ["float", repr(v)]
    if isinstance(v, str): return ["str", v]
    if isinstance(v, bytes): return ["bytes", v.hex()]
    if isinstance(v, datetime.datetime): return ["datetime", v.isoformat()]
    if isinstance(v, list): return ["list", [tag(x) for x in v]]
    if isinstance(v, dict): return ["dict", {k: tag(x) for k, x in v.items()}]
    raise TypeError(type(v))
try:
    params, method = xmlrpc.client.loads(sys.stdin.buffer.read(), use_builtin_types=True)
    print(json.dumps({"method": method, "params": [tag(p) for p in params]}))
except xmlrpc.client.Fault as fault:
    print(json.dumps({"fault": [fault.faultCode, fault.faultString]}))
`;

async function pythonLoads(xml: string): Promise<unknown> {
  return JSON.parse(await python(PYTHON_LOADS, xml));
}

function hex(bytes: number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
}

const SOME_BYTES = Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff);

Deno.test("a method call exactly as Python's xmlrpc.client writes it parses to the same values", async () => {
  const xml = await pythonDumps(`xmlrpc.client.dumps((
    "12", 0, -2**31, 2**31 - 1, None, True, False, 1.5, 3.0, -0.25, 1e300,
    "text <&> \\"quoted\\" 'apos' ünïcödé 🚀", "", "  spaced  ", "tab\\tand\\nnewline",
    bytes(${JSON.stringify(SOME_BYTES)}), b"",
    datetime.datetime(2026, 11, 26, 14, 5, 0), datetime.datetime(50, 1, 2, 3, 4, 5),
    [1, [2, ["x", None]], []],
    {"a": 1, "nested": {"list": [True], "empty": {}}, "": "blank key"},
  ), "scheduler.jobs.logs", allow_none=True)`);
  assertStringIncludes(xml, "<nil/>");
  assertStringIncludes(xml, "<dateTime.iso8601>20261126T14:05:00</dateTime.iso8601>");
  const call = parseMethodCall(xml);
  assertEquals(call.method, "scheduler.jobs.logs");
  assertEquals(call.params, [
    "12",
    0,
    -(2 ** 31),
    2 ** 31 - 1,
    null,
    true,
    false,
    1.5,
    3,
    -0.25,
    1e300,
    "text <&> \"quoted\" 'apos' ünïcödé 🚀",
    "",
    "  spaced  ",
    "tab\tand\nnewline",
    new Uint8Array(SOME_BYTES),
    new Uint8Array(),
    new Date(Date.UTC(2026, 10, 26, 14, 5, 0)),
    new Date("0050-01-02T03:04:05Z"),
    [1, [2, ["x", null]], []],
    { a: 1, nested: { list: [true], empty: {} }, "": "blank key" },
  ]);
});

Deno.test("the call lavacli makes for a job's logs parses to its three arguments", async () => {
  const xml = await pythonDumps(`xmlrpc.client.dumps(("4711", 0, None), "scheduler.jobs.logs", allow_none=True)`);
  assertEquals(parseMethodCall(xml), { method: "scheduler.jobs.logs", params: ["4711", 0, null] });
});

Deno.test("a call without parameters parses to an empty list", async () => {
  assertEquals(parseMethodCall(await pythonDumps(`xmlrpc.client.dumps((), "system.version")`)), {
    method: "system.version",
    params: [],
  });
  assertEquals(parseMethodCall("<methodCall><methodName>system.version</methodName></methodCall>"), {
    method: "system.version",
    params: [],
  });
});

Deno.test("Python reads every type we write, each as the Python type it expects", async () => {
  const xml = serializeMethodCall("scheduler.jobs.submit", [
    42,
    -(2 ** 31),
    2 ** 31,
    -(2 ** 40),
    Number.MAX_SAFE_INTEGER,
    2 ** 60,
    1.5,
    new XmlRpcDouble(3),
    NaN,
    -Infinity,
    true,
    false,
    null,
    undefined,
    "a & b < c > d ]]> ünï 🚀",
    "",
    new Uint8Array(SOME_BYTES),
    new Date(Date.UTC(2026, 10, 26, 14, 5, 0, 999)),
    new Date("0050-01-02T03:04:05Z"),
    [1, [new XmlRpcDouble(2)], []],
    { job: "x", skipped: undefined, nested: { empty: {}, list: [null] } },
  ]);
  assertEquals(await pythonLoads(xml), {
    method: "scheduler.jobs.submit",
    params: [
      ["int", 42],
      ["int", -(2 ** 31)],
      ["int", 2 ** 31],
      ["int", -(2 ** 40)],
      ["int", Number.MAX_SAFE_INTEGER],
      ["float", "1.152921504606847e+18"],
      ["float", "1.5"],
      ["float", "3.0"],
      ["float", "nan"],
      ["float", "-inf"],
      ["bool", true],
      ["bool", false],
      ["nil"],
      ["nil"],
      ["str", "a & b < c > d ]]> ünï 🚀"],
      ["str", ""],
      ["bytes", hex(SOME_BYTES)],
      ["datetime", "2026-11-26T14:05:00"],
      ["datetime", "0050-01-02T03:04:05"],
      ["list", [["int", 1], ["list", [["float", "2.0"]]], ["list", []]]],
      ["dict", { job: ["str", "x"], nested: ["dict", { empty: ["dict", {}], list: ["list", [["nil"]]] }] }],
    ],
  });
});

Deno.test("Python reads our response and raises our fault with its code and message", async () => {
  assertEquals(await pythonLoads(serializeResponse({ id: 7, state: "Running" })), {
    method: null,
    params: [["dict", { id: ["int", 7], state: ["str", "Running"] }]],
  });
  assertEquals(await pythonLoads(serializeResponse(new XmlRpcDouble(1))), { method: null, params: [["float", "1.0"]] });
  assertEquals(await pythonLoads(serializeFault(404, "Job '<4711>' & co not found")), {
    fault: [404, "Job '<4711>' & co not found"],
  });
});

Deno.test("characters XML cannot carry become U+FFFD and the document still reads in Python", async () => {
  const controls = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join("");
  const nasty = `${controls}|\uFFFE\uFFFF|\uD800|\uDC00|x\uD83D|\uD83D\uDE80|\u007F\u0085`;
  const expected = "\uFFFD".repeat(9) + "\t\n" + "\uFFFD".repeat(2) + "\r" + "\uFFFD".repeat(18) +
    "|\uFFFD\uFFFD|\uFFFD|\uFFFD|x\uFFFD|\uD83D\uDE80|\u007F\u0085";
  const xml = serializeResponse({ [nasty]: nasty });
  assertEquals(await pythonLoads(xml), { method: null, params: [["dict", { [expected]: ["str", expected] }]] });
  assertEquals(parseMethodResponse(xml), { kind: "value", value: { [expected]: expected } });
});

Deno.test("a carriage return survives the trip, which a literal one would not", async () => {
  const xml = serializeMethodCall("m", ["a\r\nb\rc"]);
  assertEquals(await pythonLoads(xml), { method: "m", params: [["str", "a\r\nb\rc"]] });
  assertEquals(parseMethodCall(xml).params, ["a\r\nb\rc"]);
  // What Python itself writes is a literal CR, which XML reads as a line feed.
  assertEquals(parseMethodCall(await pythonDumps(`xmlrpc.client.dumps(("a\\r\\nb\\rc",), "m")`)).params, ["a\nb\nc"]);
});

Deno.test("Python's own responses and faults parse", async () => {
  const response = await pythonDumps(
    `xmlrpc.client.dumps(([{"id": 1, "when": datetime.datetime(2026, 1, 2, 3, 4, 5)}],), methodresponse=True)`,
  );
  assertEquals(parseMethodResponse(response), {
    kind: "value",
    value: [{ id: 1, when: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) }],
  });
  const fault = await pythonDumps(`xmlrpc.client.dumps(xmlrpc.client.Fault(3, "no <such> job"))`);
  assertEquals(parseMethodResponse(fault), { kind: "fault", code: 3, message: "no <such> job" });
});

Deno.test("every type survives our own serialise and parse round trip", () => {
  const values: XmlRpcValue[] = [
    0,
    -1,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 53 - 1),
    0.1,
    -1e-7,
    1e21,
    NaN,
    Infinity,
    true,
    false,
    null,
    "",
    "  <b>&amp;</b>  ",
    "\t\n",
    "🚀 astral",
    new Uint8Array([0, 1, 254, 255]),
    new Uint8Array(),
    new Date(Date.UTC(2026, 10, 26, 14, 5, 0)),
    new Date("0001-01-01T00:00:00Z"),
    new Date("9999-12-31T23:59:59Z"),
    [],
    [[[]]],
    {},
    { "a<b": { "": [1, "x", null] } },
  ];
  assertEquals(parseMethodCall(serializeMethodCall("system.echo", values)), { method: "system.echo", params: values });
  for (const value of values) {
    assertEquals(parseMethodResponse(serializeResponse(value)), { kind: "value", value });
  }
  assertEquals(parseMethodResponse(serializeResponse(new XmlRpcDouble(2))), { kind: "value", value: 2 });
  assertEquals(parseMethodResponse(serializeFault(-32601, "no such method")), {
    kind: "fault",
    code: -32601,
    message: "no such method",
  });
});

Deno.test("a struct key named __proto__ stays an ordinary key", () => {
  const xml = "<methodCall><methodName>m</methodName><params><param><value><struct><member><name>__proto__</name>" +
    "<value><struct><member><name>polluted</name><value>yes</value></member></struct></value></member>" +
    "</struct></value></param></params></methodCall>";
  const [value] = parseMethodCall(xml).params as [Record<string, unknown>];
  assertEquals(Object.getPrototypeOf(value), Object.prototype);
  assertEquals(Object.keys(value), ["__proto__"]);
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
  assertEquals(parseMethodCall(serializeMethodCall("m", [value as XmlRpcInput])).params, [value]);
});

Deno.test("the serialised documents have the expected envelopes", () => {
  assertEquals(
    serializeResponse(1),
    "<?xml version='1.0'?><methodResponse><params><param><value><int>1</int></value></param></params></methodResponse>",
  );
  assertEquals(
    serializeFault(2, "a<b"),
    "<?xml version='1.0'?><methodResponse><fault><value><struct>" +
      "<member><name>faultCode</name><value><int>2</int></value></member>" +
      "<member><name>faultString</name><value><string>a&lt;b</string></value></member>" +
      "</struct></value></fault></methodResponse>",
  );
  assertEquals(
    serializeMethodCall("a.b", [undefined, [undefined]]),
    "<?xml version='1.0'?><methodCall><methodName>a.b</methodName><params>" +
      "<param><value><nil/></value></param>" +
      "<param><value><array><data><value><nil/></value></data></array></value></param></params></methodCall>",
  );
  assertStringIncludes(serializeResponse(2 ** 40), "<i8>1099511627776</i8>");
  assertStringIncludes(serializeResponse(2 ** 53), "<double>9007199254740992.0</double>");
  assertStringIncludes(serializeResponse(new Date(Date.UTC(2026, 10, 26, 14, 5, 0))), "20261126T14:05:00");
});

Deno.test("values the wire cannot carry are refused when serialising", () => {
  const cyclic: XmlRpcInput[] = [];
  cyclic.push(cyclic);
  assertThrows(() => serializeResponse(cyclic), RangeError, "nested deeper");
  assertThrows(() => serializeResponse(new Map() as unknown as XmlRpcInput), TypeError, "Map");
  assertThrows(() => serializeResponse((() => 1) as unknown as XmlRpcInput), TypeError, "function");
  assertThrows(() => serializeResponse(new Date(NaN)), TypeError, "invalid Date");
  assertThrows(() => serializeResponse(new Date("+010000-01-01T00:00:00Z")), RangeError, "year");
  assertThrows(() => serializeFault(1.5, "x"), RangeError, "fault code");
  assertThrows(() => serializeMethodCall(" ", []), TypeError, "method name");
});

function call(value: string): string {
  return `<methodCall><methodName>m</methodName><params><param><value>${value}</value></param></params></methodCall>`;
}

Deno.test("tolerated XML: declarations, comments, CDATA, entities, attributes, prefixes and spacing", () => {
  const xml = `\uFEFF<?xml version="1.0" encoding="UTF-8"?>
<!-- lavacli did not write this, but another client might -->
<methodCall xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">
  <methodName> scheduler.jobs.show </methodName>
  <params>
    <param><value>  bare text  </value></param>
    <param><value/></param>
    <param><value><string><![CDATA[<not> & markup]]>&amp;&#65;&#x1F680;&quot;&apos;&lt;&gt;</string></value></param>
    <param><value><ex:nil/></value></param>
    <param><value><ex:i8>-9007199254740991</ex:i8></value></param>
    <param><value><i4> +17 </i4></value></param>
    <param><value><boolean>true</boolean></value></param>
    <param><value><double>-Infinity</double></value></param>
    <param><value><array><data/></array></value></param>
    <param><value><array/></value></param>
    <param><value><struct/></value></param>
    <param attr='x > y'><value><dateTime.iso8601>2026-11-26T14:05:00+02:00</dateTime.iso8601></value></param>
    <param><value><dateTime.iso8601>20261126T140500.25Z</dateTime.iso8601></value></param>
    <param><value><base64>
      AAEC
      /w==
    </base64></value></param>
  </params>
</methodCall>
`;
  assertEquals(parseMethodCall(xml.replace(/\n/g, "\r\n")), {
    method: "scheduler.jobs.show",
    params: [
      "  bare text  ",
      "",
      "<not> & markup&A🚀\"'<>",
      null,
      -9007199254740991,
      17,
      true,
      -Infinity,
      [],
      [],
      {},
      new Date(Date.UTC(2026, 10, 26, 12, 5, 0)),
      new Date(Date.UTC(2026, 10, 26, 14, 5, 0, 250)),
      new Uint8Array([0, 1, 2, 255]),
    ],
  });
});

Deno.test("malformed documents are refused with a message naming the problem", () => {
  const cases: [string, string][] = [
    ["", "no root element"],
    ["   \n  ", "no root element"],
    ["garbage", "text outside the root element"],
    ["\x00\x01\xff binary", "text outside the root element"],
    ["<<<<", "expected an element name"],
    ["<methodCall>", "<methodCall> is not closed"],
    ["<methodCall><methodName>m</methodName><params>", "<params> is not closed"],
    ["<methodCall><methodName>m</methodName></params></methodCall>", "does not match <methodCall>"],
    ["<methodCall></methodCall></methodCall>", "without a start tag"],
    ["<methodCall/><methodCall/>", "second root element"],
    ["<methodCall", "unexpected end of document"],
    ["<methodCall a=b/>", "is not quoted"],
    ["<methodCall a='b/>", "unterminated attribute"],
    ["<methodCall><!-- x", "unclosed comment"],
    ["<methodCall><![CDATA[x", "unclosed CDATA"],
    ["<?xml version='1.0'", "unclosed XML declaration"],
    ['<!DOCTYPE lol [<!ENTITY lol "lol">]><methodCall/>', "DOCTYPE"],
    ["<methodCall>&lol;</methodCall>", "unknown entity '&lol;'"],
    ["<methodCall>&constructor;</methodCall>", "unknown entity"],
    ["<methodCall>a & b</methodCall>", "unterminated entity"],
    ["<methodCall>&#0;</methodCall>", "not an XML character"],
    ["<methodCall>&#xD800;</methodCall>", "not an XML character"],
    ["<methodCall>&#x110000;</methodCall>", "not an XML character"],
    ["<methodResponse/>", "expected <methodCall>, found <methodResponse>"],
    ["<methodCall></methodCall>", "must hold one <methodName>, found 0"],
    ["<methodCall><methodName> </methodName></methodCall>", "empty <methodName>"],
    ["<methodCall>text<methodName>m</methodName></methodCall>", "unexpected text inside <methodCall>"],
    ["<methodCall><methodName>m</methodName><bogus/></methodCall>", "unexpected <bogus> inside <methodCall>"],
    [
      "<methodCall><methodName>m</methodName><params><param><value/><value/></param></params></methodCall>",
      "must hold exactly one <value>, found 2",
    ],
    [call("<foo>1</foo>"), "unknown value type <foo>"],
    [call("<int>1</int><int>2</int>"), "one typed element, found 2"],
    [call("x<int>1</int>"), "unexpected text next to <int>"],
    [call("<int>1.5</int>"), "not an integer"],
    [call("<int></int>"), "not an integer"],
    [call("<i8>9007199254740993</i8>"), "too large"],
    [call("<int><int>1</int></int>"), "must hold text, found <int>"],
    [call("<boolean>yes</boolean>"), "not 0 or 1"],
    [call("<double>1,5</double>"), "not a number"],
    [call("<double></double>"), "not a number"],
    [call("<dateTime.iso8601>yesterday</dateTime.iso8601>"), "not a date and time"],
    [call("<dateTime.iso8601>20260230T00:00:00</dateTime.iso8601>"), "not a date and time"],
    [call("<dateTime.iso8601>20261126T24:00:00</dateTime.iso8601>"), "not a date and time"],
    [call("<base64>!!!!</base64>"), "valid base64"],
    [call("<base64>A</base64>"), "valid base64"],
    [call("<nil>x</nil>"), "<nil> must be empty"],
    [call("<array><value>1</value></array>"), "unexpected <value> inside <array>"],
    [call("<array><data/><data/></array>"), "exactly one <data>"],
    [call("<struct><member><value>1</value></member></struct>"), "one <name> and one <value>"],
    [call("<struct><member><name>a</name></member></struct>"), "one <name> and one <value>"],
    [call("<struct><value>1</value></struct>"), "unexpected <value> inside <struct>"],
  ];
  for (const [xml, message] of cases) {
    const error = assertThrows(() => parseMethodCall(xml), XmlRpcParseError, message);
    assertStringIncludes(error.message, "line ", `no position in: ${error.message}`);
  }
  assertThrows(() => parseMethodCall("<methodCall>\n\n  <oops>"), XmlRpcParseError, "line 3, column 3");
});

Deno.test("malformed responses are refused too", () => {
  assertThrows(() => parseMethodResponse("<methodCall/>"), XmlRpcParseError, "expected <methodResponse>");
  assertThrows(() => parseMethodResponse("<methodResponse/>"), XmlRpcParseError, "one <params> or one <fault>");
  assertThrows(
    () => parseMethodResponse("<methodResponse><params></params></methodResponse>"),
    XmlRpcParseError,
    "exactly one <param>, found 0",
  );
  assertThrows(
    () => parseMethodResponse("<methodResponse><fault><value>oops</value></fault></methodResponse>"),
    XmlRpcParseError,
    "faultCode",
  );
});

function nested(depth: number): string {
  return "<value><array><data>".repeat(depth - 1) + "<value><int>1</int></value>" +
    "</data></array></value>".repeat(depth - 1);
}

function nestedStructs(depth: number): string {
  return "<value><struct><member><name>k</name>".repeat(depth - 1) + "<value>leaf</value>" +
    "</member></struct></value>".repeat(depth - 1);
}

Deno.test("values nested 64 deep parse and one level more is refused", () => {
  const wrap = (value: string) =>
    `<methodCall><methodName>m</methodName><params><param>${value}</param></params></methodCall>`;
  let expected: XmlRpcValue = 1;
  for (let i = 1; i < MAX_VALUE_DEPTH; i++) expected = [expected];
  assertEquals(parseMethodCall(wrap(nested(MAX_VALUE_DEPTH))).params, [expected]);
  assertThrows(() => parseMethodCall(wrap(nested(MAX_VALUE_DEPTH + 1))), XmlRpcParseError, "deeper than 64");
  assertEquals(parseMethodCall(wrap(nestedStructs(MAX_VALUE_DEPTH))).params.length, 1);
  assertThrows(() => parseMethodCall(wrap(nestedStructs(MAX_VALUE_DEPTH + 1))), XmlRpcParseError, "deeper than 64");
  let deep: XmlRpcInput = 1;
  for (let i = 1; i < MAX_VALUE_DEPTH; i++) deep = [deep];
  assertEquals(parseMethodResponse(serializeResponse(deep)), { kind: "value", value: expected });
  assertThrows(() => serializeResponse([deep]), RangeError, "deeper than 64");
});

Deno.test("100k nested arrays are refused with a parse error rather than a stack overflow", () => {
  const head = "<methodCall><methodName>m</methodName><params><param>";
  const open = "<value><array><data>".repeat(100_000);
  const close = "</data></array></value>".repeat(100_000);
  assertThrows(() => parseMethodCall(head + open), XmlRpcParseError, "nested deeper");
  assertThrows(
    () => parseMethodCall(`${head}${open}${close}</param></params></methodCall>`),
    XmlRpcParseError,
    "nested deeper",
  );
  assertThrows(() => parseMethodCall("<a>".repeat(100_000)), XmlRpcParseError, "nested deeper");
});

Deno.test("hostile inputs of a few megabytes are dealt with in linear time", () => {
  const inputs = (n: number) => [
    call(`<string>${"&amp;".repeat(n)}</string>`),
    call(`<array><data>${"<value><int>1</int></value>".repeat(n)}</data></array>`),
    call(`<struct>${"<member><name>k</name><value/></member>".repeat(n)}</struct>`),
    call(`<base64>${"AAAA\n".repeat(n)}</base64>`),
    call(`<string>${"<![CDATA[x]]>".repeat(n)}</string>`),
    call(`<string>${"<!-- c -->".repeat(n)}</string>`),
    "<".repeat(n * 5),
    "&".repeat(n * 5),
    `<methodCall ${"a='1' ".repeat(n)}`,
    `<methodCall>${";".repeat(n)}&${"x".repeat(n)}`,
    `<methodCall>${"<!--".repeat(n)}`,
    `<methodCall>${"<![CDATA[".repeat(n)}`,
    `<methodCall>${"</".repeat(n)}`,
    `<methodCall>${"<a/>".repeat(n)}`,
    `<methodCall>${"\n".repeat(n * 5)}<oops`,
  ];
  // Linear, not fast: four times the input may take about four times as long, a quadratic
  // parser sixteen. The best of two runs, so a busy machine does not decide it.
  const parseAll = (xmls: string[]) => {
    let best = Infinity;
    for (let run = 0; run < 2; run++) {
      const started = performance.now();
      for (const xml of xmls) {
        try {
          parseMethodCall(xml);
        } catch (error) {
          assert(error instanceof XmlRpcParseError, `${error}`);
        }
      }
      best = Math.min(best, performance.now() - started);
    }
    return best;
  };
  const n = 200_000;
  const small = parseAll(inputs(n / 4));
  const large = parseAll(inputs(n));
  assert(
    large < 8 * Math.max(small, 25),
    `${n / 4} units took ${Math.round(small)} ms, ${n} took ${Math.round(large)} ms`,
  );
  const big = inputs(n);
  assertEquals(parseMethodCall(big[0]).params, ["&".repeat(n)]);
  assertEquals((parseMethodCall(big[1]).params[0] as XmlRpcValue[]).length, n);
});

Deno.test("random corruptions of a valid call either parse or raise XmlRpcParseError", () => {
  const valid = serializeMethodCall("scheduler.jobs.logs", [
    "12",
    0,
    null,
    { a: [1, 2.5, true], b: new Uint8Array([1, 2]), c: new Date(0) },
  ]);
  const alphabet = "<>/&;#x![]CDATA-?='\" \n\u0000valuearraystructintnil";
  let seed = 0x2545f491;
  const random = (limit: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % limit;
  };
  for (let round = 0; round < 3_000; round++) {
    let xml = valid;
    for (let edits = 1 + random(4); edits > 0; edits--) {
      const at = random(xml.length);
      const choice = random(3);
      if (choice === 0) xml = xml.slice(0, at) + xml.slice(at + 1 + random(8));
      else if (choice === 1) xml = xml.slice(0, at) + alphabet[random(alphabet.length)] + xml.slice(at);
      else xml = xml.slice(0, at) + xml.slice(random(xml.length));
    }
    try {
      parseMethodCall(xml);
    } catch (error) {
      assert(error instanceof XmlRpcParseError, `${error} for ${JSON.stringify(xml)}`);
    }
  }
});
