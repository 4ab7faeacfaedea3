/**
 * `jobs/` in LAVA's REST API v0.2: the filtered, ordered, paginated list,
 * one job, submitting, validating, cancel and resubmit, and a job's log,
 * metadata, suites and tests and its results as JUnit, TAP13, CSV and YAML.
 */
import type { Context, Hono } from "hono";
import { stringify } from "yaml";
import { testDefinitionProblem } from "../../../actors/definitions/test_definition.ts";
import { validateJob } from "../../../actors/definitions/job_schema.ts";
import { loadYaml } from "../../../actors/definitions/yaml.ts";
import { TestResult } from "../../../actors/domain/states.ts";
import { casesAsCsv, casesAsYaml, exportCases } from "../../lab/results.ts";
import { SubmissionError } from "../../lab/submission.ts";
import type { Lab } from "../../lab/lab.ts";
import { assertVisible, jobMetadata, jobPage, mayCancel, restJob, restTime, resubmitJob } from "../../views/mod.ts";
import { lavaLogLine, readLogLines } from "../../storage/job_logs.ts";
import type { HttpEnv } from "../env.ts";
import { pageRequest, paginated, requestData, requiredText, RestError, writer } from "./shape.ts";
import { junitReport, tap13Report } from "./reports.ts";

/** The path's job id (LAVA's primary key: an integer), visible to the caller, else 404. */
async function visibleJob(lab: Lab, c: Context<HttpEnv>): Promise<number> {
  const text = c.req.param("id") ?? "";
  if (!/^\d{1,9}$/.test(text)) throw new RestError(404, "Not found.");
  await assertVisible(lab, Number(text), c.get("user"));
  return Number(text);
}

/** LAVA's answer: a job's id, or a MultiNode job's sub-ids. */
function submitted(c: Context<HttpEnv>, jobs: readonly { id: number; displayId: string | number; group?: string }[]) {
  const ids = jobs.length === 1 && !jobs[0].group ? [jobs[0].id] : jobs.map((j) => j.displayId);
  return c.json({ message: "job(s) successfully submitted", job_ids: ids }, 201);
}

async function submitOrExplain<T>(submit: () => Promise<T>): Promise<T> {
  try {
    return await submit();
  } catch (error) {
    if (error instanceof SubmissionError) {
      throw new RestError(400, error.message, { message: `Problem with submitted job data: ${error.message}` });
    }
    throw error;
  }
}

function attachment(c: Context<HttpEnv>, body: string, type: string, filename: string) {
  return c.body(body, 200, { "Content-Type": type, "Content-Disposition": `attachment; filename=${filename}` });
}

export function jobRoutesV02(api: Hono<HttpEnv>, lab: Lab): void {
  api.get("/jobs/", async (c) => {
    const page = pageRequest(c);
    const params = c.req.query();
    const { count, results } = await jobPage(lab, c.get("user"), { params, ordering: params.ordering, ...page });
    return c.json(paginated(c, page, count, results));
  });
  api.post("/jobs/", async (c) => {
    const user = writer(c);
    const definition = requiredText(await requestData(c), "definition");
    return submitted(c, await submitOrExplain(() => lab.submit(definition, user)));
  });
  api.post("/jobs/validate/", async (c) => {
    const data = await requestData(c);
    const definition = requiredText(data, "definition", "Test job definition is required.");
    const strict = data.strict === true || data.strict === "true" || data.strict === "True";
    const result = validateJob(definition, { strict });
    if (result.valid) return c.json({ message: "Job valid." });
    const first = result.errors[0];
    return c.json({ message: `Job invalid: ${first.message} (line ${first.line}, column ${first.column})` });
  });
  api.post("/jobs/validate_testdef/", async (c) => {
    const definition = requiredText(await requestData(c), "definition", "Test definition is required.");
    const loaded = loadYaml(definition);
    const problem = loaded.errors.length ? `invalid YAML: ${loaded.errors[0].message}` : testDefinitionProblem(
      loaded.value,
    );
    return c.json({ message: problem === undefined ? "Test definition valid." : `Test defnition invalid: ${problem}` });
  });
  api.get("/jobs/:id/", async (c) => {
    const text = c.req.param("id") ?? "";
    if (!/^\d{1,9}$/.test(text)) throw new RestError(404, "Not found.");
    return c.json(await restJob(lab, c.get("user"), Number(text)));
  });
  api.get("/jobs/:id/cancel/", async (c) => {
    const user = writer(c);
    const id = await visibleJob(lab, c);
    if (!await mayCancel(lab, id, user)) throw new RestError(403, "You do not have permission to perform this action.");
    await lab.cancel(id, `cancelled by ${user.username}`);
    return c.json({ message: "Job cancel signal sent." });
  });
  api.post("/jobs/:id/resubmit/", async (c) => {
    const user = writer(c);
    const id = await visibleJob(lab, c);
    return submitted(c, await submitOrExplain(() => resubmitJob(lab, id, user)));
  });
  api.get("/jobs/:id/logs/", async (c) => {
    const id = await visibleJob(lab, c);
    const int = (t: string | undefined) => (t !== undefined && /^\d{1,9}$/.test(t) ? Number(t) : undefined);
    const start = int(c.req.query("start")) ?? 0;
    const end = int(c.req.query("end"));
    const records = await readLogLines(lab.db, id, { start, end, limit: 100_000 });
    if (records.length === 0) throw new RestError(404, "Not found.");
    return attachment(c, records.map(lavaLogLine).join("\n") + "\n", "application/yaml", `job_${id}.yaml`);
  });
  api.get("/jobs/:id/metadata/", async (c) => c.json({ metadata: await jobMetadata(lab, await visibleJob(lab, c)) }));
  api.get("/jobs/:id/csv/", async (c) => {
    const id = await visibleJob(lab, c);
    return attachment(c, casesAsCsv(await exportCases(lab.db, id)), "application/csv", `job_${id}.csv`);
  });
  api.get("/jobs/:id/yaml/", async (c) => {
    const id = await visibleJob(lab, c);
    return attachment(c, casesAsYaml(await exportCases(lab.db, id)), "application/yaml", `job_${id}.yaml`);
  });
  api.get("/jobs/:id/junit/", async (c) => {
    const id = await visibleJob(lab, c);
    const prefix = c.req.query("classname_prefix") ?? "";
    return attachment(c, await junitReport(lab, id, prefix), "application/xml", `job_${id}.xml`);
  });
  api.get("/jobs/:id/tap13/", async (c) => {
    const id = await visibleJob(lab, c);
    return attachment(c, await tap13Report(lab, id), "application/yaml", `job_${id}.yaml`);
  });
  api.get("/jobs/:id/suites/", async (c) => {
    const id = await visibleJob(lab, c);
    const page = pageRequest(c);
    const base = lab.db.selectFrom("test_suites").where("job_id", "=", id);
    const [{ count }, rows] = await Promise.all([
      base.select((eb) => eb.fn.countAll<string>().as("count")).executeTakeFirstOrThrow(),
      base.select(["id", "name"]).orderBy("id").offset(page.offset).limit(page.limit).execute(),
    ]);
    const origin = new URL(c.req.url).origin;
    return c.json(paginated(c, page, Number(count), rows.map((s) => suiteRow(origin, id, s))));
  });
  api.get("/jobs/:id/suites/:suite/", async (c) => {
    const id = await visibleJob(lab, c);
    const row = await lab.db.selectFrom("test_suites").select(["id", "name"]).where("job_id", "=", id)
      .where("id", "=", pathInt(c.req.param("suite"))).executeTakeFirst();
    if (!row) throw new RestError(404, "Not found.");
    return c.json(suiteRow(new URL(c.req.url).origin, id, row));
  });
  const tests = async (c: Context<HttpEnv>, suite?: number) => {
    const id = await visibleJob(lab, c);
    const page = pageRequest(c);
    let base = lab.db.selectFrom("test_cases as t").innerJoin("test_suites as s", "s.id", "t.suite_id")
      .where("s.job_id", "=", id);
    if (suite !== undefined) base = base.where("s.id", "=", suite);
    const result = c.req.query("result");
    if (result !== undefined) {
      const code = TestResult.names.indexOf(result.toLowerCase() as never);
      if (code < 0) {
        throw new RestError(400, "result", {
          result: [
            `Select a valid choice. ${result} is not one of the available choices: ['pass', 'fail', 'skip', 'unknown']`,
          ],
        });
      }
      base = base.where("t.result", "=", code);
    }
    const [{ count }, rows] = await Promise.all([
      base.select((eb) => eb.fn.countAll<string>().as("count")).executeTakeFirstOrThrow(),
      base.selectAll("t").orderBy("t.id").offset(page.offset).limit(page.limit).execute(),
    ]);
    const origin = new URL(c.req.url).origin;
    return c.json(paginated(c, page, Number(count), rows.map((t) => testRow(origin, id, t))));
  };
  api.get("/jobs/:id/tests/", (c) => tests(c));
  api.get("/jobs/:id/suites/:suite/tests/", (c) => tests(c, pathInt(c.req.param("suite"))));
  const oneTest = async (c: Context<HttpEnv>, suite?: number) => {
    const id = await visibleJob(lab, c);
    let query = lab.db.selectFrom("test_cases as t").innerJoin("test_suites as s", "s.id", "t.suite_id")
      .selectAll("t").where("s.job_id", "=", id).where("t.id", "=", pathInt(c.req.param("test")));
    if (suite !== undefined) query = query.where("s.id", "=", suite);
    const row = await query.executeTakeFirst();
    if (!row) throw new RestError(404, "Not found.");
    return c.json(testRow(new URL(c.req.url).origin, id, row));
  };
  api.get("/jobs/:id/tests/:test/", (c) => oneTest(c));
  api.get("/jobs/:id/suites/:suite/tests/:test/", (c) => oneTest(c, pathInt(c.req.param("suite"))));
  for (const format of ["csv", "yaml"] as const) {
    api.get(`/jobs/:id/suites/:suite/${format}/`, async (c) => {
      const id = await visibleJob(lab, c);
      const suite = await lab.db.selectFrom("test_suites").select("name").where("job_id", "=", id)
        .where("id", "=", pathInt(c.req.param("suite"))).executeTakeFirst();
      if (!suite) throw new RestError(404, "Not found.");
      const cases = await exportCases(lab.db, id, { suite: suite.name });
      return format === "csv"
        ? attachment(c, casesAsCsv(cases), "application/csv", `suite_${suite.name}.csv`)
        : attachment(c, casesAsYaml(cases), "application/yaml", `suite_${suite.name}.yaml`);
    });
  }
}

function pathInt(text: string | undefined): number {
  if (!text || !/^\d{1,15}$/.test(text)) throw new RestError(404, "Not found.");
  return Number(text);
}

function suiteRow(origin: string, job: number, s: { id: number; name: string }) {
  return { id: s.id, resource_uri: `${origin}/api/v0.2/jobs/${job}/suites/${s.id}/`, name: s.name, job };
}

interface CaseRow {
  id: number;
  suite_id: number;
  test_set_id: number | null;
  name: string;
  result: number;
  measurement: string | null;
  units: string;
  metadata: unknown;
  start_log_line: number | null;
  end_log_line: number | null;
  logged: Date | string;
}

/** A test case as the v0.2 serializer shows it: the result's name, `unit`, the metadata as LAVA's YAML text. */
function testRow(origin: string, job: number, t: CaseRow) {
  return {
    id: t.id,
    resource_uri: `${origin}/api/v0.2/jobs/${job}/suites/${t.suite_id}/tests/${t.id}/`,
    result: TestResult.name(t.result),
    unit: t.units,
    name: t.name,
    measurement: t.measurement === null ? null : Number(t.measurement).toFixed(10),
    metadata: t.metadata === null ? null : stringify(t.metadata),
    start_log_line: t.start_log_line,
    end_log_line: t.end_log_line,
    logged: restTime(t.logged),
    suite: t.suite_id,
    test_set: t.test_set_id,
  };
}
