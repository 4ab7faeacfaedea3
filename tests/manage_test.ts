/**
 * `deno task manage` as an admin runs it: each command a separate process on the
 * same database, so every step also proves nothing is lost between processes.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { startPostgres } from "./support/postgres.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function manage(storage: string[], ...args: string[]): Promise<Run> {
  return await manageWithInput("", storage, ...args);
}

async function manageWithInput(input: string, storage: string[], ...args: string[]): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "manage", ...storage, ...args],
    cwd: new URL("..", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const output = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

async function adminSession(storage: string[]): Promise<void> {
  assertEquals((await manage(storage, "users", "add", "--superuser", "admin")).code, 0);

  const token = await manage(storage, "tokens", "add", "--user", "admin", "--description", "lavacli");
  assertEquals(token.code, 0, token.stderr);
  assertMatch(token.stdout, /^[a-z0-9]{48}$/);

  const unknownType = await manage(storage, "devices", "add", "--device-type", "qemu", "--worker", "w1", "qemu01");
  assertEquals(unknownType.code, 1);
  assertEquals(unknownType.stdout, "");
  assertStringIncludes(unknownType.stderr, 'device type "qemu" does not exist');

  assertEquals((await manage(storage, "workers", "add", "--job-limit", "2", "w1")).code, 0);
  assertEquals((await manage(storage, "device-types", "add", "qemu")).code, 0);
  const added = await manage(
    storage,
    "devices",
    "add",
    "--device-type",
    "qemu",
    "--worker",
    "w1",
    "--tags",
    "kvm",
    "qemu01",
  );
  assertEquals(added.code, 0, added.stderr);

  const devices = await manage(storage, "devices", "list");
  assertEquals(devices.stdout.split("\n").map((l) => l.split(/\s+/)), [
    ["hostname", "type", "worker", "state", "health", "tags"],
    ["qemu01", "qemu", "w1", "Idle", "Maintenance", "kvm"],
  ]);
  const workers = await manage(storage, "workers", "list");
  assertStringIncludes(workers.stdout, "w1        Offline  Active  2");

  // A private device, seen by one group.
  assertEquals((await manage(storage, "users", "add", "bob")).code, 0);
  assertEquals((await manage(storage, "groups", "add", "--users", "bob", "lab")).code, 0);
  const groups = await manage(storage, "groups", "list");
  assertEquals(groups.stdout.split("\n").map((l) => l.split(/\s+/)), [["name", "members"], ["lab", "bob"]]);
  const permit = await manage(storage, "devices", "permit", "--group", "lab", "--permission", "view", "qemu01");
  assertEquals(permit.code, 0, permit.stderr);
  assertEquals((await manage(storage, "devices", "visibility", "--private", "qemu01")).code, 0);
  const nobody = await manage(storage, "devices", "permit", "--group", "nosuch", "--permission", "view", "qemu01");
  assertEquals(nobody.code, 1);
  assertStringIncludes(nobody.stderr, 'group "nosuch" does not exist');
  const wrong = await manage(storage, "devices", "permit", "--group", "lab", "--permission", "own", "qemu01");
  assertEquals(wrong.code, 2);

  const tokens = await manage(storage, "tokens", "list", "--user", "admin");
  assertStringIncludes(tokens.stdout, "lavacli");
  assertEquals(tokens.stdout.includes(token.stdout), false, "the secret is never shown again");
}

Deno.test("an admin session with deno task manage on the embedded database keeps every row", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-manage-" });
  try {
    await adminSession(["--data-dir", dir]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an admin session with deno task manage on PostgreSQL keeps every row", async () => {
  const server = await startPostgres();
  try {
    await adminSession(["--db", await server.createDatabase()]);
  } finally {
    await server.stop();
  }
});

Deno.test("deno task manage explains a wrong command line and exits 2", async () => {
  const unknown = await manage([], "frobnicate");
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, 'unknown command "frobnicate"');
  const missing = await manage([], "devices", "add", "qemu01");
  assertEquals(missing.code, 2);
  assertStringIncludes(missing.stderr, "missing --device-type, --worker");
  const both = await manage(["--data-dir", "/tmp/x", "--db", "postgres://h/d"], "users", "list");
  assertEquals(both.code, 2);
  assertStringIncludes(both.stderr, "not both");
  const dir = await Deno.makeTempDir({ prefix: "basalt-manage-" });
  try {
    const badLimit = await manage(["--data-dir", dir], "workers", "add", "--job-limit", "lots", "w");
    assertEquals(badLimit.code, 2);
    assertStringIncludes(badLimit.stderr, "--job-limit must be a whole number");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task manage runs a shared lab: users, permissions, types, aliases, tags, dictionaries, workers, jobs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-manage-" });
  const db = ["--data-dir", `${dir}/data`];
  const ok = async (...args: string[]) => {
    const run = await manage(db, ...args);
    assertEquals(run.code, 0, `manage ${args.join(" ")}: ${run.stdout} ${run.stderr}`);
    return run.stdout;
  };
  try {
    await ok("users", "add", "bob");
    await ok("workers", "add", "w1");
    await ok("workers", "add", "w2");
    await ok("device-types", "add", "qemu");
    await ok("devices", "add", "--device-type", "qemu", "--worker", "w1", "qemu01");
    await ok("groups", "add", "--users", "bob", "team");
    await ok("users", "update", "--no-active", "bob");
    assertStringIncludes(await ok("users", "list"), "bob       false      false");
    assertEquals((await manageWithInput("correct horse battery\n", db, "users", "password", "bob")).code, 0);
    assertStringIncludes((await manageWithInput("short\n", db, "users", "password", "bob")).stderr, "at least 10");
    await ok("permissions", "grant", "--group", "team", "--permission", "submit", "--device-type", "qemu");
    assertStringIncludes(await ok("permissions", "list", "--device-type", "qemu"), "team   submit");
    await ok("device-types", "update", "qemu", "--retention-days", "90", "--no-health-check");
    await ok("aliases", "add", "--device-type", "qemu", "vm");
    assertStringIncludes(await ok("aliases", "list"), "vm     qemu");
    await ok("tags", "add", "--description", "has a USB hub", "usb");
    await ok("devices", "tag", "--add", "usb,big", "qemu01");
    assertStringIncludes(await ok("tags", "list"), "usb   1        has a USB hub");
    await ok("devices", "update", "--worker", "w2", "--physical-owner", "carol", "--health", "Good", "qemu01");
    // Dictionaries out and back in; a bad one stops the whole import.
    const out = `${dir}/dicts`;
    assertStringIncludes(await ok("devices", "export-dictionaries", out), "wrote 0");
    await Deno.mkdir(out, { recursive: true });
    await Deno.writeTextFile(`${out}/qemu01.jinja2`, "{% extends 'qemu.jinja2' %}\n{% set memory = 512 %}\n");
    await Deno.writeTextFile(`${out}/ghost.jinja2`, "{% extends 'qemu.jinja2' %}\n");
    const refused = await manage(db, "devices", "import-dictionaries", out);
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, "ghost.jinja2: there is no device ghost");
    await Deno.remove(`${out}/ghost.jinja2`);
    assertStringIncludes(await ok("devices", "import-dictionaries", out), "stored 1");
    await Deno.remove(out, { recursive: true });
    assertStringIncludes(await ok("devices", "export-dictionaries", out), "wrote 1");
    assertStringIncludes(await Deno.readTextFile(`${out}/qemu01.jinja2`), "memory = 512");
    // A worker goes once its devices have moved; jobs by age.
    const kept = await manage(db, "workers", "rm", "w2");
    assertEquals(kept.code, 1);
    assertStringIncludes(kept.stderr, "still has devices: qemu01");
    await ok("workers", "rm", "w1");
    assertStringIncludes(await ok("jobs", "rm", "--older-than", "30", "--dry-run"), "0 jobs would be removed");
    const health = await ok("health");
    assertStringIncludes(health, "qemu01  qemu  w2      Good    never");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task manage makes LAVA workers: a new token shown once, a kept one read from its file, and back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-manage-" });
  const db = ["--data-dir", `${dir}/data`];
  try {
    const added = await manage(db, "workers", "add", "--lava-token", "lava-w1");
    assertEquals(added.code, 0, added.stderr);
    const [said, token] = added.stdout.trim().split("\n");
    assertEquals(said, "added worker lava-w1");
    assertEquals(/^[a-z0-9]{32}$/.test(token), true, token);
    assertStringIncludes((await manage(db, "workers", "list")).stdout, "LAVA's HTTP API");
    // A worker moving from a LAVA server keeps the token it has.
    await Deno.writeTextFile(`${dir}/token`, "kept-token-from-lava-0123456789\n");
    assertEquals((await manage(db, "workers", "add", "w2")).code, 0);
    const kept = await manage(db, "workers", "lava-token", "--file", `${dir}/token`, "w2");
    assertEquals(kept.code, 0, kept.stderr);
    assertEquals(kept.stdout.includes("kept-token"), false, "a kept token is not printed");
    await Deno.writeTextFile(`${dir}/short`, "abc\n");
    const short = await manage(db, "workers", "lava-token", "--file", `${dir}/short`, "w2");
    assertEquals(short.code, 2);
    assertStringIncludes(short.stderr, "16 to 256 printable characters");
    assertEquals((await manage(db, "workers", "lava-token", "--remove", "lava-w1")).code, 0);
    const list = (await manage(db, "workers", "list")).stdout;
    assertStringIncludes(list, "mailbox");
    assertEquals(list.split("\n").filter((l) => l.includes("LAVA's HTTP API")).length, 1, list);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
