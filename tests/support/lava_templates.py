#!/usr/bin/python3
"""Device dictionaries rendered as LAVA renders them, the reference that
tests/template_corpus_test.ts, master/devices/jinja_test.ts and bench/validate.ts
compare Basalt's renderer with.

LAVA 2023.01 (lava_scheduler_app/environment.py) renders with
SandboxedEnvironment(loader=FileSystemLoader(devices + device-types paths),
autoescape=False, trim_blocks=True, cache_size=-1): no extensions, no extra
filters. Later LAVA (lava_common/jinja.py, create_device_templates_env) adds three
filters, written here as LAVA writes them: shlex_quote, yaml_quote (libyaml's
SafeDumper, double-quoted, one line) and qemu_guest_fs_interface.

As a program: reads one JSON object on stdin, {"lava": "2023.01" or "current",
"paths": [...], "cases": [{"dictionary": text, "context": {...}}, ...]}, and
writes a JSON list with {"output": text} or {"error": "Class: message"} per case,
in order. One process renders every case, so each template is compiled once, as in
a running LAVA server. Run it with Debian's /usr/bin/python3: its python3-jinja2
(3.1.2) is the Jinja2 Debian's LAVA 2023.01 runs with."""
import json
import shlex
import sys
from io import StringIO

import jinja2
import jinja2.sandbox
import yaml

X86_ARCHS = ("amd64", "x86_64", "i386")


def qemu_guest_fs_interface(arch, guestfs_interface):
    if guestfs_interface:
        return guestfs_interface
    return "ide" if arch in X86_ARCHS else "virtio"


def yaml_quote(obj):
    stream = StringIO()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)(
        stream,
        default_flow_style=True,
        width=2**31 - 1,
        default_style='"',
        explicit_start=True,
        explicit_end=False,
    )
    dumper.open()
    dumper.represent(obj)
    return stream.getvalue()[4:-1]


def environment(paths, lava="current", cache_size=-1):
    env = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(paths),
        autoescape=False,
        trim_blocks=True,
        cache_size=cache_size,
    )
    if lava != "2023.01":
        env.filters["shlex_quote"] = shlex.quote
        env.filters["yaml_quote"] = yaml_quote
        env.filters["qemu_guest_fs_interface"] = qemu_guest_fs_interface
    return env


def main():
    request = json.load(sys.stdin)
    env = environment(request["paths"], request["lava"])
    # A dictionary is compiled once and rendered for every job, as LAVA's cache does.
    compiled = {}
    results = []
    for case in request["cases"]:
        try:
            source = case["dictionary"]
            if source not in compiled:
                compiled[source] = env.from_string(source)
            template = compiled[source]
            results.append({"output": template.render(**case["context"])})
        except Exception as error:  # the reference's verdict, whatever it is
            results.append({"error": f"{type(error).__name__}: {error}"})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
