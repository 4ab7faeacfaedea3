import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { filterConditions, FilterError, orderingTerms } from "./filters.ts";

const SPEC = {
  description: { column: "j.description", kind: "text", lookups: ["exact", "icontains", "in"] },
  state: { column: "j.state", kind: { names: ["Submitted", "Running"] }, lookups: ["exact", "in"] },
  id: { column: "j.id", kind: "int", lookups: ["exact", "gt"] },
} as const;

Deno.test("filters the list does not declare, or lookups a field does not take, are ignored as django-filter ignores them", () => {
  assertEquals(filterConditions(SPEC, { nosuch: "1", description__gt: "x", limit: "5" }), undefined);
});

Deno.test("a value that is not of the field's kind is a 400 naming the field in django's words", () => {
  const error = assertThrows(() => filterConditions(SPEC, { state: "Nonsense" }), FilterError);
  assertEquals(Object.keys(error.errors), ["state"]);
  assertThrows(() => filterConditions(SPEC, { id__gt: "1; DROP TABLE x" }), FilterError, "Enter a number.");
  assertThrows(() => filterConditions(SPEC, { description: "a\0b" }), FilterError, "Null characters");
  assertThrows(() => filterConditions(SPEC, { state__in: "Running,Nonsense" }), FilterError);
});

Deno.test("ordering takes only declared fields, in order, with - for descending", () => {
  assertEquals(orderingTerms("-id,nosuch,submit_time", { id: "j.id", submit_time: "j.submit_time" }), [
    "j.id DESC",
    "j.submit_time ASC",
  ]);
});

Deno.test("a parameter ending in ! is the negation of its condition", () => {
  assertEquals(filterConditions(SPEC, { "state!": "Running" }) !== undefined, true);
  assertThrows(() => filterConditions(SPEC, { "state!": "Nonsense" }), FilterError);
});
