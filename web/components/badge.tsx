/** Small pieces pages and islands both draw: a state or health as a badge, and a time as the UI writes times. */

/** A state or health shown as a coloured word (colour is never the only cue: the word is there). */
export function Badge(props: { value: string | null | undefined }) {
  const value = props.value ?? "—";
  return <span class={`badge badge-${value.toLowerCase()}`}>{value}</span>;
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, or a dash for no time; strings are what a Date becomes in an island's props. */
export function formatTime(value: Date | string | null | undefined): string {
  if (!value) return "—";
  const date = typeof value === "string" ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return String(value); // not a time: shown as it came rather than failing the page
  return date.toISOString().replace("T", " ").slice(0, 19);
}
