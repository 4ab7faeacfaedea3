/**
 * A job's results as the two report formats LAVA's REST API exports: JUnit
 * XML (the `junit_xml` package's layout: one `testsuite` per suite, a failed
 * case with its log lines, a skipped one marked) and TAP13 as `tappy`'s
 * streaming tracker writes it (plan first, a comment per suite).
 */
import type { Lab } from "../../lab/lab.ts";
import { lavaLogLine, readLogLines } from "../../storage/job_logs.ts";
import { restTime } from "../../views/mod.ts";

const MAX_CASES = 100_000;

function xml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!)
    // XML 1.0 has no place for other control characters.
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");
}

async function casesOf(lab: Lab, job: number) {
  return await lab.db.selectFrom("test_cases as t").innerJoin("test_suites as s", "s.id", "t.suite_id")
    .select([
      "s.id as suite_id",
      "s.name as suite",
      "t.name",
      "t.result",
      "t.metadata",
      "t.logged",
      "t.start_log_line",
      "t.end_log_line",
    ])
    .where("s.job_id", "=", job).orderBy("s.id").orderBy("t.id").limit(MAX_CASES).execute();
}

/** The log lines a failed case points at, as LAVA's YAML. */
async function caseLog(lab: Lab, job: number, start: number | null, end: number | null): Promise<string | undefined> {
  if (start === null || end === null) return undefined;
  const lines = await readLogLines(lab.db, job, { start, end, limit: 1000 });
  return lines.map(lavaLogLine).join("\n");
}

export async function junitReport(lab: Lab, job: number, classnamePrefix: string): Promise<string> {
  const prefix = classnamePrefix ? `${classnamePrefix}_` : "";
  const suites = Map.groupBy(await casesOf(lab, job), (c) => c.suite_id);
  let failures = 0;
  let total = 0;
  const parts: string[] = [];
  for (const cases of suites.values()) {
    const suite = cases[0].suite;
    const body: string[] = [];
    let suiteFailures = 0;
    let skipped = 0;
    for (const c of cases) {
      const duration = Number((c.metadata as { duration?: unknown } | null)?.duration);
      const time = Number.isFinite(duration) ? ` time="${duration}"` : "";
      const head = `\t\t<testcase name="${xml(c.name)}" classname="${xml(prefix + suite)}" timestamp="${
        restTime(c.logged)
      }"${time}`;
      if (c.result === 1) {
        suiteFailures++;
        const log = await caseLog(lab, job, c.start_log_line, c.end_log_line);
        body.push(
          `${head}>\n\t\t\t<failure type="failure" message="failed"${
            log ? `>${xml(log)}</failure>` : "/>"
          }\n\t\t</testcase>`,
        );
      } else if (c.result === 2) {
        skipped++;
        body.push(`${head}>\n\t\t\t<skipped type="skipped" message="skipped"/>\n\t\t</testcase>`);
      } else body.push(`${head}/>`);
    }
    failures += suiteFailures;
    total += cases.length;
    const last = cases.reduce((a, b) => (new Date(b.logged) > new Date(a.logged) ? b : a));
    parts.push(
      `\t<testsuite disabled="0" errors="0" failures="${suiteFailures}" name="${xml(suite)}" skipped="${skipped}" ` +
        `tests="${cases.length}" time="0" timestamp="${restTime(last.logged)}">\n${body.join("\n")}\n\t</testsuite>`,
    );
  }
  return `<?xml version="1.0" encoding="utf-8"?>\n<testsuites disabled="0" errors="0" failures="${failures}" ` +
    `tests="${total}" time="0.0">\n${parts.join("\n")}\n</testsuites>\n`;
}

export async function tap13Report(lab: Lab, job: number): Promise<string> {
  const cases = await casesOf(lab, job);
  const out = ["TAP version 13", `1..${cases.length}`];
  let suite: string | undefined;
  let n = 0;
  for (const c of cases) {
    if (c.suite !== suite) {
      suite = c.suite;
      out.push(`# TAP results for ${suite}`);
    }
    n++;
    const name = c.name.replace(/[\r\n#]/g, " ");
    if (c.result === 0) out.push(`ok ${n} ${name}`);
    else if (c.result === 2) out.push(`ok ${n} ${name} # SKIP test skipped`);
    else if (c.result === 3) out.push(`not ok ${n} ${name} # TODO unknown result`);
    else {
      out.push(`not ok ${n} ${name}`);
      const log = await caseLog(lab, job, c.start_log_line, c.end_log_line);
      if (log) out.push(" ---", ...log.split("\n").map((l) => ` ${l}`), " ...");
    }
  }
  return `${out.join("\n")}\n`;
}
