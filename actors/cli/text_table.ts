/**
 * Plain-text tables for terminal listings: a header row, then one row per item,
 * columns padded to their widest cell. Empty cells print as "-".
 *
 * @example
 * ```ts
 * textTable(["hostname", "state"], [["qemu01", "Idle"]]);
 * // "hostname  state\nqemu01    Idle"
 * ```
 */
export function textTable(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header, ...rows.map((row) => row.map(cellText))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)));
  return cells
    .map((row) => row.map((cell, column) => column === row.length - 1 ? cell : cell.padEnd(widths[column])).join("  "))
    .join("\n");
}

function cellText(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, "Z");
  if (Array.isArray(value)) return value.length === 0 ? "-" : value.join(",");
  return String(value);
}
