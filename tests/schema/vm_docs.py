#!/usr/bin/python3
"""vm_docs.py SCHEMA_DIR RESULTS_FILE [BODY]

The host side of the VM body tests/vm/bodies/schema.sh (BODY, default "schema"): the guest has no
python, so the body prints each document as one console line "SCHEMA-DOC <label> <schema> <JSON>"
and a closing "SCHEMA-DOCS: <count>". This reads them from the console log run-all.sh wrote next
to RESULTS_FILE (RESULTS_FILE.log, lines prefixed "[BODY] ") and validates each document against
SCHEMA_DIR. Exit 0: all valid; 1: an invalid document, a count that does not match, or no output;
77: the VM tests were skipped (run-all.sh's SKIP lines), so there is nothing to check.
"""
import json
import os
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import validate  # noqa: E402


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip().split("\n\n")[0], file=sys.stderr)
        return 2
    schema_dir, results = argv[1], argv[2]
    body = argv[3] if len(argv) == 4 else "schema"
    try:
        lines = open(results, encoding="utf-8", errors="replace").read().splitlines()
    except OSError as e:
        print(f"FAIL: no results file ({e}): did vm-boot run?")
        return 1
    mine = [l for l in lines if l.startswith(body + " ")]
    if not mine and any(l.startswith("SKIP ") for l in lines):
        print("SKIP: " + next(l for l in lines if l.startswith("SKIP "))[5:])
        return 77
    if mine and mine[-1].split(" ")[1] == "SKIP":
        print(f"SKIP: the body {body} skipped: {mine[-1]}")
        return 77
    try:
        log = open(results + ".log", encoding="utf-8", errors="replace").read().splitlines()
    except OSError as e:
        print(f"FAIL: no console log ({e})")
        return 1
    prefix = f"[{body}] "
    docs, count = [], None
    for l in log:
        if not l.startswith(prefix):
            continue
        l = l[len(prefix):]
        if l.startswith("SCHEMA-DOC "):
            parts = l.split(" ", 3)
            if len(parts) == 4:
                docs.append(parts[1:])
        elif l.startswith("SCHEMA-DOCS: "):
            count = int(l.split()[1])
    if count is None:
        print(f"FAIL: the body {body} printed no SCHEMA-DOCS line (did it run to the end?)")
        return 1
    store = validate.load_schemas(schema_dir)
    validators, bad = {}, 0
    for label, schema, text in docs:
        try:
            if schema not in validators:
                validators[schema] = validate.validator_for(store, schema)
            errs = validate.errors(validators[schema], json.loads(text))
        except (KeyError, ValueError) as e:
            errs = [("$", f"unreadable: {e}")]
        if errs:
            bad += 1
            print(f"FAIL - {label}: not a valid {schema}:")
            for path, msg in errs:
                print(f"    {path}: {msg}")
            print(f"    document: {validate.short(text, 2000)}")
        else:
            print(f"ok - {label}: valid {schema}")
    if len(docs) != count:
        print(f"FAIL - the body announced {count} documents, the log holds {len(docs)}")
        bad += 1
    print(f"vm-docs: {len(docs) - bad} of {len(docs)} documents valid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
