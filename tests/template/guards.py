"""What CloudFormation refuses before it creates anything, for given parameter values: each
parameter's AllowedPattern / AllowedValues / MinValue / MaxValue, then the template's Rules.
Prints {"parameters": [names refused], "rules": [names of rules whose assertions fail]}.

Rules are evaluated as CloudFormation documents its rule functions (Fn::And, Fn::Or, Fn::Not,
Fn::Equals, Fn::Contains, Fn::EachMemberEquals, Fn::EachMemberIn, Ref); a
CommaDelimitedList is its value split on commas, each member checked against the pattern.

Usage: guards.py TEMPLATE '{"Name": "value", ...}'
"""

import json
import re
import sys

from cfnlint.decode import decode


def values(template, given):
    """Every parameter's value: the given one, else its default, as CloudFormation sees it."""
    out = {}
    for name, spec in template.get("Parameters", {}).items():
        raw = str(given.get(name, spec.get("Default", "")))
        out[name] = raw.split(",") if spec["Type"] == "CommaDelimitedList" else raw
    return out


def refused(spec, value):
    members = value if isinstance(value, list) else [value]
    for member in members:
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, member):
            return True
        allowed = spec.get("AllowedValues")
        if allowed is not None and member not in [str(a) for a in allowed]:
            return True
        if spec["Type"] == "Number":
            number = float(member)
            if "MinValue" in spec and number < float(spec["MinValue"]):
                return True
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                return True
    return False


def evaluate(node, params):
    if isinstance(node, (str, int, float, bool)):
        return node
    if isinstance(node, list):
        return [evaluate(n, params) for n in node]
    (function, args), = node.items()
    if function == "Ref":
        return params[args]
    args = [evaluate(a, params) for a in args]
    if function == "Fn::And":
        return all(args)
    if function == "Fn::Or":
        return any(args)
    if function == "Fn::Not":
        return not args[0]
    if function == "Fn::Equals":
        return args[0] == args[1]
    if function == "Fn::Contains":
        return args[1] in args[0]
    if function == "Fn::EachMemberEquals":
        return all(member == args[1] for member in args[0])
    if function == "Fn::EachMemberIn":
        return all(member in args[1] for member in args[0])
    raise SystemExit(f"rule function {function} is not evaluated here")


def main():
    template, errors = decode(sys.argv[1])
    if errors:
        raise SystemExit("\n".join(str(e) for e in errors))
    params = values(template, json.loads(sys.argv[2]))
    specs = template.get("Parameters", {})
    refused_parameters = [name for name, spec in specs.items() if refused(spec, params[name])]
    failed_rules = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], params):
            continue
        if not all(evaluate(a["Assert"], params) for a in rule["Assertions"]):
            failed_rules.append(name)
    json.dump({"parameters": refused_parameters, "rules": failed_rules}, sys.stdout)


main()
