import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { applyEnvironment, EnvironmentFileError, parseEnvironment } from "./environment.ts";

Deno.test("an env.yaml purges, removes and overrides the dispatcher's variables", () => {
  const settings = parseEnvironment(
    "purge: false\nremoves: [http_proxy]\noverrides:\n  LC_ALL: C.UTF-8\n  N: 3\n",
    "env.yaml",
  );
  assertEquals(applyEnvironment(settings, { http_proxy: "x", HOME: "/root" }), {
    HOME: "/root",
    LC_ALL: "C.UTF-8",
    N: "3",
  });
  const purged = parseEnvironment("purge: true\noverrides: {PATH: /bin}\n", "env.yaml");
  assertEquals(applyEnvironment(purged, { HOME: "/root" }), { PATH: "/bin" });
});

Deno.test("a malformed env.yaml is refused with the file named", () => {
  assertThrows(
    () => parseEnvironment("removes: 3\n", "/etc/basalt/env.yaml"),
    EnvironmentFileError,
    "/etc/basalt/env.yaml",
  );
  assertThrows(() => parseEnvironment("[1, 2]\n", "env.yaml"), EnvironmentFileError, "mapping");
});
