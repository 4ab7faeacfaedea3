import { assertEquals } from "../../../tests/support/assert.ts";
import { exampleDevice, pipelineOf } from "../../../tests/support/pipelines.ts";
import { testWithExamples } from "../../../tests/support/lava_examples.ts";

const device = () => exampleDevice("bbb-01", "beaglebone-black");

function job(deploy: Record<string, unknown>): Record<string, unknown> {
  return {
    device_type: "beaglebone-black",
    job_name: "deploys",
    timeouts: { job: { minutes: 10 }, action: { minutes: 2 } },
    actions: [{ deploy }],
  };
}

const tree = (action: { name: string; pipeline: readonly unknown[] }): unknown => [
  action.name,
  (action.pipeline as { name: string; pipeline: readonly unknown[] }[]).map(tree),
];

testWithExamples("a download deploy is LAVA's download-deploy: one download-retry per image", () => {
  const pipeline = pipelineOf(
    job({ to: "downloads", images: { firmware: { url: "http://example.com/fw.bin" } } }),
    device(),
  );
  assertEquals([pipeline.actions[0].summary, tree(pipeline.actions[0])], [
    "download deployment",
    ["download-deploy", [["download-retry", [["http-download", []]]]]],
  ]);
});

testWithExamples("an overlay deploy only builds the test overlay", () => {
  const pipeline = pipelineOf(job({ to: "overlay" }), device());
  assertEquals(pipeline.actions[0].pipeline.map((a) => a.name), ["lava-overlay", "deploy-device-env"]);
});
