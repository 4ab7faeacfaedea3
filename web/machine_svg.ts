/**
 * Draws an actor's machine as SVG on the server: its top-level states in layers
 * (breadth first from the initial state), transitions as curves labelled with
 * their events, transitions that apply in every state (root `on`) listed
 * beside, self-transitions as loops. Every state node carries `data-state`, so
 * the page can highlight the current one and a browser island can move the
 * highlight live.
 */
import type { MachineGraph } from "../actors/runtime/machine_graph.ts";

const NODE_W = 150;
const NODE_H = 40;
const GAP_X = 150;
const GAP_Y = 60;
const PAD = 48;

function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** xstate's internal event names, as people say them. */
function eventLabel(event: string): string {
  return event.replace(/^xstate\.done\.actor\.(.*)$/, "done: $1").replace(/^xstate\.error\.actor\.(.*)$/, "error: $1")
    .replace(/^xstate\.after\..*$/, "after a delay").replace(/^\(always\)$/, "always");
}

/** The top-level state (child of the root) a state id belongs to. */
function topLevel(id: string): string {
  return id.split(".")[0];
}

export function machineSvg(graph: MachineGraph, current?: string): string {
  const root = graph.states.find((s) => s.parent === null);
  const tops = graph.states.filter((s) => s.parent === "");
  if (!root || tops.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>`;
  // Edges between top-level states (children collapse into their top-level parent).
  const edges = new Map<string, { from: string; to: string; events: Set<string> }>();
  const global: string[] = [];
  for (const t of graph.transitions) {
    if (t.source === "") {
      global.push(
        `${eventLabel(t.event || "(always)")} → ${t.targets.map((x) => x.replace(/^\./, "")).join(", ") || "(stays)"}`,
      );
      continue;
    }
    const from = topLevel(t.source);
    for (const target of t.targets.length ? t.targets : [t.source]) {
      const to = topLevel(target);
      const key = `${from}\u0000${to}`;
      let edge = edges.get(key);
      if (!edge) edges.set(key, edge = { from, to, events: new Set() });
      edge.events.add(t.event || "(always)");
    }
  }
  // Layers: breadth first from the initial state; unreachable states in a last layer.
  const layer = new Map<string, number>();
  const start = root.initial ? topLevel(root.initial) : tops[0].key;
  layer.set(start, 0);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const e of edges.values()) {
      if (e.from === node && !layer.has(e.to)) {
        layer.set(e.to, layer.get(node)! + 1);
        queue.push(e.to);
      }
    }
  }
  const last = Math.max(0, ...layer.values()) + 1;
  for (const s of tops) if (!layer.has(s.key)) layer.set(s.key, last);
  const columns = new Map<number, string[]>();
  for (const s of tops) {
    const l = layer.get(s.key)!;
    columns.set(l, [...(columns.get(l) ?? []), s.key]);
  }
  const position = new Map<string, { x: number; y: number }>();
  const maxRows = Math.max(...[...columns.values()].map((c) => c.length));
  for (const [l, keys] of columns) {
    keys.forEach((key, i) => {
      const offset = (maxRows - keys.length) * (NODE_H + GAP_Y) / 2;
      position.set(key, { x: PAD + l * (NODE_W + GAP_X), y: PAD + offset + i * (NODE_H + GAP_Y) });
    });
  }
  const width = PAD * 2 + (Math.max(...columns.keys()) + 1) * (NODE_W + GAP_X) - GAP_X;
  const diagramHeight = PAD * 2 + maxRows * (NODE_H + GAP_Y) - GAP_Y;
  const height = diagramHeight + (global.length ? 20 + global.length * 16 : 0);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="machine" viewBox="0 0 ${width} ${height}" width="${width}" ` +
      `height="${height}" role="img" aria-label="${escape(`state machine ${graph.machine}`)}">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">` +
      `<path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>`,
  );
  // Edges leaving a state fan out: forward ones arc above, backward ones below, each a little further.
  const fan = new Map<string, number>();
  for (const e of edges.values()) {
    const a = position.get(e.from);
    const b = position.get(e.to);
    if (!a || !b) continue;
    const label = escape([...e.events].map(eventLabel).join(", "));
    if (e.from === e.to) {
      const x = a.x + NODE_W / 2;
      parts.push(
        `<path class="edge" d="M${x - 18},${a.y} C${x - 30},${a.y - 30} ${x + 30},${a.y - 30} ${x + 18},${a.y}" ` +
          `marker-end="url(#arrow)"/><text class="edge-label" x="${x}" y="${
            a.y - 26
          }" text-anchor="middle">${label}</text>`,
      );
      continue;
    }
    const forward = b.x > a.x || (b.x === a.x && b.y > a.y);
    const side = `${e.from}\u0000${forward}`;
    const k = fan.get(side) ?? 0;
    fan.set(side, k + 1);
    const bulge = (forward ? -1 : 1) * (18 + 16 * k);
    const x1 = b.x >= a.x ? a.x + NODE_W : a.x;
    const x2 = b.x >= a.x ? b.x : b.x + NODE_W;
    const y1 = a.y + NODE_H / 2 + (forward ? -7 : 7);
    const y2 = b.y + NODE_H / 2 + (forward ? -7 : 7);
    const c1 = { x: x1 + (x2 - x1) / 3, y: y1 + bulge };
    const c2 = { x: x2 - (x2 - x1) / 3, y: y2 + bulge };
    // The curve's own midpoint, so the label sits on its edge.
    const mx = (x1 + 3 * c1.x + 3 * c2.x + x2) / 8;
    const my = (y1 + 3 * c1.y + 3 * c2.y + y2) / 8 + (forward ? -4 : 12);
    parts.push(
      `<path class="edge" d="M${x1},${y1} C${c1.x},${c1.y} ${c2.x},${c2.y} ${x2},${y2}" marker-end="url(#arrow)"/>`,
      `<text class="edge-label" x="${mx}" y="${my}" text-anchor="middle">${label}</text>`,
    );
  }
  for (const s of tops) {
    const p = position.get(s.key)!;
    const active = current !== undefined && topLevel(current) === s.key;
    const kind = s.type === "final" ? " final" : "";
    parts.push(
      `<g class="state${kind}${active ? " current" : ""}" data-state="${escape(s.key)}">` +
        `<rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="10"/>` +
        `<text x="${p.x + NODE_W / 2}" y="${p.y + NODE_H / 2 + 5}" text-anchor="middle">${escape(s.key)}</text></g>`,
    );
    if (s.key === start) {
      parts.push(`<circle class="initial" cx="${p.x - 12}" cy="${p.y + NODE_H / 2}" r="5"/>`);
    }
  }
  global.forEach((line, i) => {
    parts.push(
      `<text class="global" x="${PAD}" y="${diagramHeight + 16 + i * 16}">in any state: ${escape(line)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}
