/**
 * The soak's devices: many small simulated boards in one process, each a TCP
 * console on 127.0.0.1 (a device dictionary's `connection_command:
 * tcp://127.0.0.1:PORT`, or `telnet 127.0.0.1 PORT` for lava-run). Each is
 * already booted to a shell: it prints its prompt when connected and after
 * every line it is sent, takes `export PS1=...`, and answers LAVA's test
 * runner (`/lava-ID/bin/lava-test-runner /lava-ID/STAGE`) with the signals of
 * a test run that prints the lines the soak asked of job ID — each stamped
 * with its job, its number and the time it was printed, so the soak can check
 * every one was stored once and in order and how long it took to reach a
 * subscriber — then a test case, then the runner's exit. A job may instead be
 * told to raise (`<LAVA_SIGNAL_TESTRAISE>`), which fails it.
 */

/** What the device does when job `job` runs its tests. */
export interface SoakBehaviour {
  /** Lines the test prints. */
  readonly lines: number;
  /** Between two lines (ms): the device's own time, not the lab's. */
  readonly lineMs: number;
  /** Raise in the test (the job ends Incomplete). */
  readonly raise?: boolean;
}

export const DEFAULT_PROMPT = "soak# ";
/** The test definition every soak job runs: its run id is `0_soak`. */
export const SOAK_TEST_NAME = "soak";
const RUNNER = /^(\/lava-(\d+))\/bin\/lava-test-runner (\S+)/;
const PS1 = /^export PS1='((?:[^']|'\\'')*)'$/;

/** A line a soak device printed: `soak-line JOB N EPOCH-MS`. */
export const SOAK_LINE = /^soak-line (\d+) (\d+) (\d+)$/;

export class SoakDevices {
  readonly #listeners: Deno.TcpListener[] = [];
  readonly #connections = new Set<Deno.TcpConn>();
  readonly ports: number[] = [];
  #closed = false;

  private constructor(readonly behaviour: (job: number) => SoakBehaviour) {}

  /** Starts `count` devices on free loopback ports. */
  static start(count: number, behaviour: (job: number) => SoakBehaviour): SoakDevices {
    const devices = new SoakDevices(behaviour);
    for (let i = 0; i < count; i++) {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      devices.#listeners.push(listener);
      devices.ports.push((listener.addr as Deno.NetAddr).port);
      devices.#accept(listener);
    }
    return devices;
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const conn of listener) {
        this.#connections.add(conn);
        this.#serve(conn).catch(() => {}).finally(() => {
          this.#connections.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        });
      }
    } catch {
      // Closed.
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const encoder = new TextEncoder();
    const write = async (text: string) => {
      const bytes = encoder.encode(text);
      for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
    };
    let prompt = DEFAULT_PROMPT;
    // What LAVA waits for before the prompt: the kernel starting.
    await write(`\r\nLinux version 6.1.0-soak (soak@bench) #1 SMP\r\nsoak device ready\r\n${prompt}`);
    const decoder = new TextDecoder();
    let pending = "";
    const buffer = new Uint8Array(4096);
    while (!this.#closed) {
      const n = await conn.read(buffer);
      if (n === null) return;
      pending += decoder.decode(buffer.subarray(0, n), { stream: true });
      // Telnet's negotiation (lava-run connects with telnet) is not a command.
      pending = pending.replace(/\xff[\xfb-\xfe]./gs, "");
      let end;
      while ((end = pending.search(/[\r\n]/)) >= 0) {
        const line = pending.slice(0, end).trim();
        pending = pending.slice(end + 1);
        if (pending.startsWith("\n")) pending = pending.slice(1);
        await write(`${line}\r\n`);
        const ps1 = PS1.exec(line);
        if (ps1) prompt = ps1[1].replaceAll("'\\''", "'");
        const runner = RUNNER.exec(line);
        if (runner) await this.#runTests(write, Number(runner[2]));
        await write(prompt);
      }
      if (pending.length > 65_536) pending = "";
    }
  }

  async #runTests(write: (text: string) => Promise<void>, job: number): Promise<void> {
    const { lines, lineMs, raise } = this.behaviour(job);
    const run = `0_${SOAK_TEST_NAME}`;
    const uuid = crypto.randomUUID();
    await write(`<LAVA_SIGNAL_STARTRUN ${run} ${uuid}>\r\n`);
    for (let i = 0; i < lines; i++) {
      await write(`soak-line ${job} ${i} ${Date.now()}\r\n`);
      if (lineMs > 0) await new Promise((resolve) => setTimeout(resolve, lineMs));
    }
    if (raise) {
      await write("<LAVA_SIGNAL_TESTRAISE soak-device-was-told-to-fail>\r\n");
      return;
    }
    await write(`<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=printed-${lines}-lines RESULT=pass>\r\n`);
    await write(`<LAVA_SIGNAL_ENDRUN ${run} ${uuid}>\r\n<LAVA_TEST_RUNNER EXIT>\r\n`);
  }

  close(): void {
    this.#closed = true;
    for (const listener of this.#listeners) listener.close();
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }
}
