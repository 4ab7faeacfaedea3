import { parseArgs as nodeParseArgs } from "node:util";
import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { ArgsError, parseArgs } from "./parse_args.ts";

const OPTIONS = {
  "job-id": { type: "string" },
  tag: { type: "string", multiple: true },
  http: { type: "string", default: "127.0.0.1:8000" },
  "keep-work-dir": { type: "boolean" },
  help: { type: "boolean", short: "h" },
  level: { type: "string", short: "l" },
} as const;

const ACCEPTED = [
  [],
  ["--job-id", "12", "job.yaml"],
  ["--job-id=12", "--keep-work-dir", "job.yaml"],
  ["--tag", "a", "--tag=b", "--tag", "c"],
  ["-h"],
  ["-l", "debug", "x", "y"],
  ["--http", "0.0.0.0:1", "--", "--job-id", "-h"],
  ["--job-id=", "a"],
  ["--job-id=-5"],
  ["-"],
  ["--job-id", "-", "x"],
];

Deno.test("a command line is read as node:util's parseArgs reads it", () => {
  for (const args of ACCEPTED) {
    const ours = parseArgs({ args, options: OPTIONS, allowPositionals: true });
    const theirs = nodeParseArgs({ args, options: OPTIONS, allowPositionals: true });
    assertEquals({ ...ours.values }, { ...theirs.values }, args.join(" "));
    assertEquals(ours.positionals, theirs.positionals, args.join(" "));
  }
});

Deno.test("a loose reading keeps unknown options and takes what a strict one refuses", () => {
  for (const args of [["--other", "x", "--job-id", "-3"], ["--other=1", "-z"], ["--keep-work-dir=yes"]]) {
    const ours = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: false });
    const theirs = nodeParseArgs({ args, options: OPTIONS, allowPositionals: true, strict: false });
    assertEquals({ ...ours.values }, { ...theirs.values }, args.join(" "));
    assertEquals(ours.positionals, theirs.positionals, args.join(" "));
  }
});

Deno.test("a strict reading refuses what node:util's refuses, naming the option", () => {
  const refused: [string[], string][] = [
    [["--nope"], "'--nope'"],
    [["-z"], "'-z'"],
    [["--job-id"], "'--job-id <value>' argument missing"],
    [["--job-id", "--keep-work-dir"], "'--job-id' argument is ambiguous"],
    [["--help=yes"], "'--help' does not take an argument"],
  ];
  for (const [args, message] of refused) {
    assertThrows(() => parseArgs({ args, options: OPTIONS, allowPositionals: true }), ArgsError, message);
    assertThrows(() => nodeParseArgs({ args, options: OPTIONS, allowPositionals: true }));
  }
  assertThrows(() => parseArgs({ args: ["job.yaml"], options: OPTIONS }), ArgsError, "'job.yaml'");
  assertThrows(() => nodeParseArgs({ args: ["job.yaml"], options: OPTIONS }));
});

Deno.test("an option named like an Object property is still unknown", () => {
  assertThrows(() => parseArgs({ args: ["--constructor"], options: OPTIONS }), ArgsError, "'--constructor'");
  assertThrows(() => parseArgs({ args: ["--__proto__=1"], options: OPTIONS }), ArgsError, "'--__proto__'");
});
