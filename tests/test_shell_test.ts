/**
 * LAVA's system helpers of the test shell on the real QEMU device, in one job:
 * background processes, the device's addresses and storage, feedback from another
 * namespace, the OS build and the distribution helpers of a system that has none,
 * and a test definition's install section (packages, a repository, steps).
 */
import { assert, assertEquals } from "./support/assert.ts";
import { inlineTest, qemuJob } from "./support/dut.ts";
import { dispatch, results } from "./support/qemu_dispatch.ts";

Deno.test("the test shell's system helpers work on the QEMU device as in LAVA", async () => {
  const steps = [
    `lava-test-case background --shell 'lava-background-process-start ticker --cmd "echo tick >> /tmp/ticks; sleep 1" && sleep 3 && lava-background-process-stop ticker && n=$(wc -l < /tmp/ticks) && sleep 2 && [ "$n" -ge 2 ] && [ "$(wc -l < /tmp/ticks)" -eq "$n" ]'`,
    `lava-test-case ipv4 --shell '[ "$(lava-echo-ipv4 eth0)" = 10.0.2.15 ]'`,
    `lava-test-case mac --shell '[ "$(lava-target-mac)" = 52:54:00:12:34:58 ]'`,
    `lava-test-case storage --shell '[ "$(lava-target-storage UMS)" = /dev/sdb ] && ! lava-target-storage NVME'`,
    `lava-test-case os-build --shell 'lava-os-build | grep -q .'`,
    `lava-test-case install --shell 'lava-install-packages curl | grep -q "unsupported distro"'`,
    `lava-test-case sources --shell 'lava-add-sources http://deb.invalid | grep -q "cannot add sources"'`,
    `lava-test-case keys --shell 'lava-add-keys 0xABCDEF | grep -q "cannot add key"'`,
    "lava-test-feedback --namespace probe",
  ];
  const dictionary = [
    "{% set device_mac = '52:54:00:12:34:58' %}",
    "{% set storage_info = [{'SATA': '/dev/disk/by-id/ata-x'}, {'UMS': '/dev/sdb'}] %}",
  ].join("\n");
  // A test definition's install section: the distribution helpers, a repository cloned beside it, steps.
  const lib = await Deno.makeTempDir({ prefix: "basalt-install-repo-" });
  await Deno.writeTextFile(`${lib}/README`, "cloned\n");
  for (
    const args of [["init", "-q"], ["add", "."], [
      "-c",
      "user.email=ci@basalt.invalid",
      "-c",
      "user.name=ci",
      "commit",
      "-qm",
      "x",
    ]]
  ) {
    await new Deno.Command("git", { args: ["-C", lib, ...args] }).output();
  }
  const installing = {
    from: "inline",
    name: "install",
    path: "inline/install.yaml",
    repository: {
      metadata: { format: "Lava-Test Test Definition 1.0", name: "install" },
      install: {
        keys: ["0xABCDEF"],
        sources: ["http://deb.invalid"],
        deps: ["curl"],
        "git-repos": [{ url: lib, destination: "lib" }],
        steps: ["touch /tmp/install-ran"],
      },
      run: {
        steps: [
          "lava-test-case cloned --shell test -f lib/README",
          "lava-test-case install-ran --shell test -f /tmp/install-ran",
        ],
      },
    },
  };
  // Tests as a compressed tar archive from a URL, one leading directory stripped, as LAVA takes them.
  await Deno.mkdir(`${lib}/archive/suite-1.0`, { recursive: true });
  await Deno.writeTextFile(
    `${lib}/archive/suite-1.0/archived.yaml`,
    JSON.stringify({
      metadata: { format: "Lava-Test Test Definition 1.0", name: "archived" },
      run: { steps: ["lava-test-case from-archive --shell test -f archived.yaml"] },
    }),
  );
  await new Deno.Command("tar", { args: ["-czf", `${lib}/suite.tar.gz`, "-C", `${lib}/archive`, "suite-1.0"] })
    .output();
  const archived = {
    from: "url",
    name: "archived",
    repository: `file://${lib}/suite.tar.gz`,
    path: "archived.yaml",
    compression: "gz",
    "strip-components": 1,
  };
  const run = await dispatch(
    qemuJob({ name: "system helpers", tests: [inlineTest("helpers", steps), installing, archived] }),
    { dictionary },
  ).finally(() => Deno.remove(lib, { recursive: true }));
  assertEquals(run.result.result, "pass", JSON.stringify(run.result));
  const cases = Object.fromEntries(
    results(run).filter((r) => r.definition === "0_helpers").map((r) => [r.case, r.result]),
  );
  assertEquals(cases, {
    background: "pass",
    ipv4: "pass",
    mac: "pass",
    storage: "pass",
    "os-build": "pass",
    install: "pass",
    sources: "pass",
    keys: "pass",
  });
  assert(
    run.records.some((r) =>
      r.lvl === "warning" && String(r.msg).includes("lava-test-feedback: no connection in namespace probe")
    ),
    "the feedback signal was read",
  );
  const installed = results(run).filter((r) => r.definition === "1_install").map((r) => [r.case, r.result]);
  assertEquals(installed, [["cloned", "pass"], ["install-ran", "pass"]]);
  for (const said of ["cannot install packages:", "cannot add key", "cannot add sources:"]) {
    assert(run.records.some((r) => String(r.msg).includes(`I: unsupported distro, ${said}`)), said);
  }
  assertEquals(
    results(run).filter((r) => r.definition === "2_archived").map((r) => [r.case, r.result]),
    [["from-archive", "pass"]],
  );
});
