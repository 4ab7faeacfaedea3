import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { JobState } from "../../actors/domain/states.ts";
import { LabRequestError } from "../lab/request_error.ts";
import { boolParam, codeParam, intParam, optionalIntParam } from "./params.ts";

Deno.test("an absent integer parameter takes its fallback and a present one is read", () => {
  assertEquals(intParam(undefined, "offset", { fallback: 7 }), 7);
  assertEquals(intParam("", "offset", { fallback: 7 }), 7);
  assertEquals(intParam("42", "offset", { fallback: 0 }), 42);
  assertEquals(optionalIntParam(undefined, "end", {}), undefined);
});

Deno.test("an integer parameter that is not one, or out of range, is a 400 naming it", () => {
  for (const value of ["abc", "1e3", "NaN", "-1", "1.5", " 1", "9".repeat(20)]) {
    const error = assertThrows(() => intParam(value, "offset", { fallback: 0 }), LabRequestError, "offset");
    assertEquals(error.status, 400);
  }
  assertThrows(() => intParam("1001", "limit", { fallback: 0, max: 1000 }), LabRequestError, "between 0 and 1000");
});

Deno.test("boolean and code parameters refuse what they do not know", () => {
  assertEquals(boolParam("true", "all"), true);
  assertEquals(boolParam(undefined, "all"), false);
  assertThrows(() => boolParam("yes", "all"), LabRequestError, "all");
  assertEquals(codeParam("Running", "state", JobState), JobState.parse("Running"));
  assertThrows(() => codeParam("Sleeping", "state", JobState), LabRequestError, "state");
});
