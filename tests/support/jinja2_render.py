#!/usr/bin/python3
"""Renders Jinja2 templates the way LAVA's server does (SandboxedEnvironment,
autoescape off, trim_blocks on, LAVA's extra filters), as the reference that
Basalt's renderer is compared with. Reads JSON requests, one per line, on stdin:
{"paths": [...], "template": name} or {"paths": [...], "source": text}, with
"context": {...}; writes {"output": text} or {"error": text} per line."""
import json
import shlex
import sys

import jinja2
import jinja2.sandbox
import yaml


def qemu_guest_fs_interface(arch, interface=None):
    if interface:
        return interface
    return "ide" if arch in ("amd64", "x86_64", "i386") else "virtio"


def yaml_quote(value):
    return yaml.safe_dump(str(value), default_flow_style=True, width=10**6).strip().removesuffix("...").strip()


for line in sys.stdin:
    request = json.loads(line)
    env = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(request["paths"]), autoescape=False, trim_blocks=True
    )
    env.filters["shlex_quote"] = shlex.quote
    env.filters["yaml_quote"] = yaml_quote
    env.filters["qemu_guest_fs_interface"] = qemu_guest_fs_interface
    try:
        if "template" in request:
            template = env.get_template(request["template"])
        else:
            template = env.from_string(request["source"])
        print(json.dumps({"output": template.render(**request["context"])}), flush=True)
    except Exception as error:  # the reference's verdict, whatever it is
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
