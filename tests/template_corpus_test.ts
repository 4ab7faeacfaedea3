/**
 * Every device-type template of Debian's `lava-server` 2023.01 and of
 * ../shared/lava-examples, extended by three dictionaries and rendered with three job
 * contexts (tests/support/template_corpus.ts), renders in Basalt to the same YAML
 * document as in LAVA 2023.01's own Jinja2 environment, or fails where LAVA fails.
 */
import { isDeepStrictEqual } from "node:util";
import { loadYaml } from "../actors/definitions/yaml.ts";
import { type JinjaEnvironment, jinjaEnvironment } from "../master/devices/jinja.ts";
import { deviceResources } from "../worker/resources/device.ts";
import { assert } from "./support/assert.ts";
import { type CorpusCase, corpusCases, lavaRenders, type ReferenceRender } from "./support/template_corpus.ts";
import { testWithExamples } from "./support/lava_examples.ts";

type Verdict = { same: true; bytes: boolean } | { same: false; why: string };

function compare(basalt: ReferenceRender, lava: ReferenceRender): Verdict {
  if ("error" in lava || "error" in basalt) {
    if ("error" in lava && "error" in basalt) return { same: true, bytes: false };
    return {
      same: false,
      why: "error" in lava
        ? `LAVA fails (${lava.error}), Basalt renders`
        : `Basalt fails (${(basalt as { error: string }).error})`,
    };
  }
  if (basalt.output === lava.output) return { same: true, bytes: true };
  const ours = loadYaml(basalt.output);
  const theirs = loadYaml(lava.output);
  if (ours.errors.length === 0 && theirs.errors.length === 0 && isDeepStrictEqual(ours.value, theirs.value)) {
    return { same: true, bytes: false };
  }
  const a = basalt.output.split("\n");
  const b = lava.output.split("\n");
  const line = a.findIndex((text, i) => text !== b[i]);
  return {
    same: false,
    why: `line ${line + 1}: Basalt ${JSON.stringify(a[line])}, LAVA ${JSON.stringify(b[line])}`,
  };
}

function basaltRender(envs: Map<string, JinjaEnvironment>, c: CorpusCase): ReferenceRender {
  const key = JSON.stringify(c.template.paths);
  let env = envs.get(key);
  if (!env) envs.set(key, env = jinjaEnvironment(c.template.paths));
  try {
    return { output: env.renderString(c.dictionary, c.context, `${c.dictionaryName}.jinja2`) };
  } catch (error) {
    return { error: String(error) };
  }
}

testWithExamples("every LAVA 2023.01 device-type template renders to the YAML LAVA's Jinja2 renders", async () => {
  const cases = corpusCases();
  const lava = await lavaRenders(cases);
  const envs = new Map<string, JinjaEnvironment>();
  const differences: string[] = [];
  let bytes = 0;
  let failures = 0;
  cases.forEach((c, i) => {
    const verdict = compare(basaltRender(envs, c), lava[i]);
    if (verdict.same) {
      if (verdict.bytes) bytes++;
      if ("error" in lava[i]) failures++;
    } else {
      differences.push(
        `${c.template.label} (${c.dictionaryName} dictionary, ${c.contextName} context): ${verdict.why}`,
      );
    }
  });
  const templates = new Set(cases.map((c) => c.template.label)).size;
  const differing = new Set(differences.map((d) => d.split(" ")[0])).size;
  console.log(
    `template corpus: ${cases.length - differences.length} of ${cases.length} renders identical to LAVA's ` +
      `as parsed YAML (${bytes} byte for byte, ${failures} failing in both); ` +
      `${templates - differing} of ${templates} templates identical in every render`,
  );
  assert(differences.length === 0, `${differences.length} renders differ:\n${differences.slice(0, 20).join("\n")}`);

  // What a worker reads of each rendered configuration: every one LAVA renders must read without error.
  const unreadable: string[] = [];
  let read = 0;
  cases.forEach((c, i) => {
    const render = lava[i];
    if ("error" in render) return;
    const config = loadYaml(render.output).value;
    if (typeof config !== "object" || config === null) return;
    try {
      deviceResources(config as Record<string, unknown>);
      read++;
    } catch (error) {
      unreadable.push(`${c.template.label} (${c.dictionaryName}, ${c.contextName}): ${(error as Error).message}`);
    }
  });
  console.log(`device resources: ${read} of ${read + unreadable.length} rendered configurations read`);
  assert(unreadable.length === 0, `${unreadable.length} unreadable:\n${unreadable.slice(0, 20).join("\n")}`);
});
