/**
 * A job's log. The server sends the last lines with the page, so they show at
 * once (and without JavaScript); in the browser the viewer then becomes a
 * virtual list over the whole log — only the rows in view exist in the page,
 * fetched in chunks as the reader scrolls, so a million lines scroll as easily
 * as ten — and follows new lines live from the master's log stream. Level
 * filters ask the master for just those levels. Line numbers are links
 * (`#L123`).
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

export interface LogLine {
  line: number;
  dt: string;
  lvl: string;
  msg: unknown;
}

export interface LiveLogProps {
  jobId: string;
  /** Lines stored when the page was made. */
  total: number;
  /** The last of them, for the first paint. */
  tail: LogLine[];
  finished: boolean;
}

const ROW = 20;
const CHUNK = 500;
const FILTERS: Record<string, string[]> = {
  target: ["target", "feedback"],
  input: ["input"],
  info: ["info"],
  debug: ["debug"],
  results: ["results"],
  errors: ["error", "exception", "warning"],
};

function text(msg: unknown): string {
  return typeof msg === "string" ? msg : JSON.stringify(msg);
}

function Row({ line, top }: { line: LogLine; top?: number }) {
  return (
    <div
      class={`log-line lvl-${line.lvl}`}
      id={`L${line.line}`}
      style={top === undefined ? undefined : `top:${top}px`}
      data-line={line.line}
    >
      <a class="ln" href={`#L${line.line}`}>{line.line}</a>
      <span class="lvl">{line.lvl}</span>
      <span class="msg">{text(line.msg)}</span>
    </div>
  );
}

export default function LiveLog(props: LiveLogProps) {
  const [mode, setMode] = useState<"static" | "virtual">("static");
  const [enabled, setEnabled] = useState<Set<string>>(new Set(Object.keys(FILTERS)));
  const [count, setCount] = useState(props.total);
  const [range, setRange] = useState<[number, number]>([Math.max(0, props.total - 60), props.total]);
  const [version, setVersion] = useState(0);
  const [follow, setFollow] = useState(true);
  const [ended, setEnded] = useState(props.finished);
  const cache = useRef(new Map<number, LogLine>());
  const pending = useRef(new Set<number>());
  const box = useRef<HTMLDivElement>(null);
  const total = useRef(props.total);
  const filtered = enabled.size !== Object.keys(FILTERS).length;
  const levels = [...enabled].flatMap((f) => FILTERS[f]);

  // Index → line: for the whole log the index is the line number; filtered, the position among matches.
  const load = async (chunk: number) => {
    if (pending.current.has(chunk)) return;
    pending.current.add(chunk);
    const start = chunk * CHUNK;
    const url = filtered
      ? `/api/v1/jobs/${props.jobId}/logs?levels=${levels.join(",")}&offset=${start}&limit=${CHUNK}`
      : `/api/v1/jobs/${props.jobId}/logs?start=${start}&end=${start + CHUNK}`;
    const body = await fetch(url).then((r) => r.json()).catch(() => undefined);
    pending.current.delete(chunk);
    if (!body) return;
    body.lines.forEach((line: LogLine, i: number) => cache.current.set(start + i, line));
    setVersion((v) => v + 1);
  };

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const first = Math.floor(el.scrollTop / ROW);
    const last = Math.min(count, first + Math.ceil(el.clientHeight / ROW) + 2);
    setRange([first, last]);
    setFollow(el.scrollTop + el.clientHeight >= el.scrollHeight - ROW * 2);
  };

  // Becomes live: the tail is already known by line number.
  useEffect(() => {
    for (const line of props.tail) cache.current.set(line.line, line);
    setMode("virtual");
    if (props.finished) return;
    const source = new EventSource(`/api/v1/jobs/${props.jobId}/logs/stream?start=${props.total}`);
    source.addEventListener("lines", (e) => {
      const lines = JSON.parse((e as MessageEvent).data) as LogLine[];
      globalThis.dispatchEvent(new CustomEvent("basalt-log-lines", { detail: lines }));
    });
    source.addEventListener("end", () => {
      setEnded(true);
      source.close();
    });
    return () => source.close();
  }, []);

  // Live lines land at the end of whatever the filter shows.
  useEffect(() => {
    const onLines = (e: Event) => {
      const lines = (e as CustomEvent<LogLine[]>).detail;
      let n = total.current;
      for (const line of lines) {
        if (filtered && !levels.includes(line.lvl)) continue;
        cache.current.set(n++, line);
      }
      total.current = n;
      setCount(n);
    };
    globalThis.addEventListener("basalt-log-lines", onLines);
    return () => globalThis.removeEventListener("basalt-log-lines", onLines);
  }, [enabled]);

  // A new filter: start again from its count, at the bottom.
  useEffect(() => {
    if (mode !== "virtual") return;
    if (!filtered) {
      cache.current.clear();
      total.current = props.total;
      fetch(`/api/v1/jobs/${props.jobId}/logs?start=0&end=0`).then((r) => r.json()).then((b) => {
        total.current = Math.max(total.current, b.total);
        setCount(total.current);
        setFollow(true);
        setVersion((v) => v + 1);
      });
      return;
    }
    cache.current.clear();
    fetch(`/api/v1/jobs/${props.jobId}/logs?levels=${levels.join(",")}&offset=0&limit=0`).then((r) => r.json()).then(
      (b) => {
        total.current = b.total;
        setCount(b.total);
        setFollow(true);
        setVersion((v) => v + 1);
      },
    );
  }, [enabled]);

  useLayoutEffect(() => {
    const el = box.current;
    if (mode !== "virtual" || !el) return;
    if (follow) el.scrollTop = el.scrollHeight;
    else if (location.hash.startsWith("#L") && version === 0) el.scrollTop = Number(location.hash.slice(2)) * ROW;
    onScroll();
  }, [mode, count, version]);

  useEffect(() => {
    if (mode !== "virtual") return;
    for (let i = range[0]; i < range[1]; i++) {
      if (!cache.current.has(i)) load(Math.floor(i / CHUNK));
    }
  }, [range, version, mode]);

  const toggle = (name: string) =>
    setEnabled((current) => {
      const next = new Set(current);
      if (next.has(name)) next.delete(name);
      else next.add(name);
      return next.size === 0 ? current : next;
    });

  const rows = [];
  if (mode === "virtual") {
    for (let i = range[0]; i < range[1]; i++) {
      const line = cache.current.get(i);
      if (line) rows.push(<Row key={line.line} line={line} top={i * ROW} />);
    }
  }
  return (
    <section class="log" aria-labelledby="log-h">
      <div class="log-bar">
        <h2 id="log-h">Log</h2>
        <fieldset class="filters">
          <legend class="sr-only">Show levels</legend>
          {Object.keys(FILTERS).map((name) => (
            <label key={name}>
              <input type="checkbox" checked={enabled.has(name)} onChange={() => toggle(name)} /> {name}
            </label>
          ))}
        </fieldset>
        <span class="log-count" data-testid="log-count">{count} lines{ended ? "" : " · live"}</span>
        <a href={`/api/v1/jobs/${props.jobId}/logs`}>raw</a>
      </div>
      {mode === "static"
        ? (
          <div class="log-box">
            {props.total > props.tail.length && (
              <p class="muted">The last {props.tail.length} of {props.total} lines.</p>
            )}
            {props.tail.map((line) => <Row key={line.line} line={line} />)}
          </div>
        )
        : (
          <div class="log-box virtual" ref={box} onScroll={onScroll} tabIndex={0} aria-label="job log">
            <div class="log-space" style={`height:${count * ROW}px`}>{rows}</div>
          </div>
        )}
    </section>
  );
}
