#!/usr/bin/env python3
"""End-to-end test of `strata validate` through the binary: exit codes (0 ok, 2 spec error,
1 a pinned image missing) and the exact report on stderr. Usage: check_validate_cli.py
STRATA_BINARY. Run by CTest (specs_validate_cli)."""

import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]

BAD = """apiVersion: strata/v1
name: demo
imgae:
  layers:
    - files: [{src: files/motd, dest: etc/motd}]
"""

BAD_REPORT = """{spec}:1:1: error: missing required key 'image'
apiVersion: strata/v1
^
{spec}:3:1: error: unknown key 'imgae'; did you mean 'image'?
imgae:
^
2 errors in {spec}
"""


def run(strata, *args):
    return subprocess.run([strata, *args], capture_output=True, text=True, timeout=60)


def expect(failures, what, got, want):
    if got != want:
        failures.append(f"{what}:\n--- got\n{got}\n--- want\n{want}")


def main():
    strata = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        (d / "files").mkdir()
        (d / "files" / "motd").write_text("hi\n")
        good = d / "good.yaml"
        good.write_text("apiVersion: strata/v1\nname: demo\nimage:\n  layers:\n"
                        "    - files: [{src: files/motd, dest: /etc/motd}]\n")
        r = run(strata, "validate", str(good))
        expect(failures, "good spec exit code", r.returncode, 0)
        expect(failures, "good spec stdout", r.stdout, f"{good}: ok (1 layers, 0 packages, 0 sources)\n")

        bad = d / "bad.yaml"
        bad.write_text(BAD)
        r = run(strata, "validate", str(bad))
        expect(failures, "bad spec exit code", r.returncode, 2)
        expect(failures, "bad spec stderr", r.stderr, BAD_REPORT.format(spec=bad))

        r = run(strata, "validate", str(d / "missing.yaml"))
        expect(failures, "missing spec exit code", r.returncode, 2)
        expect(failures, "missing spec stderr", r.stderr,
               f"{d / 'missing.yaml'}: error: cannot read spec: No such file or directory\n")

    # validate opens the local images a spec pins: examples built on examples/busybox's image
    # are valid once it is built (examples/out), and until then fail at the pin (exit 1).
    for spec in sorted((ROOT / "examples").rglob("strata.yaml")):
        r = run(strata, "validate", str(spec))
        text = spec.read_text()
        pins = re.findall(r"^( *(?:base|image): )(\S+)@sha256:", text, re.MULTILINE)
        missing = [pin for pin in pins if not (spec.parent / pin[1]).exists()]
        # A spec with Debian packages and no strata.lock beside it (examples/debian-app: its
        # lock is made from the user's apt sources) is refused until `strata lock` runs.
        if re.search(r"^debian:", text, re.MULTILINE) and not (spec.parent / "strata.lock").exists():
            expect(failures, f"{spec.relative_to(ROOT)} exit code without strata.lock",
                   r.returncode, 2)
            expect(failures, f"{spec.relative_to(ROOT)} error without strata.lock", r.stderr,
                   f"{spec}: error: the spec has debs but there is no strata.lock beside it; run "
                   f"`strata lock {spec}`\n")
            continue
        if not missing:
            expect(failures, f"{spec.relative_to(ROOT)} exit code (stderr: {r.stderr})",
                   r.returncode, 0)
            continue
        prefix, path = missing[0]
        line = next(n for n, l in enumerate(text.splitlines(), 1) if l.startswith(prefix + path))
        expect(failures, f"{spec.relative_to(ROOT)} exit code without {path}", r.returncode, 1)
        expect(failures, f"{spec.relative_to(ROOT)} error without {path}", r.stderr.splitlines()[0],
               f"{spec}:{line}:{len(prefix) + 1}: error: image {path}: No such file or directory")

    for failure in failures:
        print(failure, file=sys.stderr)
    print("strata validate end to end:", "FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
