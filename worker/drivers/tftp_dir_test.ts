import { assertEquals, assertRejects, assertThrows } from "../../tests/support/assert.ts";
import { ConfigurationError, InfrastructureError, JobError } from "../job/errors.ts";
import { jobTftpDir, makeDeployDir, removeJobTftpDir, servedName, tftpRoot } from "./tftp_dir.ts";

Deno.test("a deploy's directory is <root>/<job>/tftp-deploy-*, named to the bootloader relative to the root", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await makeDeployDir(root, "12.1", "tftp");
    assertEquals(
      servedName(root, `${dir}/kernel/Image`).replace(/deploy-\w+/, "deploy-X"),
      "12.1/tftp-deploy-X/kernel/Image",
    );
    assertEquals(servedName(undefined, `${dir}/kernel/Image`), `${dir}/kernel/Image`);
    // Readable by the TFTP server's own user.
    assertEquals((await Deno.stat(dir)).mode! & 0o777, 0o755);
    assertEquals((await Deno.stat(`${root}/12.1`)).mode! & 0o777, 0o755);
    await removeJobTftpDir(root, "12.1");
    await removeJobTftpDir(root, "12.1");
    assertEquals([...Deno.readDirSync(root)], []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a job id that is not a plain name, a file outside the root and a relative root are refused", async () => {
  for (const id of ["..", "../x", "a/b", "", ".hidden"]) assertThrows(() => jobTftpDir("/srv/tftp", id), JobError);
  assertThrows(() => servedName("/srv/tftp", "/etc/passwd"), InfrastructureError);
  assertThrows(() => tftpRoot({ tftp_root: "srv/tftp" }), ConfigurationError);
  assertEquals(tftpRoot({ tftp_root: "/srv/tftp/" }), "/srv/tftp");
  await assertRejects(() => makeDeployDir("/proc/no-such-root", "1", "tftp"), InfrastructureError, "tftp_root");
});
