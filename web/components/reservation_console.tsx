/**
 * The markup of a reservation's console on its job's page: the terminal's
 * place, its status line and the holder's buttons. The browser brings it to
 * life with its own bundle (islands/console_client.ts, with xterm.js), loaded
 * only here; without JavaScript the page says so.
 */
export interface ReservationConsoleProps {
  readonly job: string;
  readonly state: string;
  readonly csrf: string;
  /** Whether the viewer may hold the keyboard (the person who reserved it, or an administrator). */
  readonly mayType: boolean;
}

export function ReservationConsole(props: ReservationConsoleProps) {
  return (
    <section aria-labelledby="console-h" class="reservation-console">
      <link rel="stylesheet" href="/static/build/xterm.css" />
      <h2 id="console-h">Console</h2>
      <div data-console data-job={props.job} data-state={props.state} data-csrf={props.csrf}>
        <p class="console-status" data-console-status aria-live="polite">
          {props.state === "Finished"
            ? "The reservation has ended: its record is the log below."
            : "The console opens when the reservation runs (this needs JavaScript)."}
        </p>
        <p class="console-notice muted" data-console-notice aria-live="polite"></p>
        {props.mayType && props.state !== "Finished" && (
          <p class="console-buttons">
            <button type="button" data-request="power-on" disabled>Power on</button>{" "}
            <button type="button" data-request="power-off" disabled>Power off</button>{" "}
            <button type="button" data-request="power-reset" disabled>Reset</button>{" "}
            <button type="button" data-request="take" disabled>Take the keyboard</button>{" "}
            <button type="button" data-request="release" disabled>Release</button>
          </p>
        )}
        <div class="console-screen" data-console-screen data-testid="console-screen"></div>
        {props.mayType && props.state !== "Finished" && (
          <details class="console-boot">
            <summary>Boot another kernel</summary>
            <p class="muted">A job definition: its deploy and boot actions run on the board now.</p>
            <textarea data-console-boot rows={8} cols={80} aria-label="boot job" />
            <p>
              <button type="button" data-request="boot" disabled>Boot it</button>
            </p>
          </details>
        )}
      </div>
      <script type="module" src="/static/build/console.js" defer />
    </section>
  );
}
