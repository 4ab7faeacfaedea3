/**
 * The globals every template starts with, from Jinja2's DEFAULT_NAMESPACE:
 * `range()` (bounded, as the sandbox bounds it), `dict()`, `namespace()`,
 * `cycler()` and `joiner()`.
 */
import { JinjaError, typeError } from "./errors.ts";
import { bindArgs } from "./arguments.ts";
import { BuiltinFunction, type JinjaObject, NO_ATTRIBUTE, PyCallable, PyRange, pyStr, Undefined } from "./values.ts";
import { dictSet, dictUpdate, truthy } from "./operations.ts";
import { Namespace } from "./runtime.ts";

class Cycler implements JinjaObject {
  pos = 0;

  constructor(readonly items: unknown[]) {
    if (items.length === 0) throw new JinjaError("RuntimeError", "at least one item has to be provided");
  }

  attribute(name: string): unknown {
    switch (name) {
      case "items":
        return this.items;
      case "pos":
        return this.pos;
      case "current":
        return this.items[this.pos];
      case "next":
        return new BuiltinFunction("next", (args, kwargs) => {
          bindArgs("next", [], args, kwargs);
          const value = this.items[this.pos];
          this.pos = (this.pos + 1) % this.items.length;
          return value;
        });
      case "reset":
        return new BuiltinFunction("reset", (args, kwargs) => {
          bindArgs("reset", [], args, kwargs);
          this.pos = 0;
          return null;
        });
    }
    return NO_ATTRIBUTE;
  }

  repr(): string {
    return "<jinja2.utils.Cycler object>";
  }
}

class Joiner extends PyCallable implements JinjaObject {
  readonly pyName = "joiner";
  used = false;

  constructor(readonly sep: string) {
    super();
  }

  attribute(name: string): unknown {
    return name === "sep" ? this.sep : name === "used" ? this.used : NO_ATTRIBUTE;
  }

  call(args: unknown[], kwargs: Map<string, unknown>): unknown {
    bindArgs("joiner", [], args, kwargs);
    if (!this.used) {
      this.used = true;
      return "";
    }
    return this.sep;
  }

  override repr(): string {
    return "<jinja2.utils.Joiner object>";
  }
}

/** The sandbox's range: at most 100,000 items. */
const MAX_RANGE = 100000;

function toIndex(value: unknown): number {
  if (typeof value === "number" || typeof value === "boolean") return Number(value);
  if (value instanceof Undefined) value.fail();
  throw typeError(
    `'${
      value === null ? "NoneType" : typeof value === "string" ? "str" : "float"
    }' object cannot be interpreted as an integer`,
  );
}

function dictFrom(args: unknown[], kwargs: Map<string, unknown>): Map<unknown, unknown> {
  if (args.length > 1) throw typeError(`dict expected at most 1 argument, got ${args.length}`);
  const out = new Map<unknown, unknown>();
  if (args.length) dictUpdate(out, args[0]);
  for (const [k, v] of kwargs) dictSet(out, k, v);
  return out;
}

/** Jinja2's default globals, with the sandbox's range. */
export function defaultGlobals(): Map<string, unknown> {
  return new Map<string, unknown>([
    [
      "range",
      new BuiltinFunction("range", (args, kwargs) => {
        if (kwargs.size) throw typeError("range() takes no keyword arguments");
        if (args.length < 1 || args.length > 3) {
          throw typeError(`range expected at most 3 arguments, got ${args.length}`);
        }
        const [start, stop, step] = args.length === 1 ? [0, toIndex(args[0]), 1] : [
          toIndex(args[0]),
          toIndex(args[1]),
          args.length === 3 ? toIndex(args[2]) : 1,
        ];
        if (step === 0) throw new JinjaError("ValueError", "range() arg 3 must not be zero");
        const range = new PyRange(start, stop, step);
        if (range.length > MAX_RANGE) {
          throw new JinjaError(
            "OverflowError",
            `Range too big. The sandbox blocks ranges larger than MAX_RANGE (${MAX_RANGE}).`,
          );
        }
        return range;
      }),
    ],
    ["dict", new BuiltinFunction("dict", dictFrom)],
    ["namespace", new BuiltinFunction("namespace", (args, kwargs) => new Namespace(dictFrom(args, kwargs)))],
    [
      "cycler",
      new BuiltinFunction("cycler", (args, kwargs) => {
        if (kwargs.size) throw typeError("Cycler() got an unexpected keyword argument");
        return new Cycler(args);
      }),
    ],
    [
      "joiner",
      new BuiltinFunction("joiner", (args, kwargs) => {
        const { sep } = bindArgs("joiner", ["sep"], args, kwargs, { sep: ", " });
        return new Joiner(pyStr(sep));
      }),
    ],
  ]);
}

export { truthy };
