import { loadYaml } from "./yaml.ts";
import { assertEquals } from "../../tests/support/assert.ts";
import { testDefinitionProblem } from "./test_definition.ts";

const SHARED = new URL("../../../shared/test-definitions/", import.meta.url);

// Linaro's test-definitions beside the repository (../shared): a clone without them checks none.
Deno.test("every shared real-world test definition is valid", async () => {
  const files: string[] = [];
  const walk = async (dir: URL) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir));
      else if (/\.ya?ml$/.test(entry.name) && dir.pathname.includes("/automated/")) {
        files.push(new URL(entry.name, dir).pathname);
      }
    }
  };
  try {
    await walk(SHARED);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  for (const file of files) {
    const data = loadYaml(await Deno.readTextFile(file)).value as { metadata?: { format?: string } } | undefined;
    if (data?.metadata?.format) assertEquals(testDefinitionProblem(data), undefined, file);
  }
});

Deno.test("a test definition's first problem is named with voluptuous's path", () => {
  assertEquals(testDefinitionProblem({}), "required key not provided @ data['metadata']");
  assertEquals(
    testDefinitionProblem({ metadata: { format: "Lava-Test Test Definition 2.0", name: "x" } }),
    "not a valid value for dictionary value @ data['metadata']['format']",
  );
  assertEquals(
    testDefinitionProblem({
      metadata: { format: "Lava-Test Test Definition 1.0", name: "x" },
      run: { steps: ["ok", 3] },
    }),
    "expected str @ data['run']['steps'][1]",
  );
  assertEquals(
    testDefinitionProblem({ metadata: { format: "Lava-Test Test Definition 1.0", name: "x" }, run: { steps: ["a"] } }),
    undefined,
  );
});
