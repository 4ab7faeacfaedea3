/// <reference lib="dom" />
/**
 * A reservation's console in the browser: xterm.js on the master's console
 * WebSocket (/api/v1/jobs/{id}/console). It connects once the reservation
 * runs (learnt from the event stream), writes what the device prints, sends
 * what is typed while this page holds the keyboard, and the buttons' power,
 * take and release requests. A connection lost while the reservation may
 * still run is opened again; the master sends the screen as it was.
 */
import { Terminal } from "@xterm/xterm";

type Frame =
  | { t: "output"; data: string }
  | { t: "state"; power: string; endsAt: string }
  | { t: "notice"; text: string }
  | { t: "keyboard"; holder: string | null; yours: boolean }
  | { t: "ended"; reason: string };

const REQUESTS: Record<string, object> = {
  "power-on": { t: "power", action: "on" },
  "power-off": { t: "power", action: "off" },
  "power-reset": { t: "power", action: "reset" },
  take: { t: "take" },
  release: { t: "release" },
};

function start(root: HTMLElement): void {
  const job = root.dataset.job!;
  const csrf = root.dataset.csrf ?? "";
  const status = root.querySelector<HTMLElement>("[data-console-status]")!;
  const notice = root.querySelector<HTMLElement>("[data-console-notice]")!;
  const buttons = [...root.querySelectorAll<HTMLButtonElement>("button[data-request]")];
  const terminal = new Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 14, rows: 30 });
  terminal.open(root.querySelector<HTMLElement>("[data-console-screen]")!);
  let socket: WebSocket | undefined;
  let ended = false;
  let power = "";
  let endsAt = "";
  let keyboard = "";
  const show = () => {
    const ends = endsAt ? `ends at ${new Date(endsAt).toLocaleTimeString()}` : "";
    status.textContent = [power && `power ${power}`, ends, keyboard].filter(Boolean).join(" · ");
  };
  const send = (request: object) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(request));
  };
  terminal.onData((data) => send({ t: "input", data }));
  const bootJob = root.querySelector<HTMLTextAreaElement>("[data-console-boot]");
  for (const button of buttons) {
    button.addEventListener("click", () =>
      send(
        button.dataset.request === "boot"
          ? { t: "boot", definition: bootJob?.value ?? "" }
          : REQUESTS[button.dataset.request!],
      ));
  }

  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/jobs/${job}/console?csrf=${encodeURIComponent(csrf)}`);
    socket.addEventListener("open", () => {
      for (const button of buttons) button.disabled = false;
      if (!power) status.textContent = "Waiting for the board: the console opens once its deploy and boot are done.";
      terminal.focus();
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as Frame;
      switch (frame.t) {
        case "output":
          return terminal.write(frame.data);
        case "state":
          power = frame.power;
          endsAt = frame.endsAt;
          return show();
        case "notice":
          notice.textContent = frame.text;
          return terminal.write(`\r\n\x1b[33m[basalt] ${frame.text}\x1b[0m\r\n`);
        case "keyboard":
          keyboard = frame.yours ? "you hold the keyboard" : `${frame.holder ?? "nobody"} holds the keyboard`;
          return power ? show() : undefined;
        case "ended":
          ended = true;
          status.textContent = frame.reason;
          terminal.write(`\r\n\x1b[33m[basalt] ${frame.reason}\x1b[0m\r\n`);
      }
    });
    socket.addEventListener("close", async () => {
      for (const button of buttons) button.disabled = true;
      if (ended) return;
      // Refused or dropped: open it again unless the reservation is over.
      const answer = await fetch(`/api/v1/jobs/${job}`).then((r) => r.json()).catch(() => ({}));
      if (answer.state === "Finished") {
        ended = true;
        status.textContent = "The reservation has ended: its record is the log below.";
      } else setTimeout(connect, 1000);
    });
  };

  if (root.dataset.state === "Running") return connect();
  if (root.dataset.state === "Finished") return;
  // Queued: wait for the reservation to run, reading its state once subscribed so a change in between is not missed.
  const events = new EventSource("/api/v1/events");
  let waiting = true;
  const stateIs = (state: unknown) => {
    if (!waiting) return;
    if (state === "Running") {
      waiting = false;
      events.close();
      connect();
    } else if (state === "Finished") {
      waiting = false;
      events.close();
      status.textContent = "The reservation ended before it ran.";
    }
  };
  events.addEventListener("testjob", (event) => {
    const data = JSON.parse((event as MessageEvent).data).data;
    if (String(data.job) === job) stateIs(data.state);
  });
  events.addEventListener("open", async () => {
    const answer = await fetch(`/api/v1/jobs/${job}`).then((r) => r.json()).catch(() => ({}));
    stateIs(answer.state);
  });
}

for (const root of document.querySelectorAll<HTMLElement>("[data-console]")) start(root);
