import { assert, assertRejects } from "../../tests/support/assert.ts";
import { ConfigurationError } from "../job/errors.ts";
import { makeFitImage } from "./fit_image.ts";

Deno.test("an arm64 kernel, device tree and ramdisk are packed into a FIT image mkimage's own dumpimage reads back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-fit-" });
  try {
    await Deno.writeFile(`${dir}/Image`, new Uint8Array(64 * 1024).fill(7));
    await Deno.writeFile(`${dir}/board.dtb`, new Uint8Array([0xd0, 0x0d, 0xfe, 0xed, ...new Uint8Array(60)]));
    await Deno.writeFile(`${dir}/ramdisk.cpio.gz`, new Uint8Array(4096).fill(3));
    const fit = await makeFitImage({
      kernel: `${dir}/Image`,
      dtb: `${dir}/board.dtb`,
      ramdisk: `${dir}/ramdisk.cpio.gz`,
      arch: "arm64",
      loadAddress: "0x80080000",
    });
    const listed = new TextDecoder().decode(
      (await new Deno.Command("dumpimage", { args: ["-l", fit], stdout: "piped" }).output()).stdout,
    );
    for (const part of ["Kernel", "lzma compressed", "Flat Device Tree", "RAMDisk", "0x80080000"]) {
      assert(listed.includes(part), `${part} in:\n${listed}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a load address or architecture that is no such thing never reaches mkimage's command line", async () => {
  for (const parts of [{ arch: "arm64; reboot", loadAddress: "0" }, { arch: "arm", loadAddress: "-f auto" }]) {
    await assertRejects(() => makeFitImage({ kernel: "/nonexistent/Image", ...parts }), ConfigurationError);
  }
});
