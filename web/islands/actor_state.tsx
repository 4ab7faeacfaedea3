/**
 * An actor's machine with its current state highlighted, and its transitions —
 * event, from, to, when, what the event carried — kept current from the
 * actor's transition stream: the debugger for "why is this device Bad".
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

export interface Transition {
  sequence: number;
  eventType: string;
  stateBefore: string | null;
  stateAfter: string;
  payload: unknown;
  at: string;
}

export interface ActorStateProps {
  kind: string;
  id: string;
  /** The machine drawn on the server (machine_svg.ts). */
  svg: string;
  current: string;
  history: Transition[];
}

const time = (value: string) => value.replace("T", " ").slice(0, 23);

export default function ActorState(props: ActorStateProps) {
  const [current, setCurrent] = useState(props.current);
  const [history, setHistory] = useState(props.history);
  const drawing = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const source = new EventSource(`/api/v1/actors/${props.kind}/${encodeURIComponent(props.id)}/stream`);
    source.addEventListener("transition", (e) => {
      const record = JSON.parse((e as MessageEvent).data) as Transition;
      setCurrent(record.stateAfter);
      setHistory((h) => [record, ...h].slice(0, 500));
    });
    return () => source.close();
  }, []);
  // The drawing is the server's markup: the highlight moves by class, not by re-rendering it,
  // in the same commit as the state's name so the two never disagree on screen.
  useLayoutEffect(() => {
    const top = current.split(".")[0];
    drawing.current?.querySelectorAll("[data-state]").forEach((node) => {
      node.classList.toggle("current", node.getAttribute("data-state") === top);
    });
  }, [current]);
  return (
    <div class="actor-state">
      <p>
        Current state: <strong data-testid="current-state">{current}</strong>
      </p>
      <div class="drawing" ref={drawing} dangerouslySetInnerHTML={{ __html: props.svg }} />
      <h2>Transitions</h2>
      <table class="history">
        <thead>
          <tr>
            <th>#</th>
            <th>When</th>
            <th>Event</th>
            <th>From</th>
            <th>To</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {history.map((t) => (
            <tr key={t.sequence}>
              <td>{t.sequence}</td>
              <td>{time(t.at)}</td>
              <td>
                <code>{t.eventType}</code>
              </td>
              <td>{t.stateBefore ?? "—"}</td>
              <td>{t.stateAfter}</td>
              <td class="payload">
                {t.payload && Object.keys(t.payload as object).length ? <code>{JSON.stringify(t.payload)}</code> : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
