/**
 * A strategy runs one method of one section — a deploy `to`, a boot `method`, a
 * test kind — and is the only place that names it: it gives the pipeline builder
 * its action tree (LAVA's names, texts and retries; timeouts are resolved by the
 * builder) and the dispatcher the implementations of those actions. Adding a
 * method is adding a strategy module and listing it in mod.ts.
 */
import type { ActionShape, ShapeCatalog, ShapeContext } from "../../actors/definitions/pipeline.ts";
import type { Capabilities, Section } from "../../actors/definitions/methods.ts";
import { actionMethod } from "../../actors/definitions/methods.ts";
import type { ActionImplementation, Block } from "./context.ts";
import { type DeviceResources, deviceResources } from "../resources/device.ts";

export interface Strategy {
  readonly section: Section;
  /** The method names this strategy answers to (LAVA has aliases, e.g. `download` and `downloads`). */
  readonly methods: readonly string[];
  /** The action tree for one job action block on a device (some trees depend on what the device has). */
  shape(block: Block, context: ShapeContext, device: DeviceResources): ActionShape;
  /**
   * The implementations of the actions its tree names, made afresh for each job
   * action, so that what its actions hand each other stays among them. An action
   * without an implementation runs its children.
   */
  actions(): Readonly<Record<string, ActionImplementation>>;
}

/** The strategies a dispatcher has, by section and method. */
export class StrategyRegistry implements ShapeCatalog {
  readonly #bySection = new Map<Section, Map<string, Strategy>>();

  constructor(strategies: readonly Strategy[]) {
    for (const strategy of strategies) {
      const methods = this.#bySection.get(strategy.section) ?? new Map<string, Strategy>();
      this.#bySection.set(strategy.section, methods);
      for (const method of strategy.methods) {
        if (methods.has(method)) throw new Error(`two strategies for ${strategy.section} ${method}`);
        methods.set(method, strategy);
      }
    }
  }

  /** The strategy for a job action block of `section`, if this dispatcher runs its method. */
  find(section: Section, block: Block): Strategy | undefined {
    return this.#bySection.get(section)?.get(actionMethod(section, block));
  }

  shapeOf(section: Section, block: Block, context: ShapeContext, device: Block): ActionShape | undefined {
    return this.find(section, block)?.shape(block, context, deviceResources(device));
  }

  /** What this dispatcher runs, as a worker tells its master. */
  capabilities(): Capabilities {
    const names = (section: Section) => [...(this.#bySection.get(section)?.keys() ?? [])].sort();
    return { deploy: names("deploy"), boot: names("boot"), test: names("test") };
  }
}
