/**
 * LAVA's REST filters (django-filter's `field__lookup=value`) read into SQL:
 * each list declares which fields it may be filtered on, of what kind, with
 * which lookups; a parameter it does not declare is ignored, as django-filter
 * ignores it, and a value that is not of the field's kind is a 400 naming the
 * field, in django's words; `field!=value` negates, as drf-filters does.
 * Ordering (`ordering=-id,submit_time`) likewise takes only the fields a list
 * declares.
 */
import { type Expression, sql, type SqlBool } from "kysely";
import { LabRequestError } from "../lab/request_error.ts";

export type Lookup =
  | "exact"
  | "iexact"
  | "in"
  | "contains"
  | "icontains"
  | "startswith"
  | "endswith"
  | "lt"
  | "gt"
  | "lte"
  | "gte"
  | "isnull";

export const TEXT_LOOKUPS: readonly Lookup[] = [
  "exact",
  "iexact",
  "in",
  "contains",
  "icontains",
  "startswith",
  "endswith",
];
export const NUMBER_LOOKUPS: readonly Lookup[] = ["exact", "in", "lt", "gt", "lte", "gte"];
export const TIME_LOOKUPS: readonly Lookup[] = ["exact", "lt", "gt", "lte", "gte", "isnull"];

/** A vocabulary of display names stored as codes (a state, a health). */
export interface Choices {
  readonly names: readonly string[];
}

export interface FilterField {
  /** The SQL it compares, e.g. `j.description` (a fixed string of the list's own, never the request's). */
  readonly column: string;
  readonly kind: "text" | "int" | "bool" | "time" | Choices;
  readonly lookups: readonly Lookup[];
  /** A many-to-many field: the condition holds when some row of this subquery's `value` matches. */
  readonly through?: { readonly table: string; readonly key: string; readonly owner: string };
}

export type FilterSpec = Readonly<Record<string, FilterField>>;

const LOOKUPS = new Set<string>([...TEXT_LOOKUPS, ...NUMBER_LOOKUPS, ...TIME_LOOKUPS]);

function invalid(field: string, message: string): never {
  throw new FilterError({ [field]: [message] });
}

/** A filter value the field does not take: answered 400 with django's `{field: [message]}`. */
export class FilterError extends LabRequestError {
  constructor(readonly errors: Record<string, string[]>) {
    super(Object.entries(errors).map(([k, v]) => `${k}: ${v.join(" ")}`).join("; "), 400);
  }
}

function value(field: string, spec: FilterField, text: string): unknown {
  // django's form fields refuse NUL (PostgreSQL's text cannot hold it).
  if (text.includes("\0")) invalid(field, "Null characters are not allowed.");
  const kind = spec.kind;
  if (kind === "text") return text;
  if (kind === "int") {
    if (!/^-?\d{1,15}$/.test(text)) invalid(field, "Enter a number.");
    return Number(text);
  }
  if (kind === "bool") {
    const lower = text.toLowerCase();
    if (["true", "1", "yes"].includes(lower)) return true;
    if (["false", "0", "no"].includes(lower)) return false;
    invalid(field, "Select a valid choice.");
  }
  if (kind === "time") {
    const date = new Date(text);
    if (text.length > 40 || Number.isNaN(date.getTime())) invalid(field, "Enter a valid date/time.");
    return date;
  }
  const code = kind.names.indexOf(text);
  if (code < 0) {
    invalid(
      field,
      `Select a valid choice. ${text} is not one of the available choices: (${
        kind.names.map((n) => `'${n}'`).join(", ")
      })`,
    );
  }
  return code;
}

function likePattern(text: string, before: string, after: string): string {
  return `${before}${text.replace(/[\\%_]/g, (c) => `\\${c}`)}${after}`;
}

/** One parameter's condition on `column`, or undefined for a lookup the field does not take. */
function condition(name: string, spec: FilterField, lookup: Lookup, text: string) {
  const column = sql.raw(spec.column);
  if (text.includes("\0")) invalid(name, "Null characters are not allowed.");
  if (lookup === "isnull") {
    const isNull = ["true", "1"].includes(text.toLowerCase());
    return isNull ? sql<SqlBool>`${column} IS NULL` : sql<SqlBool>`${column} IS NOT NULL`;
  }
  if (lookup === "in") {
    const items = text.split(",").slice(0, 1000).map((t) => value(name, spec, t));
    if (items.length === 0) return sql<SqlBool>`false`;
    return sql<SqlBool>`${column} IN (${sql.join(items)})`;
  }
  if (["contains", "icontains", "startswith", "endswith", "iexact"].includes(lookup)) {
    const op = lookup === "contains" || lookup === "startswith" || lookup === "endswith" ? "LIKE" : "ILIKE";
    const pattern = lookup === "iexact"
      ? likePattern(text, "", "")
      : likePattern(text, lookup === "startswith" ? "" : "%", lookup === "endswith" ? "" : "%");
    return sql<SqlBool>`${column}::text ${sql.raw(op)} ${pattern}`;
  }
  const v = value(name, spec, text);
  const op = { exact: "=", lt: "<", gt: ">", lte: "<=", gte: ">=" }[lookup as "exact"];
  return sql<SqlBool>`${column} ${sql.raw(op)} ${v}`;
}

/** The conditions `params` ask for under `spec` (AND-ed), for a kysely `where`. */
export function filterConditions(
  spec: FilterSpec,
  params: Record<string, string>,
): Expression<SqlBool> | undefined {
  const parts: Expression<SqlBool>[] = [];
  for (const [given, text] of Object.entries(params)) {
    // drf-filters' negation: `state!=Finished` arrives as the parameter `state!`.
    const negated = given.endsWith("!");
    const param = negated ? given.slice(0, -1) : given;
    const split = param.lastIndexOf("__");
    let [field, lookup] = [param, "exact"];
    if (split > 0 && LOOKUPS.has(param.slice(split + 2))) {
      [field, lookup] = [param.slice(0, split), param.slice(split + 2)];
    }
    const entry = Object.hasOwn(spec, field) ? spec[field] : undefined;
    if (!entry || !entry.lookups.includes(lookup as Lookup)) continue;
    const inner = condition(param, entry, lookup as Lookup, text);
    const t = entry.through;
    const part = t
      ? sql<SqlBool>`EXISTS (SELECT 1 FROM ${sql.table(t.table)} WHERE ${sql.ref(`${t.table}.${t.key}`)} = ${
        sql.raw(t.owner)
      } AND ${inner})`
      : inner;
    parts.push(negated ? sql<SqlBool>`NOT (${part})` : part);
  }
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : sql<SqlBool>`(${sql.join(parts, sql` AND `)})`;
}

/** `ordering=-id,submit_time` as SQL `ORDER BY` terms over the declared fields; undeclared ones are ignored. */
export function orderingTerms(ordering: string | undefined, fields: Readonly<Record<string, string>>): string[] {
  if (!ordering) return [];
  return ordering.split(",").slice(0, 10).flatMap((term) => {
    const t = term.trim();
    const desc = t.startsWith("-");
    const name = desc ? t.slice(1) : t;
    return Object.hasOwn(fields, name) ? [`${fields[name]} ${desc ? "DESC" : "ASC"}`] : [];
  });
}
