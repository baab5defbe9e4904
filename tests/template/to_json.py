"""Prints a CloudFormation/SAM template (YAML with short-form intrinsics) as JSON, using
cfn-lint's own parser, so the Rust tests can check what the template declares."""

import json
import sys

from cfnlint.decode import decode

template, errors = decode(sys.argv[1])
if errors:
    raise SystemExit("\n".join(str(e) for e in errors))
json.dump(template, sys.stdout)
