"""Writes the event `make invoke` sends and prints its path: the ready event
events/FN/STEP.json, or the file EVENT, with SECRET and TOKEN filled in. The copy goes to
target/events/, so no tracked file is ever edited.

Usage: event.py FN STEP SECRET TOKEN EVENT (empty strings for what was not given)
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FUNCTIONS = ("postgres", "neo4j", "jwt")
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
FIND_TOKEN = (
    "  the version labelled AWSPENDING: aws secretsmanager describe-secret --secret-id <secret> "
    "--query VersionIdsToStages"
)


def fail(message):
    sys.stderr.write(f"make invoke: {message}\n")
    sys.exit(2)


def placeholders():
    """The made-up secret ARNs and version ids of the ready events."""
    values = set()
    for path in (ROOT / "events").glob("*/*.json"):
        event = json.loads(path.read_text())
        values.update([event.get("SecretId"), event.get("ClientRequestToken")])
    return values


def load(fn, step, event_path):
    if event_path:
        path = pathlib.Path(event_path)
        if not path.is_file():
            fail(f"EVENT={event_path}: no such file")
        try:
            event = json.loads(path.read_text())
        except ValueError as error:
            fail(f"EVENT={event_path} is not JSON: {error}")
        if not isinstance(event, dict):
            fail(f"EVENT={event_path} is not a JSON object")
        return event
    if fn not in FUNCTIONS:
        fail(f"FN is one of {', '.join(FUNCTIONS)}, not {fn!r}")
    if step not in STEPS:
        fail(f"STEP is one of {', '.join(STEPS)}, not {step!r}")
    return json.loads((ROOT / "events" / fn / f"{step}.json").read_text())


def main():
    fn, step, secret, token, event_path = (sys.argv[1:] + [""] * 5)[:5]
    event = load(fn, step, event_path)
    if secret:
        event["SecretId"] = secret
    if token:
        event["ClientRequestToken"] = token
    made_up = placeholders()
    missing = []
    if not event.get("SecretId") or event["SecretId"] in made_up:
        missing.append("SECRET=<the secret's ARN or name>")
    if not event.get("ClientRequestToken") or event["ClientRequestToken"] in made_up:
        missing.append("TOKEN=<the id of its version labelled AWSPENDING>")
    if missing:
        fail(
            f"the event needs {' and '.join(missing)}, for example\n"
            f"  make invoke FN={fn or 'postgres'} STEP={event.get('Step', step)} "
            "SECRET=arn:aws:secretsmanager:... TOKEN=...\n" + FIND_TOKEN
        )
    out = ROOT / "target" / "events" / f"{fn or 'event'}-{event.get('Step', step)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    # Readable by its owner only: an event may carry a RotationToken.
    out.touch(mode=0o600)
    out.chmod(0o600)
    out.write_text(json.dumps(event, indent=2) + "\n")
    print(out)


main()
