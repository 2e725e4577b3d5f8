"""Reliability benchmark (issue 12): kill -9 in the middle of writes, concurrent writers, bad input.

    python benchmarks/bench_reliability.py [--kills 8] [--rounds 5] [--seed 0]

Prints figures; asserts nothing.  Three parts:

1. ``--kills`` times each, a writer is killed with SIGKILL at a random moment: a process saving a
   project in a loop (``save``), ``embryo-repair import`` of a video (``import``) and
   ``embryo-repair export --csv`` (``export``).  After each kill the project (or the exported pair)
   is checked: readable?  consistent (every embryo's frame file present with its frames; the .h5
   and .csv of an export describing the same frames)?  Files left that nothing refers to (temps,
   orphan frame files, a stale lock, a half-done commit journal) are counted, then the *next
   command* is run (a writer: ``embryo-repair autoclean``, or the same export again) and everything
   is counted again.  Targets after the next command: 0 unreadable, 0 inconsistent, 0 leftover.
2. ``--rounds`` times, three ``embryo-repair import`` runs into one project start at once (each a
   different embryo) beside one process that keeps the project open for writing for a moment (as
   the app does): a lost update is an import that exited 0 whose embryo is not in the project.
3. The bad-input set of issue 12: each must exit 2 with one stderr line naming the file, no
   traceback, and leave every file as it was.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def env(**extra) -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    e.update({k: str(v) for k, v in extra.items()})
    return e


def cli_args(*args) -> list[str]:
    return [PY, "-m", "embryo_gui.cli.main", *map(str, args)]


def cli(*args, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(cli_args(*args), capture_output=True, text=True, env=env(**extra), cwd=REPO, timeout=300)


def write_video(path: Path, n: int, w: int = 188, h: int = 128, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 7, (w, h))
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        for _ in range(12):
            x, y = int(rng.integers(10, w - 10)), int(rng.integers(10, h - 10))
            cv2.circle(f, (x, y), 5, (0, 200, 0), -1)
        vw.write(f)
    vw.release()
    return path


SAVE_LOOP = r"""
import sys
from embryo_gui import edits
from embryo_gui.model import Project
p = Project.open(sys.argv[1], write=True)
e = p.embryos[0]
print("ready", flush=True)
k = 0
while True:
    k += 1
    e.history.push(edits.SetValues([k % e.n_frames], [float(k % 500 + 1)]))
    p.save()
"""

HOLD_A_MOMENT = r"""
import sys, time
from embryo_gui.model import Project
from embryo_gui.model.lock import set_default_holder
set_default_holder("bench app")
p = Project.open(sys.argv[1], write=True, wait=60)
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
p.close()
"""


# --- checks ---------------------------------------------------------------------------------------------

def project_state(path: Path) -> tuple[bool, bool, set[str]]:
    """(readable, consistent, files it legitimately needs) of a project file."""
    from embryo_gui.model import Project
    from embryo_gui.errors import EmbryoError
    try:
        p = Project.open(path)
    except EmbryoError:
        return False, False, set()
    needed = {str(path)}
    bak = path.with_name(path.name + ".bak")
    if bak.exists():
        needed.add(str(bak))
        try:
            for e in Project.open(bak).embryos:
                needed.add(str(e.frames.path))
        except EmbryoError:
            pass
    ok = True
    for e in p.embryos:
        needed.add(str(e.frames.path))
        try:
            if len(e.frames) != e.n_frames or e.frames[e.n_frames - 1].shape != tuple(e.frame_shape):
                ok = False
        except (EmbryoError, OSError, IndexError):
            ok = False
    p.close()
    return True, ok, needed


def pair_state(h5: Path, csv: Path) -> tuple[bool, bool]:
    """(readable, consistent) of an exported .h5 + .csv pair."""
    import h5py
    try:
        with h5py.File(h5, "r") as f:
            pop = f["population"][()]
            n = int(f.attrs["n_frames"])
        rows = csv.read_text().strip().splitlines()[1:]
    except Exception:
        return False, False
    same = n == len(pop) == len(rows) and all(float(r.split(",")[3]) == v for r, v in zip(rows, pop))
    return True, same


def leftovers(folder: Path, needed: set[str], inputs: set[str]) -> tuple[int, int]:
    """Files under ``folder`` that are neither needed nor inputs: (count, bytes)."""
    n = b = 0
    for p in folder.rglob("*"):
        if p.is_file() and str(p) not in needed and str(p) not in inputs:
            n += 1
            b += p.stat().st_size
    return n, b


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


# --- part 1: kills -------------------------------------------------------------------------------------

def make_base(work: Path) -> tuple[Path, Path]:
    base = work / "base"
    base.mkdir()
    video = write_video(work / "emb.mp4", 80)
    csv = work / "emb.csv"
    csv.write_text("frame,A,E\n" + "".join(f"{i},{2 ** min(i // 12, 6)},2\n" for i in range(80)))
    for name in ("e0", "e1"):
        r = cli("import", base / "p.h5", video, "--annotations", csv, "--name", name)
        assert r.returncode == 0, r.stderr
    # an exported pair to be replaced by the killed exports (the project changes after it)
    assert cli("export", base / "p.h5", base / "out.h5", "--csv", base / "out.csv").returncode == 0
    assert cli("autoclean", base / "p.h5").returncode == 0
    return base, video


def timed(args, **kw) -> float:
    t = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True, env=env(), cwd=REPO, **kw)
    assert r.returncode == 0, r.stderr
    return time.perf_counter() - t


def kill_trials(work: Path, base: Path, video: Path, n: int, rng: random.Random) -> dict:
    stats = {k: {"kills": 0, "unreadable_after_kill": 0, "inconsistent_after_kill": 0, "leftover_after_kill": 0,
                 "leftover_bytes_after_kill": 0, "unreadable": 0, "inconsistent": 0, "leftover": 0,
                 "leftover_bytes": 0, "cleanup_lines": 0} for k in ("save", "import", "export")}
    inputs = {str(video), str(work / "emb.csv")}
    # durations of one un-killed run, to spread the kills over the whole command
    t_import = timed(cli_args("import", shutil.copytree(base, work / "t_imp") / "p.h5", video, "--name", "x"))
    t_export = timed(cli_args("export", base / "p.h5", work / "o.h5", "--csv", work / "o.csv"))
    for kind in ("save", "import", "export"):
        for trial in range(n):
            d = shutil.copytree(base, work / f"{kind}{trial}")
            proj = d / "p.h5"
            out_h5, out_csv = d / "out.h5", d / "out.csv"
            if kind == "save":
                proc = subprocess.Popen([PY, "-c", SAVE_LOOP, str(proj)], stdout=subprocess.PIPE, text=True,
                                        env=env(), cwd=REPO)
                proc.stdout.readline()
                delay = rng.uniform(0.05, 1.5)
            elif kind == "import":
                proc = subprocess.Popen(cli_args("import", proj, video, "--name", "new"), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, env=env(), cwd=REPO)
                delay = rng.uniform(0.3, t_import * 1.05)
            else:
                proc = subprocess.Popen(cli_args("export", proj, out_h5, "--csv", out_csv, "--force"),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(), cwd=REPO)
                delay = rng.uniform(0.3, t_export * 1.05)
            time.sleep(delay)
            if proc.poll() is not None:  # finished before the kill: not counted as a kill
                if proc.stdout:
                    proc.stdout.close()
                continue
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
            s = stats[kind]
            s["kills"] += 1

            def check(after: str) -> None:
                ok_read, ok_cons, needed = project_state(proj)
                needed |= {str(out_h5), str(out_csv)}  # the exported pair (from the base, or replaced)
                if kind == "export":
                    r2, c2 = pair_state(out_h5, out_csv)
                    ok_read &= r2
                    ok_cons &= c2
                n_left, b_left = leftovers(d, needed, inputs)
                s["unreadable" + after] += not ok_read
                s["inconsistent" + after] += not ok_cons
                s["leftover" + after] += n_left
                s["leftover_bytes" + after] += b_left

            check("_after_kill")
            if kind == "export":  # the next command: the same export again
                r = cli("export", proj, out_h5, "--csv", out_csv, "--force")
            else:  # the next command: any writer
                r = cli("autoclean", proj)
            if r.returncode != 0:
                print(f"  next command failed after a {kind} kill: {r.stderr.strip()}")
            s["cleanup_lines"] += ("interrupted" in r.stderr)
            check("")
            shutil.rmtree(d)
    return stats


# --- part 2: concurrent writers -----------------------------------------------------------------------------

def concurrent_rounds(work: Path, base: Path, video: Path, rounds: int) -> dict:
    from embryo_gui.model import Project
    out = {"rounds": rounds, "writers": 0, "exit0": 0, "refused": 0, "lost_updates": 0, "orphans": 0,
           "unreadable": 0}
    for r in range(rounds):
        d = shutil.copytree(base, work / f"conc{r}")
        proj = d / "p.h5"
        app = subprocess.Popen([PY, "-c", HOLD_A_MOMENT, str(proj), "1.0"], stdout=subprocess.PIPE, text=True,
                               env=env(), cwd=REPO)
        app.stdout.readline()  # the imports start while the "app" holds the project
        procs = [subprocess.Popen(cli_args("import", proj, video, "--name", f"c{k}"), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, env=env(EMBRYO_GUI_LOCK_WAIT=60), cwd=REPO)
                 for k in range(3)]
        codes = [p.wait(timeout=300) for p in procs]
        for p in procs:
            p.stderr.close()
        app.wait(timeout=120)
        app.stdout.close()
        out["writers"] += len(procs)
        out["exit0"] += sum(c == 0 for c in codes)
        out["refused"] += sum(c == 2 for c in codes)
        try:
            names = set(Project.open(proj).names)
        except Exception:
            out["unreadable"] += 1
            names = set()
        out["lost_updates"] += sum(1 for k, c in enumerate(codes) if c == 0 and f"c{k}" not in names)
        ok_read, ok_cons, needed = project_state(proj)
        out["orphans"] += sum(1 for p in (d / "p.frames").glob("*.h5") if str(p) not in needed)
        shutil.rmtree(d)
    # the app holds the project: a CLI writer with a short wait is refused with one line, files unchanged
    d = shutil.copytree(base, work / "held")
    app = subprocess.Popen([PY, "-c", HOLD_A_MOMENT, str(d / "p.h5"), "60"], stdout=subprocess.PIPE, text=True,
                           env=env(), cwd=REPO)
    app.stdout.readline()
    before = digest(d)
    r = cli("autoclean", d / "p.h5", EMBRYO_GUI_LOCK_WAIT=1)
    out["held_refusal"] = (r.returncode, r.stderr.strip())
    out["held_unchanged"] = digest(d) == before
    app.kill()
    app.wait()
    app.stdout.close()
    shutil.rmtree(d)
    return out


# --- part 3: bad input -------------------------------------------------------------------------------------

def bad_inputs(work: Path, base: Path) -> dict:
    import tifffile
    d = shutil.copytree(base, work / "bad")
    proj = d / "p.h5"
    png = d / "img.png"
    cv2.imwrite(str(png), np.full((48, 64, 3), 60, np.uint8))
    (d / "fake.mp4").write_bytes(png.read_bytes())
    (d / "cut.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    tifffile.imwrite(d / "stack.tif", np.random.default_rng(0).integers(0, 255, (10, 48, 64), dtype=np.uint8))
    files = {
        "huge_index.csv": "frame,population\n0,3\n100000000000000000000000,4\n",
        "huge_count.csv": "frame,population\n0,3\n1,1e300\n",
        "long_field.csv": "frame,population\n0,3\n1," + "9" * 140000 + "\n",
        "epic_long.csv": "cellTime,cell,time\nABa_1,ABa,1\nx,ABp," + "9" * 140000 + "\n",
        "epic_time.csv": "cellTime,cell,time\nABa_1,ABa,1\nx,ABp,1e23\n",
    }
    for name, text in files.items():
        (d / name).write_text(text)
    damaged = d / "damaged"
    damaged.mkdir()
    cases = [(("import", proj, d / "stack.tif", "--annotations", d / n, "--name", "x"), d / n) for n in files]
    cases += [
        (("import", proj, d / "stack.tif", "--time-offset", "1e20"), "--time-offset"),
        (("import", proj, d / "stack.tif", "--frames-per-timepoint", "1e300"), "--frames-per-timepoint"),
        (("export", proj, "/proc/x.h5"), "/proc/x.h5"),
        (("import", "/proc/p.h5", d / "stack.tif"), "/proc/p.h5"),
        (("import", proj, d / "fake.mp4", "--name", "y"), d / "fake.mp4"),
        (("import", proj, d / "cut.mp4", "--name", "z"), d / "cut.mp4"),
    ]
    out = {"cases": 0, "exit2_one_line": 0, "tracebacks": 0, "files_changed": 0, "failures": []}
    for args, needle in cases:
        before = digest(d)
        r = cli(*args)
        lines = r.stderr.strip().splitlines()
        ok = r.returncode == 2 and len(lines) == 1 and str(needle) in lines[0]
        out["cases"] += 1
        out["exit2_one_line"] += ok
        out["tracebacks"] += "Traceback" in r.stderr
        changed = digest(d) != before
        out["files_changed"] += changed
        if not ok or changed:
            out["failures"].append((args[0], str(needle), r.returncode, r.stderr.strip()[-200:]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=5, help="kills per kind of writer (save, import, export)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of three concurrent imports")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_reliability_") as tmp:
        work = Path(tmp)
        base, video = make_base(work)
        kills = kill_trials(work, base, video, args.kills, rng)
        conc = concurrent_rounds(work, base, video, args.rounds)
        bad = bad_inputs(work, base)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; total {time.perf_counter() - t0:.0f} s")
    print("1. kill -9 during a write (then the next command: autoclean, or the export again)")
    print(f"   {'writer':<8}{'kills':>6}  | after the kill: {'unreadable':>10} {'inconsistent':>12} {'leftover':>9} "
          f"{'bytes':>10}  | after the next command: {'unreadable':>10} {'inconsistent':>12} {'leftover':>9} "
          f"{'bytes':>7}")
    tot = {k: 0 for k in next(iter(kills.values()))}
    for kind, s in kills.items():
        for k, v in s.items():
            tot[k] += v
        print(f"   {kind:<8}{s['kills']:>6}  | {'':15} {s['unreadable_after_kill']:>10} {s['inconsistent_after_kill']:>12} "
              f"{s['leftover_after_kill']:>9} {s['leftover_bytes_after_kill']:>10}  | {'':23} {s['unreadable']:>10} "
              f"{s['inconsistent']:>12} {s['leftover']:>9} {s['leftover_bytes']:>7}")
    print(f"   {'total':<8}{tot['kills']:>6}  | {'':15} {tot['unreadable_after_kill']:>10} "
          f"{tot['inconsistent_after_kill']:>12} {tot['leftover_after_kill']:>9} {tot['leftover_bytes_after_kill']:>10}"
          f"  | {'':23} {tot['unreadable']:>10} {tot['inconsistent']:>12} {tot['leftover']:>9} {tot['leftover_bytes']:>7}")
    print(f"   the next command reported a cleanup / completed export {tot['cleanup_lines']} times")
    print(f"2. concurrent writers: {conc['rounds']} rounds x 3 imports beside a holder: {conc['writers']} writers, "
          f"exit 0 {conc['exit0']}, refused {conc['refused']}, lost updates {conc['lost_updates']}, "
          f"unreadable {conc['unreadable']}, orphan frame files {conc['orphans']}")
    rc, line = conc["held_refusal"]
    print(f"   CLI writer while the project is held: exit {rc}, files unchanged {conc['held_unchanged']}: {line}")
    print(f"3. bad input: {bad['cases']} cases, exit 2 with one line naming the file {bad['exit2_one_line']}, "
          f"tracebacks {bad['tracebacks']}, files changed {bad['files_changed']}")
    for f in bad["failures"]:
        print(f"   FAILED: {f}")


if __name__ == "__main__":
    main()
