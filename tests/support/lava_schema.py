"""LAVA 2023.01's own verdict on job definitions: lava_common.schemas.validate, as its scheduler runs it
on submission (non-strict), from the unpacked Debian package. Reads a JSON list of job texts on stdin and
prints a JSON list of [valid, message]: the reference tests/lava_schema_test.ts compares Basalt with."""
import json
import sys

sys.path.insert(0, sys.argv[1])
import yaml  # noqa: E402
from lava_common.schemas import validate  # noqa: E402

verdicts = []
for text in json.load(sys.stdin):
    try:
        validate(yaml.safe_load(text), strict=False)
        verdicts.append([True, ""])
    except Exception as error:  # every refusal, whatever its kind, is a verdict
        verdicts.append([False, str(error)])
json.dump(verdicts, sys.stdout)
