#!/usr/bin/python3
"""examples.py SCHEMA_DIR: the unit test of the JSON Schemas (no root, no kernel).

- every schema/*.schema.json is a valid draft 2020-12 schema, with "$id" naming its file, and is
  listed in schema/README.md;
- every case of examples/cases.txt holds: the good examples validate, the bad ones fail and their
  errors mention the case's needle (so each fails for the reason it was written for);
- every schema file is reached (directly or through "$ref") from a good example, and every example
  file is used by a case;
- the address patterns of common.schema.json agree with Python's ipaddress on random addresses
  (each printed the way inet_ntop prints it) and refuse a list of near misses.
Exit 0 when all hold, 1 otherwise, 77 when python3-jsonschema is not installed.
"""
import ipaddress
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, HERE)
try:
    import validate
    from jsonschema import Draft202012Validator
except ImportError as e:
    print(f"SKIP: {e} (python3-jsonschema)")
    sys.exit(77)

passed = failed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok - {what}")


def fail(what, detail=()):
    global failed
    failed += 1
    print(f"FAIL - {what}")
    for d in detail:
        print(f"    {d}")


def refs(node):
    """The schema files a schema refers to ("x.schema.json#..." -> "x")."""
    out = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and ".schema.json" in v:
                out.add(v.split("#")[0].split("/")[-1].split(".schema.json")[0])
            out |= refs(v)
    elif isinstance(node, list):
        for v in node:
            out |= refs(v)
    return out


def check_files(schema_dir, store):
    readme = open(os.path.join(schema_dir, "README.md"), encoding="utf-8").read()
    for uri, s in sorted(store.items()):
        f = uri.rsplit("/", 1)[-1]
        problems = []
        try:
            Draft202012Validator.check_schema(s)
        except Exception as e:  # SchemaError
            problems.append(f"not a valid schema: {validate.short(str(e), 300)}")
        if not os.path.exists(os.path.join(schema_dir, f)):
            problems.append(f'"$id" {uri} does not name its file')
        if s.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            problems.append('"$schema" is not draft 2020-12')
        if not s.get("title") or not s.get("description"):
            problems.append("no title or description")
        if f"`{f}`" not in readme:
            problems.append("not listed in schema/README.md")
        for r in refs(s):
            if validate.BASE + r + ".schema.json" not in store:
                problems.append(f'"$ref" to a missing file {r}.schema.json')
        if problems:
            fail(f"{f}", problems)
        else:
            ok(f"{f}: valid draft 2020-12 schema, $id, listed in README.md")


def check_cases(ex_dir, store):
    used_files, reached = set(), set()
    validators = {}
    for n, line in enumerate(open(os.path.join(ex_dir, "cases.txt"), encoding="utf-8"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 3)
        expect, spec, f = parts[0], parts[1], parts[2]
        needle = parts[3] if len(parts) == 4 else None
        what = f"{f} against {spec}"
        if expect not in ("pass", "fail") or (expect == "fail") != (needle is not None):
            fail(f"cases.txt line {n}: not 'pass SCHEMA FILE' or 'fail SCHEMA FILE NEEDLE'")
            continue
        used_files.add(os.path.normpath(f))
        try:
            if spec not in validators:
                validators[spec] = validate.validator_for(store, spec)
            text = open(os.path.join(ex_dir, f), encoding="utf-8").read()
            docs = list(validate.documents(text))
        except (OSError, KeyError, ValueError) as e:
            fail(f"{what}: {e}")
            continue
        errs = [f"document {i}: {p}: {m}" for i, d in enumerate(docs, 1) for p, m in validate.errors(validators[spec], d)]
        if expect == "pass":
            name = spec.rstrip("[]").split("#")[0]
            reached.add(name)
            if not docs:
                fail(f"{what}: no document")
            elif errs:
                fail(f"{what}: should be valid", errs)
            else:
                ok(f"{what}: valid ({len(docs)} document{'s' if len(docs) > 1 else ''})")
        else:
            if not errs:
                fail(f"{what}: should be invalid ({needle}), the schema accepts it")
            elif not any(needle in e for e in errs):
                fail(f"{what}: invalid, but not for {needle!r}", errs)
            else:
                ok(f"{what}: invalid: {needle}")
    # Files reached through $ref from the good examples' schemas.
    todo = list(reached)
    while todo:
        for r in refs(store.get(validate.BASE + todo.pop() + ".schema.json", {})):
            if r not in reached:
                reached.add(r)
                todo.append(r)
    for uri in sorted(store):
        name = uri.rsplit("/", 1)[-1].split(".schema.json")[0]
        if name in reached:
            ok(f"{name}.schema.json is exercised by a good example")
        else:
            fail(f"{name}.schema.json: no good example reaches it")
    for d in (ex_dir, os.path.join(ex_dir, "bad")):
        for f in sorted(os.listdir(d)):
            rel = os.path.normpath(os.path.relpath(os.path.join(d, f), ex_dir))
            if f.endswith(".json") and rel not in used_files:
                fail(f"example {rel} is used by no case of cases.txt")


def check_patterns(store):
    """The address patterns against Python's ipaddress, on random values."""
    defs = store[validate.BASE + "common.schema.json"]["$defs"]
    pat = {k: re.compile(defs[k]["pattern"]) for k in ("ipv4", "ipv6", "ipv4-cidr", "ipv6-cidr", "mac")}
    rnd = random.Random(7)
    bad = []
    for _ in range(3000):
        a4 = ipaddress.IPv4Address(rnd.getrandbits(32))
        # Runs of zero groups of every length, so every compressed form occurs.
        groups = [rnd.choice([0, 0, 0, rnd.getrandbits(16)]) for _ in range(8)]
        a6 = ipaddress.IPv6Address(sum(g << (16 * (7 - i)) for i, g in enumerate(groups)))
        mapped = ipaddress.IPv6Address("::ffff:" + str(a4))
        for k, v in (("ipv4", str(a4)), ("ipv6", a6.compressed), ("ipv6", a6.exploded), ("ipv6", str(mapped)),
                     ("ipv6", a6.compressed.upper()), ("ipv4-cidr", f"{a4}/{rnd.randint(0, 32)}"),
                     ("ipv6-cidr", f"{a6.compressed}/{rnd.randint(0, 128)}")):
            if not pat[k].search(v):
                bad.append(f"{k} refuses {v}")
    near = {"ipv4": ["10.0.0", "10.0.0.256", "10.0.0.1.", "010.0.0.1", "10.0.0.1/24", " 10.0.0.1", "::"],
            "ipv6": ["fd00::1::2", "fd00:::1", "12345::", "fd00::g", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "10.0.0.1", ":1"],
            "ipv4-cidr": ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0", "10.0.0.0/024"],
            "ipv6-cidr": ["fd00::/129", "fd00::", "fd00::/1000"],
            "mac": ["02:42:0a:00:00", "02:42:0A:00:00:02", "02-42-0a-00-00-02", "0242.0a00.0002", "02:42:0a:00:00:02:03"]}
    for k, vs in near.items():
        for v in vs:
            if pat[k].search(v):
                bad.append(f"{k} accepts {v!r}")
    if bad:
        fail("address patterns", bad[:20])
    else:
        ok("address patterns agree with ipaddress on 21,000 random values and refuse the near misses")


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().split("\n\n")[0], file=sys.stderr)
        return 2
    schema_dir = argv[1]
    store = validate.load_schemas(schema_dir)
    check_files(schema_dir, store)
    check_cases(os.path.join(HERE, "examples"), store)
    check_patterns(store)
    print(f"schema examples: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
