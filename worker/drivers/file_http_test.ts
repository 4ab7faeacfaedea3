import { assertEquals } from "../../tests/support/assert.ts";
import { serveFile } from "./file_http.ts";

Deno.test("a served file is fetched at its unguessable URL only, until the server closes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/overlay.tar.gz`, "overlay bytes");
    await Deno.writeTextFile(`${dir}/secret`, "not served");
    const served = serveFile(`${dir}/overlay.tar.gz`, "127.0.0.1", "127.0.0.1");
    const url = new URL(served.url);
    assertEquals(url.pathname.endsWith("/overlay.tar.gz"), true);
    assertEquals(await (await fetch(served.url)).text(), "overlay bytes");
    for (const path of ["/overlay.tar.gz", "/secret", `${url.pathname.split("/").slice(0, 2).join("/")}/secret`]) {
      const response = await fetch(`${url.origin}${path}`);
      await response.body?.cancel();
      assertEquals(response.status, 404, path);
    }
    assertEquals(served.fetches(), 1);
    await served.close();
    const refused = await fetch(served.url).then(() => false, () => true);
    assertEquals(refused, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
