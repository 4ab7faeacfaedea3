/** LAVA's `results.*` methods: a job's test cases and suites as YAML or CSV, and its metadata. */
import { stringify } from "yaml";
import { casesAsCsv, casesAsYaml, exportCases, suiteSummary } from "../../lab/results.ts";
import { jobMetadata } from "../../views/mod.ts";
import type { XmlRpcInput } from "../xmlrpc.ts";
import { int, type Method, optionalInt, text, visibleJob } from "./context.ts";

export const RESULT_METHODS: Record<string, Method> = {
  "results.get_testjob_results_yaml": {
    help: "every test case of a job, as YAML",
    run: async (ctx, [job]) => casesAsYaml(await exportCases(ctx.lab.db, await visibleJob(ctx, job))),
  },
  "results.get_testjob_results_csv": {
    help: "every test case of a job, as CSV",
    run: async (ctx, [job]) => casesAsCsv(await exportCases(ctx.lab.db, await visibleJob(ctx, job))),
  },
  "results.get_testsuite_results_yaml": {
    help: "the test cases of one suite: (job, suite, limit, offset)",
    run: async (ctx, [job, suite, limit, offset]) =>
      casesAsYaml(
        await exportCases(ctx.lab.db, await visibleJob(ctx, job), {
          suite: text(suite, "suite"),
          limit: optionalInt(limit),
          offset: int(offset, 0),
        }),
      ),
  },
  "results.get_testsuite_results_csv": {
    help: "the test cases of one suite, as CSV",
    run: async (ctx, [job, suite]) =>
      casesAsCsv(await exportCases(ctx.lab.db, await visibleJob(ctx, job), { suite: text(suite, "suite") })),
  },
  "results.get_testsuite_results_count": {
    help: "how many test cases a suite has",
    run: async (ctx, [job, suite]) =>
      (await exportCases(ctx.lab.db, await visibleJob(ctx, job), { suite: text(suite, "suite") })).length,
  },
  "results.get_testcase_results_yaml": {
    help: "one test case: (job, suite, case)",
    run: async (ctx, [job, suite, testCase]) =>
      casesAsYaml(
        await exportCases(ctx.lab.db, await visibleJob(ctx, job), {
          suite: text(suite, "suite"),
          testCase: text(testCase, "case"),
        }),
      ),
  },
  "results.get_testcase_results_csv": {
    help: "one test case, as CSV",
    run: async (ctx, [job, suite, testCase]) =>
      casesAsCsv(
        await exportCases(ctx.lab.db, await visibleJob(ctx, job), {
          suite: text(suite, "suite"),
          testCase: text(testCase, "case"),
        }),
      ),
  },
  "results.get_testjob_suites_list_yaml": {
    help: "a job's suites",
    run: async (ctx, [job]) => stringify(await suiteSummary(ctx.lab.db, await visibleJob(ctx, job))),
  },
  "results.get_testjob_metadata": {
    help: "a job's metadata",
    run: async (ctx, [job]) => (await jobMetadata(ctx.lab, await visibleJob(ctx, job))) as XmlRpcInput,
  },
};
