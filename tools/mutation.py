"""Mutation testing of the security checks, with the score per module.

    python tools/mutation.py            # a fresh mutmut run (pyproject.toml), then the score
    python tools/mutation.py --report   # score the last run again, without running
    python tools/mutation.py flask_passlock.csrf   # only the mutants of these modules

A run starts from an empty ``mutants/`` folder: mutmut reuses what it finds there, and a file
it mutated in an earlier run with other settings can be skipped without a word.

Every mutant that survives is listed with its diff. A mutant known to change nothing a caller
can observe is listed in EQUIVALENT below, with the text its mutated line must contain (so a
list gone stale after the code moved shows up as survivors, never as silent passes) and why.
The exit status is 1 when a module falls short: every non-equivalent mutant of the modules in
STRICT must be killed; the others must reach 90 %.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The mutmut installed beside this Python (``pip install -e '.[dev]'``).
_BESIDE = Path(sys.executable).with_name("mutmut")
MUTMUT = [str(_BESIDE) if _BESIDE.exists() else shutil.which("mutmut") or "mutmut"]

MODULES = (
    "csrf",
    "redirects",
    "tokens",
    "_text",
    "client",
    "_transport",
    "principal",
    "_json",
)
#: Modules whose every non-equivalent mutant must be killed.
STRICT = {"csrf", "redirects", "tokens", "_text"}
#: Score the other modules must reach.
FLOOR = 90.0

_METHOD = "requests upper-cases the method before sending it"
_CHUNK = "the chunk size changes how the body is read, not what is kept: the cap is on the total"

#: mutant -> (text its mutated line contains, why no test can tell it from the original).
EQUIVALENT: dict[str, tuple[str, str]] = {
    **{
        f"flask_passlock.client.xǁPasslockClientǁ{name}": (f'("{method}"', _METHOD)
        for name, method in (
            ("create_challenge__mutmut_33", "post"),
            ("delete_challenge__mutmut_8", "delete"),
            ("delete_passkey__mutmut_8", "delete"),
            ("delete_user_passkeys__mutmut_14", "delete"),
            ("exchange_code__mutmut_10", "get"),
            ("exchange_code__mutmut_19", "post"),
            ("get_challenge__mutmut_9", "get"),
            ("get_passkey__mutmut_8", "get"),
            ("list_passkeys__mutmut_21", "get"),
            ("update_passkey__mutmut_17", "patch"),
            ("update_user_passkeys__mutmut_20", "patch"),
            ("verify_challenge__mutmut_19", "post"),
        )
    },
    "flask_passlock.client.xǁPasslockClientǁlist_passkeys__mutmut_11": (
        "safe='XXXX'",
        "'X' is unreserved: quote() never encodes it, so safe='' and safe='XXXX' encode alike",
    ),
    "flask_passlock.client.xǁPasslockClientǁfetch__mutmut_15": (
        "for first in (True, True)",
        "a resend always gets a new connection from urllib3 (its pool hands out the empty slot"
        " the failed one left), so reused is false and no third attempt is possible",
    ),
    "flask_passlock.client.xǁPasslockClientǁfetch__mutmut_23": (
        "allow_redirects=None",
        "requests tests allow_redirects for truth only: None follows no redirect, as False",
    ),
    "flask_passlock.client.x__read_limited__mutmut_6": ("65 * 1024", _CHUNK),
    "flask_passlock.client.x__read_limited__mutmut_7": ("64 * 1025", _CHUNK),
    "flask_passlock._text.x__scripts__mutmut_7": (
        'unicodedata.name(char, "XXXX")',
        "an unnamed letter's stand-in name only has to start with no script's name, as '' does",
    ),
    "flask_passlock._transport.xǁDeadlineǁ__init____mutmut_8": (
        "_done = None",
        "_done is only tested for truth, and None is false like False",
    ),
    "flask_passlock._transport.xǁ_DeadlinePoolǁ_get_conn__mutmut_2": (
        "_get_conn(None)",
        "the pools never block (pool_block=False), so urllib3 ignores the wait for a connection",
    ),
    "flask_passlock._transport.xǁ_Watchdogǁ_run__mutmut_12": (
        "wait >= 0",
        "a wait of exactly 0 s returns at once; the next turn expires the deadline, as before",
    ),
}

_LINE = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")


def module_of(mutant: str) -> str:
    return mutant.split(".")[1]


def results() -> dict[str, str]:
    out = subprocess.run(
        [*MUTMUT, "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        match = _LINE.match(line)
        if match and match["name"].startswith("flask_passlock."):
            found[match["name"]] = match["status"].strip()
    return found


def diff(mutant: str) -> list[str]:
    out = subprocess.run(
        [*MUTMUT, "show", mutant], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    return [
        line
        for line in out.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def score(wanted: list[str]) -> int:
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[tuple[str, list[str]]] = []
    stale = []
    for mutant, status in sorted(results().items()):
        module = module_of(mutant)
        if module not in MODULES or (wanted and module not in wanted):
            continue
        if status in ("killed", "timeout", "caught by type check"):
            by_module[module]["killed"] += 1
        elif status == "survived" and mutant in EQUIVALENT:
            expected, _ = EQUIVALENT[mutant]
            lines = diff(mutant)
            if any(expected in line for line in lines if line.startswith("+")):
                by_module[module]["equivalent"] += 1
            else:
                stale.append(mutant)
                by_module[module]["survived"] += 1
                survivors.append((mutant, lines))
        elif status in ("survived", "no tests", "suspicious", "segfault"):
            by_module[module]["survived" if status != "no tests" else "no tests"] += 1
            survivors.append((mutant, diff(mutant)))
        else:  # "not checked", "skipped"...
            by_module[module]["not run"] += 1
        by_module[module]["total"] += 1

    for mutant, lines in survivors:
        print(f"\n{mutant}")
        print("\n".join(f"    {line}" for line in lines))
    for mutant in stale:
        print(f"\n{mutant} is listed as equivalent, but its diff is another one now")

    header = f"{'module':<12}{'killed':>8}{'survived':>10}{'no test':>9}{'equiv.':>8}"
    header += f"{'not run':>9}{'total':>7}{'score':>9}"
    print(f"\n{header}\n{'-' * len(header)}")
    failed = False
    for module in wanted or MODULES:
        counts = by_module.get(module)
        if not counts:
            failed = True
            print(f"{module:<12}  no mutant was run  <- short")
            continue
        judged = counts["total"] - counts["equivalent"] - counts["not run"]
        percent = 100.0 * counts["killed"] / judged if judged else 100.0
        short = counts["not run"] > 0 or (percent < 100.0 if module in STRICT else percent < FLOOR)
        failed |= short
        print(
            f"{module:<12}{counts['killed']:>8}{counts['survived']:>10}{counts['no tests']:>9}"
            f"{counts['equivalent']:>8}{counts['not run']:>9}{counts['total']:>7}"
            f"{percent:>8.1f}%{'  <- short' if short else ''}"
        )
    print("\nscore = killed / (total - equivalent); every mutant must have been run")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="score the last run only")
    parser.add_argument("modules", nargs="*", help="e.g. flask_passlock.csrf (default: all)")
    args = parser.parse_args()
    wanted = [m.removeprefix("flask_passlock.") for m in args.modules]
    unknown = set(wanted) - set(MODULES)
    if unknown:
        parser.error(f"not a module under mutation testing: {sorted(unknown)}")
    if not args.report:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        patterns = [f"flask_passlock.{m}.*" for m in wanted]
        run = subprocess.run([*MUTMUT, "run", *patterns], cwd=ROOT, check=False)
        if run.returncode not in (0, None):
            print(f"mutmut run failed ({run.returncode})", file=sys.stderr)
            return run.returncode
    return score(wanted)


if __name__ == "__main__":
    sys.exit(main())
