/**
 * 10,000 mutated job files thrown at the validator: none may make it throw, and
 * every verdict is "valid" or a list of errors with positions.
 */
import { stringify } from "yaml";
import { assert } from "../../tests/support/assert.ts";
import { exampleFiles, testWithExamples } from "../../tests/support/lava_examples.ts";
import { SeededRandom } from "../../tests/support/random.ts";
import { validateJob } from "./job_schema.ts";
import { loadYaml } from "./yaml.ts";

type Json = unknown;

const WORDS = ["to", "method", "timeout", "minutes", "role", "definitions", "images", "url", "lava", "", "0", "-1"];

function randomValue(random: SeededRandom, depth = 0): Json {
  switch (random.int(depth > 2 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return random.int(2) === 0;
    case 2:
      return random.pick([0, -1, 1, 101, 2 ** 53, 1.5, -0.5, 1e308]);
    case 3:
      return random.pick(WORDS);
    case 4:
      return "x".repeat(random.int(300));
    case 5:
      return String.fromCharCode(...Array.from({ length: random.int(20) }, () => random.int(0x3000)));
    case 6:
      return Array.from({ length: random.int(4) }, () => randomValue(random, depth + 1));
    case 7:
      return Object.fromEntries(
        Array.from({ length: random.int(4) }, () => [random.pick(WORDS), randomValue(random, depth + 1)]),
      );
    default:
      return { minutes: random.pick([0, 1, "5", null, -3]) };
  }
}

/** Picks a random container inside `root` and mutates one of its entries. */
function mutate(root: Json, random: SeededRandom): void {
  let node = root as Record<string, Json> | Json[];
  for (let depth = 0; depth < 6; depth++) {
    const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    const key = random.pick(keys as (string | number)[]);
    const child = (node as Record<string | number, Json>)[key];
    if (typeof child === "object" && child !== null && random.int(3) > 0) {
      node = child as Record<string, Json>;
      continue;
    }
    const target = node as Record<string | number, Json>;
    switch (random.int(6)) {
      case 0:
        if (Array.isArray(node)) node.splice(key as number, 1);
        else delete target[key];
        break;
      case 1:
        target[key] = randomValue(random);
        break;
      case 2:
        if (!Array.isArray(node)) target[random.pick(WORDS) || "k"] = randomValue(random);
        else node.push(randomValue(random));
        break;
      case 3:
        target[key] = [child];
        break;
      case 4:
        if (!Array.isArray(node)) {
          delete target[key];
          target[`${key}_`] = child;
        }
        break;
      default:
        target[key] = structuredClone(root);
    }
    return;
  }
}

function mutateText(text: string, random: SeededRandom): string {
  const at = random.int(text.length + 1);
  switch (random.int(5)) {
    case 0:
      return text.slice(0, at) + text.slice(at + random.int(40));
    case 1:
      return text.slice(0, at) +
        random.pick([":", "- ", "{", "[", "'", '"', "\n  ", "\t", "&a ", "*a", "!!str ", "? "]) +
        text.slice(at);
    case 2: {
      const lines = text.split("\n");
      const n = random.int(lines.length);
      lines.splice(n, 0, lines[random.int(lines.length)]);
      return lines.join("\n");
    }
    case 3:
      return text.slice(0, at);
    default:
      return text.replace(/minutes: \d+/, `minutes: ${random.pick(["0", "-5", "x", "", "[1]"])}`);
  }
}

testWithExamples("10,000 mutated job files never make the validator throw, and every error has a position", () => {
  const random = new SeededRandom(4242);
  const seeds = exampleFiles("jobs").map(([, , text]) => ({ text, value: loadYaml(text).value }));
  let invalid = 0;
  for (let i = 0; i < 10_000; i++) {
    const seed = random.pick(seeds);
    let text: string;
    if (random.int(3) === 0) {
      text = seed.text;
      for (let m = 0; m <= random.int(3); m++) text = mutateText(text, random);
    } else {
      const value = structuredClone(seed.value);
      for (let m = 0; m <= random.int(4); m++) mutate(value, random);
      text = random.int(4) === 0 ? JSON.stringify(value) : stringify(value);
    }
    const result = validateJob(text, { file: `mutant-${i}.yaml`, strict: random.int(2) === 0 });
    assert(result.valid === (result.errors.length === 0), `mutant ${i}: verdict and errors agree`);
    if (!result.valid) invalid++;
    for (const error of result.errors) {
      assert(
        error.file === `mutant-${i}.yaml` && error.line >= 1 && error.column >= 1,
        `mutant ${i}: ${JSON.stringify(error)}`,
      );
      assert(typeof error.message === "string" && error.message.length > 0, `mutant ${i}: a message`);
    }
  }
  // Most mutants break something; a fuzzer that only made valid files would prove nothing.
  assert(invalid > 7000, `${invalid} of 10,000 mutants were invalid`);
});
