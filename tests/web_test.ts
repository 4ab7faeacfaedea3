/**
 * The web UI in real Chromium (Debian's, driven by playwright-core) against a
 * running master with a worker and the QEMU device: a job submitted through the
 * API appears on the overview without a reload, its log streams in live, its
 * state machine highlights the current state, it is cancelled from its page,
 * and the device's maintenance toggle changes its health; an admin adds a device
 * through its form (the dictionary previewed first) and changes its type. The
 * screenshots in docs/screenshots/ are written here.
 */
import { chromium } from "playwright-core";
import { stringify } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { inlineTest, qemuJob } from "./support/dut.ts";
import { QEMU_DICTIONARY, startTestLab, waitForJob } from "./support/lab.ts";
import { webLogin } from "./support/web_login.ts";
import { CHROMIUM_ARGS } from "./support/chromium.ts";
import { addLabGroup } from "../master/lab/admin/people.ts";
import { addUser, issueToken } from "../master/storage/users.ts";

const SCREENSHOTS = new URL("../docs/screenshots/", import.meta.url).pathname;

Deno.test("the web UI shows a job live from submission to cancel, with its log and state machine", async () => {
  const lab = await startTestLab();
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${lab.master.url}/login`);
    await page.fill("input[name=username]", "admin");
    await page.fill("input[name=token]", lab.token);
    await page.click("button[type=submit]");
    await page.waitForURL(`${lab.master.url}/`);
    await page.waitForSelector(".live-dot", { timeout: 10_000 });

    const job = qemuJob({
      name: "web ui",
      tests: [inlineTest("slow", ["for i in $(seq 1 5); do echo web-line-$i; sleep 0.2; done", "sleep 600"])],
    });
    const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition: stringify(job) });
    const id = submitted.body.job_ids[0];
    // The overview learns of the job from the event stream: no reload.
    await page.waitForSelector(`tr[data-job="${id}"]`, { timeout: 15_000 });
    await waitForJob(lab, id, (d) => d.state === "Running", 30_000);
    await page.waitForFunction(
      (jobId) => document.querySelector(`tr[data-job="${jobId}"]`)?.textContent?.includes("Running"),
      id,
      { timeout: 15_000 },
    );
    await page.screenshot({ path: `${SCREENSHOTS}overview.png`, fullPage: true });

    await page.goto(`${lab.master.url}/jobs/${id}`);
    await page.waitForFunction(() => document.querySelector(".log-box")?.textContent?.includes("web-line-5"), null, {
      timeout: 60_000,
    });
    const count = await page.textContent("[data-testid=log-count]");
    assertStringIncludes(count ?? "", "live");
    await page.screenshot({ path: `${SCREENSHOTS}job.png`, fullPage: true });

    const machine = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await machine.context().addCookies(await page.context().cookies());
    await machine.goto(`${lab.master.url}/machines/job/${id}`);
    assertEquals(await machine.textContent("[data-testid=current-state]"), "Running");
    assert(await machine.$('g.state.current[data-state="Running"]'), "the Running state is highlighted");
    await machine.screenshot({ path: `${SCREENSHOTS}state-machine.png`, fullPage: true });

    // Cancel from the job page; both pages follow without a reload.
    await page.click("text=Cancel job");
    await page.waitForFunction(
      () => document.querySelector("[data-testid=job-health]")?.textContent === "Canceled",
      null,
      { timeout: 60_000 },
    );
    await machine.waitForFunction(
      () => document.querySelector("[data-testid=current-state]")?.textContent === "Finished",
      null,
      { timeout: 10_000 },
    );
    assert(await machine.$('g.state.current[data-state="Finished"]'), "the highlight moved to Finished");

    await page.goto(`${lab.master.url}/devices/qemu01`);
    await page.fill("input[name=reason]", "replacing the serial cable");
    await page.click("text=Put in maintenance");
    await page.waitForURL(`${lab.master.url}/devices/qemu01`);
    assertEquals(await page.textContent("[data-testid=device-health] .badge"), "Maintenance");
    assertStringIncludes(await page.textContent("[data-testid=device-health]") ?? "", "replacing the serial cable");
    assertEquals(lab.master.lab.deviceStatus("qemu01")?.health, "Maintenance");
  } finally {
    await browser.close();
    await lab.close();
  }
});

Deno.test("pages work without JavaScript and refuse forms from elsewhere", async () => {
  const lab = await startTestLab();
  try {
    await lab.addWorker("w1", { start: false });
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const html = await fetch(`${lab.master.url}/`).then((r) => r.text());
    assertStringIncludes(html, 'data-device="qemu01"');
    assertStringIncludes(html, "<main");
    // A form posted without the session's token (another site's page, say) changes nothing.
    const { cookie } = await webLogin(lab.master.url, "admin", lab.token);
    const forged = await fetch(`${lab.master.url}/web/devices/qemu01/health`, {
      method: "POST",
      headers: { Cookie: cookie },
      body: new URLSearchParams({ health: "Retired", reason: "forged" }),
      redirect: "manual",
    });
    assertEquals(forged.status, 403);
    await forged.body?.cancel();
    const api = await fetch(`${lab.master.url}/api/v1/devices/qemu01/health`, {
      method: "POST",
      headers: { Cookie: cookie, "Content-Type": "application/json" },
      body: JSON.stringify({ health: "Retired" }),
    });
    assertEquals(api.status, 403);
    await api.body?.cancel();
    assertEquals(lab.master.lab.deviceStatus("qemu01")?.health, "Good");
  } finally {
    await lab.close();
  }
});

Deno.test("an admin adds a device through its form, previewing the dictionary, and changes its type's settings", async () => {
  const lab = await startTestLab();
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    // No worker process: the device's jobs wait in the queue, where the device-type page shows them.
    await lab.addWorker("w1", { start: false });
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const { db } = lab.master.storage;
    await addUser(db, { username: "bob" });
    const bob = await issueToken(db, "bob");
    await addLabGroup(lab.master.lab, { id: 0, username: "admin", is_superuser: true }, "kernel-team", ["bob"]);
    await lab.api("POST", "/api/v1/jobs", { definition: stringify(qemuJob({ name: "waiting for a worker" })) });

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${lab.master.url}/login`);
    await page.fill("input[name=username]", "admin");
    await page.fill("input[name=token]", lab.token);
    await page.click("button[type=submit]");
    await page.waitForURL(`${lab.master.url}/`);

    await page.goto(`${lab.master.url}/devices`);
    await page.click("text=Add a device");
    await page.fill("input[name=hostname]", "qemu02");
    await page.fill("input[name=description]", "the second QEMU guest");
    await page.fill("input[name=tags]", "kvm, big-ram");
    // A dictionary that does not render is shown as such, and saving it is refused with the same reason.
    await page.fill("[data-testid=dictionary]", "{% extends 'qemu.jinja2' %}\n{% set memory = %}\n");
    await page.click("button[value=preview]");
    await page.waitForSelector("[data-testid=preview] .error");
    await page.click("button[value=save]");
    await page.waitForSelector("[data-testid=preview] .error");
    assertEquals(lab.master.lab.catalog.devices.has("qemu02"), false);
    await page.fill("[data-testid=dictionary]", "{% extends 'qemu.jinja2' %}\n{% set memory = 512 %}\n");
    await page.click("button[value=preview]");
    await page.waitForSelector("[data-testid=preview] pre");
    assertStringIncludes(await page.textContent("[data-testid=preview] pre") ?? "", "512");
    await page.screenshot({ path: `${SCREENSHOTS}device-form.png`, fullPage: true });
    await page.click("button[value=save]");
    await page.waitForURL(`${lab.master.url}/devices/qemu02`);
    assertEquals(await page.textContent("[data-testid=device-health] .badge"), "Maintenance");
    assertStringIncludes(await page.textContent("[data-testid=change-record]") ?? "", "added (qemu on w1)");
    assertEquals([...lab.master.lab.catalog.devices.get("qemu02")!.tags], ["big-ram", "kvm"]);

    await page.click("text=Change this device");
    await page.fill("input[name=tags]", "kvm");
    await page.click("button[value=save]");
    await page.waitForURL(`${lab.master.url}/devices/qemu02`);
    assertEquals([...lab.master.lab.catalog.devices.get("qemu02")!.tags], ["kvm"]);

    await page.goto(`${lab.master.url}/workers`);
    await page.fill("form[aria-label='add a worker'] input[name=name]", "w2");
    await page.click("form[aria-label='add a worker'] button[type=submit]");
    await page.waitForURL(`${lab.master.url}/workers/w2`);
    assert(lab.master.lab.catalog.workers.has("w2"));

    await page.goto(`${lab.master.url}/device-types/qemu`);
    await page.fill("input[name=health_frequency]", "12");
    await page.selectOption("select[name=health_denominator]", "jobs");
    await page.click("form[aria-label='device type settings'] button[type=submit]");
    await page.waitForURL(`${lab.master.url}/device-types/qemu`);
    assertEquals(lab.master.lab.catalog.deviceTypes.get("qemu")?.healthFrequency, 12);
    await page.selectOption("form[aria-label='grant a permission'] select[name=permission]", "submit");
    await page.click("form[aria-label='grant a permission'] button[value=grant]");
    await page.waitForURL(`${lab.master.url}/device-types/qemu`);
    assertStringIncludes(
      await page.textContent("[data-testid=change-record]") ?? "",
      "submit granted to group kernel-team",
    );
    assertStringIncludes(await page.textContent("main") ?? "", "waiting for a worker");
    await page.screenshot({ path: `${SCREENSHOTS}device-type.png`, fullPage: true });

    // Bob is no administrator: no form for him, and a form posted anyway is refused.
    const session = await webLogin(lab.master.url, "bob", bob.token);
    const newPage = await fetch(`${lab.master.url}/devices/new`, { headers: { Cookie: session.cookie } });
    assertEquals(newPage.status, 403);
    await newPage.body?.cancel();
    const posted = await fetch(`${lab.master.url}/web/devices`, {
      method: "POST",
      headers: { Cookie: session.cookie, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        csrf: session.csrf,
        action: "save",
        hostname: "bobs",
        device_type: "qemu",
        worker: "w1",
        dictionary: QEMU_DICTIONARY,
      }),
      redirect: "manual",
    });
    assertEquals(posted.status, 403);
    await posted.body?.cancel();
    assertEquals(lab.master.lab.catalog.devices.has("bobs"), false);

    // Bob sets himself a password, logs in with it, and cannot change it without it.
    const setPassword = (current: string, password: string) =>
      fetch(`${lab.master.url}/web/password`, {
        method: "POST",
        headers: { Cookie: session.cookie, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ csrf: session.csrf, current, password }),
        redirect: "manual",
      }).then(async (r) => (await r.body?.cancel(), r.status));
    assertEquals(await setPassword("", "bob's long passphrase"), 303);
    await webLogin(lab.master.url, "bob", "bob's long passphrase");
    const withSession = await webLogin(lab.master.url, "bob", bob.token);
    const wrong = await fetch(`${lab.master.url}/web/password`, {
      method: "POST",
      headers: { Cookie: withSession.cookie, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf: withSession.csrf, current: "not it at all", password: "another passphrase" }),
      redirect: "manual",
    });
    assertEquals(wrong.status, 403);
    await wrong.body?.cancel();
  } finally {
    await browser.close();
    await lab.close();
  }
});
