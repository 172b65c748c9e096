"""Benchmark: the streaming 834 reader against pyx12, and its memory as N grows.

    .venv/bin/python bench/bench_x12_reader.py                  # 20,000 and 100,000
    .venv/bin/python bench/bench_x12_reader.py --members 2000 --skip-pyx12

For each size it writes a synthetic DHCS-style 834 to a temporary directory, then
times, each in its own child process so that the peak RSS belongs to that step
alone: `check_envelope` (the first pass of the importer), a full
`iter_member_records` pass (the second), and pyx12's validator on the same file.
Peak RSS comes from `wait4`'s rusage of each child. Linux carries the parent's peak
RSS into a child across fork and exec, so this parent imports nothing heavy (even
the file is written by a child) and its children's figures are their own; a child
that only imports the reader gives the baseline. Flat memory means the reader's
RSS is the same at 20k and 100k members.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(step: str, path: str, members: int) -> None:
    """Run one step in this (child) process and print its figures as JSON."""
    from members.x12 import check_envelope, iter_member_records, synthetic

    started = time.perf_counter()
    if step == "write":
        count = synthetic.write_834(path, members, prior_cins=0.05, terminations=0.02)
    elif step == "envelope":
        count = check_envelope(path).member_records
    elif step == "records":
        tally = Counter(record.is_valid for record in iter_member_records(path))
        count, invalid = tally.total(), tally[False]
        if invalid:
            raise SystemExit(f"{invalid} records failed validation")
    else:
        count = 0
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "count": count, "peak_kb": peak}))


def run(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) of this child alone, and its stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = process.stdout.read().decode()
    stderr = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{command} failed ({process.returncode}): {stderr[-2000:]}")
    return seconds, usage.ru_maxrss, stdout + stderr


def step(name: str, path: Path, members: int = 0) -> dict:
    _, peak, output = run(
        [sys.executable, __file__, "--child", name, str(path), str(members)]
    )
    figures = json.loads(output.strip().splitlines()[-1])
    figures["peak_kb"] = peak
    return figures


def bench(members: int, directory: Path, skip_pyx12: bool) -> dict:
    path = directory / f"bench-{members}.x12"
    write = step("write", path, members)
    result = {
        "members": members,
        "megabytes": path.stat().st_size / 1e6,
        "write": write,
        "baseline": step("baseline", path),
        "envelope": step("envelope", path),
        "records": step("records", path),
    }
    assert result["envelope"]["count"] == members
    assert result["records"]["count"] == members
    if not skip_pyx12:
        seconds, peak, output = run(
            [sys.executable, "-m", "pyx12.scripts.x12valid", "-q", str(path)]
        )
        if f"{path}: OK" not in output:
            raise SystemExit(f"pyx12 did not accept the file: {output[-2000:]}")
        result["pyx12"] = {"seconds": seconds, "peak_kb": peak}
    return result


def report(result: dict) -> None:
    members = result["members"]
    envelope, records = result["envelope"], result["records"]
    reader_seconds = envelope["seconds"] + records["seconds"]
    print(f"\n{members:,} members, {result['megabytes']:.1f} MB file")
    print(
        f"  write (synthetic)      {result['write']['seconds']:7.2f} s  "
        f"peak RSS {result['write']['peak_kb'] / 1024:6.1f} MiB"
    )
    print(
        f"  check_envelope         {envelope['seconds']:7.2f} s  "
        f"peak RSS {envelope['peak_kb'] / 1024:6.1f} MiB"
    )
    print(
        f"  iter_member_records    {records['seconds']:7.2f} s  "
        f"peak RSS {records['peak_kb'] / 1024:6.1f} MiB  "
        f"{members / records['seconds']:,.0f} records/s"
    )
    print(
        f"  both passes            {reader_seconds:7.2f} s  "
        f"(import-only baseline RSS {result['baseline']['peak_kb'] / 1024:.1f} MiB)"
    )
    if "pyx12" in result:
        pyx12 = result["pyx12"]
        print(
            f"  pyx12 x12valid         {pyx12['seconds']:7.2f} s  "
            f"peak RSS {pyx12['peak_kb'] / 1024:6.1f} MiB  "
            f"= {pyx12['seconds'] / records['seconds']:.0f}x the record pass, "
            f"{pyx12['seconds'] / reader_seconds:.0f}x both passes"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--skip-pyx12", action="store_true")
    parser.add_argument(
        "--child", nargs=3, metavar=("STEP", "PATH", "MEMBERS"), help=argparse.SUPPRESS
    )
    arguments = parser.parse_args()
    if arguments.child:
        step_name, path, members = arguments.child
        child(step_name, path, int(members))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-x12-") as directory:
        for members in arguments.members:
            result = bench(members, Path(directory), arguments.skip_pyx12)
            report(result)
            results.append(result)
    if len(results) > 1:
        peaks = [r["records"]["peak_kb"] / 1024 for r in results]
        sizes = ", ".join(f"{r['members']:,}" for r in results)
        print(
            f"\nrecord pass peak RSS at {sizes} members: "
            + ", ".join(f"{peak:.1f} MiB" for peak in peaks)
        )


if __name__ == "__main__":
    main()
