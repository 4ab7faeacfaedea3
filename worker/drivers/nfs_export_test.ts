import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { startGanesha } from "../../tests/support/ganesha.ts";
import { ConfigurationError, InfrastructureError, JobError } from "../job/errors.ts";
import { dropStaleExports, exportedPaths, exportNfsRoot, ganeshaExport, reloadOutcome } from "./nfs_export.ts";

Deno.test("the kernel server's exported directories are read from exportfs's table, escapes decoded", () => {
  const table = "/var/lib/basalt\t*(rw,no_root_squash)\n/srv/with\\040space\t10.0.0.0/8(ro)\n\n";
  assertEquals(exportedPaths(table), ["/var/lib/basalt", "/srv/with space"]);
});

Deno.test("a path that would break out of ganesha's quotes is not exported", () => {
  assertThrows(() => ganeshaExport(1000, '/w/x" ; EXPORT { Path = "/'), JobError, "cannot be exported");
  assertStringIncludes(ganeshaExport(1000, "/w/nfsrootfs"), 'Path = "/w/nfsrootfs";');
});

Deno.test("a job's export is for the device's own address when its dictionary gives one", () => {
  const block = ganeshaExport(1000, "/w/nfsrootfs", ["10.0.2.15", "fd00::15"]);
  assertStringIncludes(block, "  Access_Type = None;\n  CLIENT { Clients = 10.0.2.15, fd00::15; Access_Type = RW; }");
  assertStringIncludes(ganeshaExport(1000, "/w/nfsrootfs"), "  Access_Type = RW;");
  assertThrows(() => ganeshaExport(1000, "/w/nfsrootfs", ["*; } EXPORT {"]), ConfigurationError, "not an address");
});

Deno.test("ganesha's reload is read from its log: finished or not, and what it refused", () => {
  const prefix = "05/12/2026 15:59:59 : epoch 6b1434fe : vm : ganesha.nfsd-10869[sigmgr] ";
  const hup =
    `${prefix}sigmgr_thread :MAIN :EVENT :SIGHUP_HANDLER: Received SIGHUP.... initiating export list reload\n`;
  assertEquals(reloadOutcome(""), undefined);
  assertEquals(reloadOutcome(hup), undefined);
  assertEquals(reloadOutcome(`${hup}${prefix}reread_exports :CONFIG :EVENT :Reread exports complete\n`), {
    ok: true,
    errors: [],
  });
  const mismatch = `${prefix}export_commit_common :CONFIG :CRIT :Path for export update 1000 /b doesn't match /a\n`;
  assertEquals(reloadOutcome(`${hup}${mismatch}${prefix}reread_exports :CONFIG :EVENT :Reread exports complete\n`), {
    ok: false,
    errors: ["Path for export update 1000 /b doesn't match /a"],
  });
  const syntax = `${prefix}ganesha_yyerror :CONFIG :CRIT :Config file (/e.conf:10) error: syntax error\n` +
    `${prefix}reread_config :CONFIG :CRIT :Error while parsing new configuration file /g.conf\n`;
  assertEquals(reloadOutcome(`${hup}${syntax}`)?.ok, false);
});

Deno.test("a root inside a directory the kernel NFS server exports is served, one outside it refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/etab`, `${dir}/exported\t*(rw,no_root_squash)\n`);
    const said: string[] = [];
    const served = await exportNfsRoot({}, "7", `${dir}/exported/7/nfsrootfs`, (m) => said.push(m), {
      kernelTable: `${dir}/etab`,
    });
    assertEquals(served.path, `${dir}/exported/7/nfsrootfs`);
    assertStringIncludes(said.join("\n"), `as part of ${dir}/exported`);
    await assertRejects(
      () => exportNfsRoot({}, "7", `${dir}/elsewhere`, () => {}, { kernelTable: `${dir}/etab` }),
      InfrastructureError,
      "does not export",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without a kernel NFS server exporting the root, the job ends as an infrastructure error naming the fix", async () => {
  await assertRejects(
    () =>
      exportNfsRoot({ nfs_server: "kernel" }, "7", "/nonexistent/root", () => {}, { kernelTable: "/nonexistent/etab" }),
    InfrastructureError,
    "nfs_server: ganesha",
  );
});

Deno.test("each job's root is exported by a running nfs-ganesha under an id of its own, and only while the job runs", async () => {
  const ganesha = await startGanesha();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/b`);
    const said: string[] = [];
    const a = await exportNfsRoot(ganesha.dispatcherConfig, "7", `${dir}/a`, (m) => said.push(m));
    const b = await exportNfsRoot(ganesha.dispatcherConfig, "8.1", `${dir}/b`, (m) => said.push(m), {
      clients: ["10.0.2.15"],
    });
    // Confirmed in the server's log (the one it was started with): it took both, the client-bound one too.
    assertEquals(said.some((m) => m.includes("not confirmed")), false);
    assertStringIncludes(said.join("\n"), "export 1001, to 10.0.2.15");
    const both = await Deno.readTextFile(ganesha.exportsFile);
    assertStringIncludes(both, `Export_Id = 1000;\n  Path = "${dir}/a";`);
    assertStringIncludes(both, `Export_Id = 1001;\n  Path = "${dir}/b";`);
    await a.remove();
    assertEquals((await Deno.readTextFile(ganesha.exportsFile)).includes(`${dir}/a"`), false);
    // A job whose directory went without removing its export (a dispatcher killed): dropped at the next change,
    // and ids are not reused (ganesha refuses an id whose path changed in one reload).
    await Deno.remove(`${dir}/b`);
    await Deno.mkdir(`${dir}/c`);
    const c = await exportNfsRoot(ganesha.dispatcherConfig, "9", `${dir}/c`, () => {});
    const left = await Deno.readTextFile(ganesha.exportsFile);
    assertEquals(left.includes(`${dir}/b"`), false);
    assertStringIncludes(left, `Export_Id = 1002;\n  Path = "${dir}/c";`);
    await c.remove();
    await b.remove();
    assertEquals(await Deno.readTextFile(ganesha.exportsFile), "");
    // The worker forgetting a job whose dispatcher was killed drops its export too.
    await Deno.mkdir(`${dir}/d`);
    await exportNfsRoot(ganesha.dispatcherConfig, "11", `${dir}/d`, () => {});
    await Deno.remove(`${dir}/d`);
    await dropStaleExports(ganesha.dispatcherConfig);
    assertEquals(await Deno.readTextFile(ganesha.exportsFile), "");

    await ganesha.stop();
    await assertRejects(
      () => exportNfsRoot(ganesha.dispatcherConfig, "10", `${dir}/c`, () => {}),
      InfrastructureError,
      "nfs-ganesha is not running",
    );
  } finally {
    await ganesha.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
