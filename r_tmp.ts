import { jinjaEnvironment } from "./master/devices/jinja.ts";
import { Jinja2Reference } from "./tests/support/jinja2_reference.ts";
const paths = ["/tmp/dd", "/work/main/master/devices/templates"];
const env = jinjaEnvironment(paths);
const ref = new Jinja2Reference();
for (
  const [name, ctx] of [["qemu-a.jinja2", { arch: "arm64", extra_options: ["-smp", "2"] }], ["qemu-a.jinja2", {}], [
    "board-a.jinja2",
    {},
  ], ["serial-a.jinja2", {}]] as const
) {
  const c = { ...ctx, scheduled_device_name: "d", scheduled_device_type: "t" };
  let ours;
  try {
    ours = env.render(name, c);
  } catch (e) {
    ours = "ERR " + e;
  }
  const theirs = await ref.render({ paths, template: name, context: c });
  console.log("==", name, JSON.stringify(ctx), "same:", "output" in theirs && theirs.output === ours);
  if (!("output" in theirs) || theirs.output !== ours) {
    console.log(ours);
    console.log("--- ref");
    console.log(JSON.stringify(theirs).slice(0, 3000));
  }
}
await ref.close();
