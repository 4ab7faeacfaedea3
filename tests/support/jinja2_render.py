#!/usr/bin/python3
"""Renders Jinja2 templates the way current LAVA's server does (the environment of
lava_templates.py: SandboxedEnvironment, autoescape off, trim_blocks on, LAVA's
extra filters), as the reference that Basalt's renderer is compared with. Reads
JSON requests, one per line, on stdin: {"paths": [...], "template": name} or
{"paths": [...], "source": text}, with "context": {...}; writes {"output": text}
or {"error": text} per line."""
import json
import sys

from lava_templates import environment

for line in sys.stdin:
    request = json.loads(line)
    env = environment(request["paths"], "current", cache_size=0)
    try:
        if "template" in request:
            template = env.get_template(request["template"])
        else:
            template = env.from_string(request["source"])
        print(json.dumps({"output": template.render(**request["context"])}), flush=True)
    except Exception as error:  # the reference's verdict, whatever it is
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
