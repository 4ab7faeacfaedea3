import { assert, assertEquals } from "../tests/support/assert.ts";
import {
  commandsFor,
  installedPackages,
  type MachineState,
  PACKAGE_GROUPS,
  planSetup,
  privileged,
  setupPaths,
} from "./setup.ts";

const paths = setupPaths(() => undefined, "/src/basalt");
const everything = new Set(PACKAGE_GROUPS.flatMap((g) => g.packages));
const ready: MachineState = {
  installed: everything,
  dutImageBuilt: true,
  debianRootfsBuilt: true,
  lavaReferenceUnpacked: true,
  lavaExamplesPresent: true,
};

Deno.test("a machine with everything gets an empty plan and nothing to say", () => {
  for (const purpose of ["demo", "test"] as const) {
    assertEquals(planSetup(purpose, ready, paths), { steps: [], lines: [], notes: [] });
  }
});

Deno.test("a fresh machine gets the packages, the device image, the Debian root filesystem, then LAVA's reference, each with its reason", () => {
  const fresh: MachineState = {
    installed: new Set(),
    dutImageBuilt: false,
    debianRootfsBuilt: false,
    lavaReferenceUnpacked: false,
    lavaExamplesPresent: true,
  };
  const plan = planSetup("test", fresh, paths);
  assertEquals(plan.steps.map((s) => s.kind), ["packages", "device-image", "debian-rootfs", "lava-reference"]);
  const packages = plan.steps[0].kind === "packages" ? plan.steps[0].packages : [];
  assertEquals(new Set(packages), everything);
  assert(plan.lines.some((l) => l.startsWith("postgresql: ")), plan.lines.join("\n"));
  assert(plan.lines.some((l) => l.includes("/var/cache/basalt-dut")));
  assert(plan.lines.some((l) => l.includes("/var/cache/basalt-lava")));
  assert(plan.lines.some((l) => l.includes("/var/cache/basalt-debian")));
});

Deno.test("the demo asks only for what the lab runs on, not the test suite's tools", () => {
  const plan = planSetup("demo", { ...ready, installed: new Set(), lavaReferenceUnpacked: false }, paths);
  const packages = plan.steps[0].kind === "packages" ? plan.steps[0].packages : [];
  for (const needed of ["libzmq5", "qemu-system-x86", "ser2net", "socat", "u-boot-tools"]) {
    assert(packages.includes(needed), needed);
  }
  for (const testOnly of ["postgresql", "chromium", "lavacli"]) assert(!packages.includes(testOnly), testOnly);
  assertEquals(plan.steps.length, 1, "no LAVA reference for the demo");
});

Deno.test("only the missing packages of a group are named", () => {
  const installed = new Set([...everything].filter((p) => p !== "ser2net"));
  const plan = planSetup("demo", { ...ready, installed }, paths);
  assertEquals(plan.steps, [{ kind: "packages", packages: ["ser2net"] }]);
  assertEquals(plan.lines, ["ser2net: the simulated board's serial line"]);
});

Deno.test("missing LAVA examples are a note that tests are skipped, not a step", () => {
  const plan = planSetup("test", { ...ready, lavaExamplesPresent: false }, paths);
  assertEquals(plan.steps, []);
  assertEquals(plan.notes.length, 1);
  assert(plan.notes[0].includes("/src/shared/lava-examples"), plan.notes[0]);
  assert(plan.notes[0].includes("skipped"));
});

Deno.test("the environment names where the images, the reference, the examples and the test definitions are", () => {
  const env: Record<string, string> = {
    BASALT_DUT_DIR: "/d",
    BASALT_LAVA_REFERENCE: "/r",
    BASALT_LAVA_EXAMPLES: "/e",
    BASALT_DEBIAN_DIR: "/b",
    BASALT_TEST_DEFINITIONS: "/t",
  };
  assertEquals(setupPaths((n) => env[n], "/src/basalt"), {
    dutDir: "/d",
    lavaReference: "/r",
    lavaExamples: "/e",
    debianDir: "/b",
    testDefinitions: "/t",
  });
  assertEquals(setupPaths(() => undefined, "/src/basalt").testDefinitions, "/src/shared/test-definitions");
});

Deno.test("privileged commands run as they are for root, through non-interactive sudo, or not at all", () => {
  const argv = ["bash", "x.sh"];
  assertEquals(privileged("root", argv), ["bash", "x.sh"]);
  assertEquals(privileged("sudo", argv), ["sudo", "-n", "--", "bash", "x.sh"]);
  assertEquals(privileged("none", argv), undefined);
});

Deno.test("packages are installed non-interactively without recommends, after refreshing the lists", () => {
  const [update, install] = commandsFor({ kind: "packages", packages: ["socat"] }, "/src/basalt");
  assertEquals(update, ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update", "-qq"]);
  assertEquals(install.slice(-2), ["--no-install-recommends", "socat"]);
  assertEquals(commandsFor({ kind: "device-image", dir: "/d" }, "/src/basalt"), [
    ["bash", "/src/basalt/tools/build-dut-image.sh", "/d"],
  ]);
});

Deno.test("dpkg's answer counts only installed packages, not removed or unknown ones", async () => {
  const installed = await installedPackages(["dpkg", "basalt-no-such-package"]);
  assert(installed.has("dpkg"));
  assert(!installed.has("basalt-no-such-package"));
});
