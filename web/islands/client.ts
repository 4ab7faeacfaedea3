/// <reference lib="dom" />
/**
 * The browser bundle's entry: finds the islands the server rendered and
 * hydrates each with the props it left beside it. Built by web/assets.ts.
 */
import { h, hydrate } from "preact";
import ActorState from "./actor_state.tsx";
import JobLive from "./job_live.tsx";
import LiveLog from "./live_log.tsx";
import LiveOverview from "./live_overview.tsx";
import PipelineLive from "./pipeline_live.tsx";

// deno-lint-ignore no-explicit-any
const ISLANDS: Record<string, (props: any) => unknown> = { ActorState, JobLive, LiveLog, LiveOverview, PipelineLive };

for (const element of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const component = ISLANDS[element.dataset.island ?? ""];
  const root = element.querySelector<HTMLElement>("[data-island-root]");
  const props = element.querySelector("script[type='application/json']")?.textContent;
  if (!component || !root || !props) continue;
  // deno-lint-ignore no-explicit-any
  hydrate(h(component as any, JSON.parse(props)), root);
}
