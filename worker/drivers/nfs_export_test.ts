import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { startGanesha } from "../../tests/support/ganesha.ts";
import { InfrastructureError, JobError } from "../job/errors.ts";
import { exportedPaths, exportNfsRoot, ganeshaExport } from "./nfs_export.ts";

Deno.test("the kernel server's exported directories are read from exportfs's table, escapes decoded", () => {
  const table = "/var/lib/basalt\t*(rw,no_root_squash)\n/srv/with\\040space\t10.0.0.0/8(ro)\n\n";
  assertEquals(exportedPaths(table), ["/var/lib/basalt", "/srv/with space"]);
});

Deno.test("a path that would break out of ganesha's quotes is not exported", () => {
  assertThrows(() => ganeshaExport(1000, '/w/x" ; EXPORT { Path = "/'), JobError, "cannot be exported");
  assertStringIncludes(ganeshaExport(1000, "/w/nfsrootfs"), 'Path = "/w/nfsrootfs";');
});

Deno.test("without a kernel NFS server exporting the root, the job ends as an infrastructure error naming the fix", async () => {
  await assertRejects(
    () => exportNfsRoot({ nfs_server: "kernel" }, "7", "/nonexistent/root", () => {}),
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
    const b = await exportNfsRoot(ganesha.dispatcherConfig, "8.1", `${dir}/b`, (m) => said.push(m));
    const both = await Deno.readTextFile(ganesha.exportsFile);
    assertStringIncludes(both, `Export_Id = 1000;\n  Path = "${dir}/a";`);
    assertStringIncludes(both, `Export_Id = 1001;\n  Path = "${dir}/b";`);
    await a.remove();
    assertEquals((await Deno.readTextFile(ganesha.exportsFile)).includes(`${dir}/a"`), false);
    // A job whose directory went without removing its export (a dispatcher killed): dropped at the next change.
    await Deno.remove(`${dir}/b`);
    await Deno.mkdir(`${dir}/c`);
    const c = await exportNfsRoot(ganesha.dispatcherConfig, "9", `${dir}/c`, () => {});
    const left = await Deno.readTextFile(ganesha.exportsFile);
    assertEquals(left.includes(`${dir}/b"`), false);
    assertStringIncludes(left, `Export_Id = 1000;\n  Path = "${dir}/c";`);
    await c.remove();
    await b.remove();
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
