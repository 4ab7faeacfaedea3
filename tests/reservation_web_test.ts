/**
 * A reservation in real Chromium (Debian's, driven by playwright-core) against
 * a lab with a worker and the QEMU device: reserved from the device's page with
 * a boot job, its console comes up in the page's terminal (xterm.js), a
 * command typed there runs on the board, Reset boots it again, Release ends it,
 * and the device runs its health check before the CI job that waited. The
 * reservation page's screenshot in docs/screenshots/ is written here.
 */
import { chromium, type Page } from "playwright-core";
import { stringify } from "yaml";
import { assertEquals } from "./support/assert.ts";
import { inlineTest, qemuJob } from "./support/dut.ts";
import { QEMU_DICTIONARY, startTestLab, waitForJob } from "./support/lab.ts";
import { CHROMIUM_ARGS } from "./support/chromium.ts";

const SCREENSHOTS = new URL("../docs/screenshots/", import.meta.url).pathname;
const WAIT_MS = 90_000;

/** What the page's terminal shows now. */
const screen = (page: Page) => page.textContent("[data-testid=console-screen] .xterm-rows").then((t) => t ?? "");

async function until(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    (wanted) => document.querySelector("[data-testid=console-screen] .xterm-rows")?.textContent?.includes(wanted),
    text,
    { timeout: WAIT_MS },
  );
}

Deno.test("a board reserved in the browser: its console in the page, a command, a reset, the release, then its health check", async () => {
  const lab = await startTestLab();
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await page.goto(`${lab.master.url}/login`);
    await page.fill("input[name=username]", "admin");
    await page.fill("input[name=token]", lab.token);
    await page.click("button[type=submit]");
    await page.waitForURL(`${lab.master.url}/`);

    await page.goto(`${lab.master.url}/devices/qemu01`);
    await page.fill("form[aria-label=reserve] input[name=minutes]", "10");
    await page.fill("form[aria-label=reserve] textarea[name=boot]", stringify(qemuJob({ name: "boot to a shell" })));
    await page.click("text=Reserve qemu01");
    await page.waitForURL(/\/jobs\/\d+$/);
    const id = page.url().split("/").at(-1)!;
    // A CI job waits behind it; the health check the device gets when it is released is set meanwhile.
    const ci = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify(qemuJob({ name: "ci", tests: [inlineTest("ci", ["lava-test-case ci --shell true"])] })),
    });
    lab.master.lab.labDir.setHealthCheck("qemu", stringify(qemuJob({ name: "health check" })));

    await page.waitForFunction(
      () => /power on.*you hold the keyboard/.test(document.querySelector("[data-console-status]")?.textContent ?? ""),
      null,
      { timeout: WAIT_MS },
    );
    // The screen as the boot left it, its shell's prompt last.
    await until(page, "/ # ");
    await page.click("[data-testid=console-screen]");
    await page.keyboard.type("touch /tmp/marker && echo marked-$((40+2))");
    await page.keyboard.press("Enter");
    await until(page, "marked-42");
    await page.screenshot({ path: `${SCREENSHOTS}reservation.png`, fullPage: true });

    await page.click("text=Reset");
    await page.waitForFunction(
      () => document.querySelector("[data-console-notice]")?.textContent === "power reset: done",
      null,
      { timeout: WAIT_MS },
    );
    // The board boots again: its kernel's messages push the old screen away, and its new shell's prompt comes last.
    await page.waitForFunction(
      () => {
        const rows = document.querySelector("[data-testid=console-screen] .xterm-rows")?.textContent ?? "";
        return !rows.includes("marked-42") && rows.trimEnd().endsWith("/ #");
      },
      null,
      { timeout: WAIT_MS },
    );
    // The button took the focus: back to the terminal.
    await page.click("[data-testid=console-screen]");
    await page.keyboard.type("ls /tmp/marker || echo gone-$((2+2))");
    await page.keyboard.press("Enter");
    await until(page, "gone-4");

    await page.click("text=Release");
    await page.waitForFunction(
      () => document.querySelector("[data-console-status]")?.textContent?.includes("the reservation has ended"),
      null,
      { timeout: WAIT_MS },
    );
    assertEquals((await waitForJob(lab, id, (d) => d.state === "Finished", WAIT_MS)).health, "Complete");
    const ciDone = await waitForJob(lab, ci.body.job_ids[0], (d) => d.state === "Finished", WAIT_MS * 2);
    assertEquals(ciDone.health, "Complete");
    const started = lab.events.filter((e) => e.kind === "testjob" && e.data.state === "Running")
      .map((e) => String(e.data.description));
    assertEquals(started.slice(-2), ["health check", "ci"]);
    assertEquals((await screen(page)).includes("gone-4"), true);
  } finally {
    await browser.close();
    await lab.close();
  }
});
