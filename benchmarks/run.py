#!/usr/bin/env python
"""tfgrad benchmarks: parse / derive / evaluate beside hand-written NumPy.

    python benchmarks/run.py             every case (several minutes: the
                                         largest files hold 17M numbers)
    python benchmarks/run.py --quick     the smallest case of each family
    python benchmarks/run.py --case mlp-32 --case fan   (a name or a family)
    python benchmarks/run.py --list      the cases
    python benchmarks/run.py --json      one JSON object on stdout

Each case runs in a fresh child process (this script with ``--child``): it
reads the generated graph file, then times ``parse_graph``, ``derive`` and
``evaluate`` and the family's NumPy forward + backward (benchmarks/cases.py)
with ``time.perf_counter`` in that same process, reports medians, and checks
that the gradients agree. Memory is the peak resident set size during each
stage (Linux ``VmHWM``, reset before the stage through
``/proc/self/clear_refs``) minus the resident size when the stage began.
Whole-process timings of ``python -m tfgrad run FILE`` (and of the
``tfgrad`` console script when one is on PATH) come from ``os.wait4``: wall
time and the child's own max RSS.

Exit status: 0 when every case ran and every gradient agreed (targets are
reported, not enforced, unless ``--strict``); 1 otherwise; 2 bad usage.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import cases as C  # noqa: E402

RTOL = 1e-9
ATOL = 1e-12  # in units of max(1, max|reference gradient|)

# (derive + evaluate) / numpy targets (issue 15: 1.2x on the BLAS-bound
# families, 4x on the deep thin graphs; cnn's 2x from issue 12)
RATIO_TARGETS = {"matmul": 1.2, "mlp": 1.2, "cnn": 2.0}
RATIO_TARGET_OVERRIDES = {"chain-10000": 4.0, "fan-2000": 4.0}
# memory (issue 15): the peak of what derive + evaluate allocate (tracemalloc,
# array buffers included) within MEM_TARGET times the NumPy pass's peak, on
# every case. The NumPy side counts as at least MEM_FLOOR_MB: a tiny graph's
# reference allocates a few kB, where any interpreter's bookkeeping is more.
MEM_TARGET = 1.5
MEM_FLOOR_MB = 1.0
FLOOR_CODE = "import numpy, sympy"  # the imports every tfgrad run needs (issue 15's floor)
CLI_TARGETS = {  # case -> (median wall seconds, max RSS MB or None, runs)
    "tutorial": (0.45, None, 7),  # the import floor on a quiet machine (issue 15)
    "chain-10000": (3.0, 150.0, 3),
}
GALLERY_CHECK = (2.0, 3)  # `tfgrad check graphs/ -j 2`: median wall seconds, runs (issue 15)
# issue 13: parse_graph of the weight-heavy MLP, its weights in the YAML file
# and in .npy files (seconds); JSON output (seconds per million numbers, for
# cases whose gradients hold at least a million)
PARSE_TARGETS = {"mlp-32": 0.5, "mlp-32-npy": 0.05}
JSON_TARGET_S_PER_M = 0.5
JSON_MIN_NUMBERS = 1_000_000
LINEAR_SLACK = 1.5  # per-op time of the largest may be 1.5x the smallest's
DEFAULT_REPEAT = 5  # small cases: median of 5 runs of every stage
BIG_REPEAT = 3  # big cases: parse once, derive/evaluate/numpy median of 3
BIG_FILE_NUMBERS = 100_000  # files with more numbers than this are parsed once
ROUND_BUDGET_S = 2.0  # derive/evaluate/numpy: more timed rounds while under this
QUICK_ROUND_BUDGET_S = 0.5
MAX_ROUNDS = 30
LOAD_WARNING = 0.5  # 1-minute load average above which the header warns


# --------------------------------------------------------------------------
# Environment


def engine_env() -> dict[str, str]:
    """The environment for child processes: tfgrad importable from cli/
    when it is not installed."""
    env = dict(os.environ)
    try:
        import importlib.util

        found = importlib.util.find_spec("tfgrad") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT / "cli"), env.get("PYTHONPATH", "")) if p
        )
    return env


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if infos:
            return "; ".join(
                f"{i.get('internal_api')} {i.get('version')}, {i.get('num_threads')} threads, "
                f"kernel {i.get('architecture')} (threadpoolctl)"
                for i in infos
            )
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')} (numpy.show_config; kernel unknown without threadpoolctl)"
    except Exception:  # noqa: BLE001 - older numpy
        return "unknown"


def git_describe() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=10,
        )
        return out.stdout.strip() or "no commits"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def round_budget(args) -> float:
    return QUICK_ROUND_BUDGET_S if args.quick else ROUND_BUDGET_S


def timing_text(args) -> str:
    if args.repeat:
        rest = f"median of {args.repeat} rounds"
    else:
        rest = (f"median of at least {DEFAULT_REPEAT} rounds ({BIG_REPEAT} for big cases), "
                f"more while under {round_budget(args):g} s (at most {MAX_ROUNDS})")
    return ("time.perf_counter, one child process per case, NumPy in the same process; "
            f"parse: median of {args.repeat or DEFAULT_REPEAT} runs, a single run for big cases "
            f"and files of {BIG_FILE_NUMBERS:,}+ numbers; derive/evaluate/numpy: one untimed "
            f"warm-up round, then {rest}; the runs column says parse runs/rounds; "
            + ("gc.collect() before each stage (--split-stages)" if args.split_stages else
               "gc.collect() before derive+evaluate (timed back to back, as tfgrad run runs "
               "them) and before numpy"))


def meta(args) -> dict:
    import sympy

    env_vars = {
        k: os.environ.get(k)
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    }
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "sympy": sympy.__version__,
        "blas": blas_info(),
        "env": env_vars,
        "tfgrad": git_describe(),
        "timing": timing_text(args),
        "memory": ("per stage: peak RSS during the stage (VmHWM, reset via /proc/self/clear_refs) "
                   "minus RSS at its start; peakMB: the case process's peak RSS"
                   if MemProbe().exact else
                   "per stage: growth of the process's max RSS (ru_maxrss; /proc/self/clear_refs "
                   "unavailable, so a stage that peaks below an earlier one shows 0)")
                  + ("" if args.split_stages else
                     " (derive and evaluate: in the warm-up round, where each runs on its own)")
                  + "; alloc d+e/np: the peak of what derive + evaluate, and the NumPy pass, allocate "
                  + "(tracemalloc, array buffers included, one extra untimed round), target "
                  + f"d+e <= {MEM_TARGET:g} x np (np counted as at least {MEM_FLOOR_MB:g} MB)"
                  + "; whole process: max RSS of the child (os.wait4)",
        "load": load_average(),
        "agreement": f"|tfgrad - numpy| <= {RTOL:g} * |numpy| + {ATOL:g} * max(1, max|numpy|), elementwise",
    }


# --------------------------------------------------------------------------
# Child: one case in a fresh process


def _read_status() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                key, value, _unit = line.split()
                out[key[:-1]] = int(value) / 1024.0  # MB
    return out


class MemProbe:
    """Peak RSS of a stage. Linux: reset VmHWM before, read it after."""

    def __init__(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            _read_status()["VmHWM"]
            self.exact = True
        except (OSError, KeyError):
            self.exact = False

    def start(self) -> float:
        if self.exact:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return _read_status()["VmRSS"]
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    def stop(self, before: float) -> tuple[float, float]:
        """(peak MB, peak minus RSS at start MB)."""
        if self.exact:
            peak = _read_status()["VmHWM"]
        else:  # cumulative max RSS: a lower bound of the stage's own need
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        return peak, max(0.0, peak - before)


def compare(got: list, ref: list, xs: list[str], rtol: float = RTOL) -> dict:
    """Elementwise agreement of tfgrad's gradients with the reference's."""
    if got is None:
        return {"ok": False, "detail": "no gradients"}
    if len(got) != len(ref):
        return {"ok": False, "detail": f"{len(got)} gradients for {len(ref)} xs"}
    worst = 0.0
    for x, g, r in zip(xs, got, ref):
        if g is None or r is None:
            if (g is None) != (r is None):
                return {"ok": False, "detail": f"{x}: tfgrad {'None' if g is None else 'a value'}, "
                                               f"numpy {'None' if r is None else 'a value'}"}
            continue
        g = np.asarray(g, dtype=float)
        if g.shape != r.shape:
            return {"ok": False, "detail": f"{x}: shape {g.shape}, expected {r.shape}"}
        atol = ATOL * rtol / RTOL * max(1.0, float(np.max(np.abs(r))) if r.size else 1.0)
        with np.errstate(invalid="ignore"):
            err = np.abs(g - r)
            bad = ~(err <= rtol * np.abs(r) + atol)
            scaled = err / (np.abs(r) + atol / rtol)
        if r.size:
            worst = max(worst, float(np.nanmax(scaled)) if not np.all(np.isnan(scaled)) else math.inf)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return {"ok": False, "max_rel_err": worst,
                    "detail": f"{x}{list(idx)}: tfgrad {g[idx]!r}, numpy {r[idx]!r}"}
    return {"ok": True, "max_rel_err": worst}


def rounds(min_runs: int, exact: bool, budget: float):
    """Round numbers 0 (warm-up), 1, 2...: at least ``min_runs`` timed
    rounds; unless ``exact``, more until ``budget`` seconds have passed
    (at most MAX_ROUNDS), so that fast stages get a steadier median."""
    start = time.perf_counter()
    n = 0
    while True:
        yield n
        if n >= min_runs and (exact or n >= MAX_ROUNDS or time.perf_counter() - start >= budget):
            return
        n += 1


def alloc_peak(fn) -> float:
    """The peak of memory allocated while ``fn()`` runs, above what was
    allocated when it began, in MB (tracemalloc; NumPy reports its array
    buffers to it)."""
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        fn()
        return (tracemalloc.get_traced_memory()[1] - start) / 2**20
    finally:
        tracemalloc.stop()


def pipeline(derive, evaluate, graph) -> tuple[float, float, object]:
    """(derive's time, evaluate's time, the evaluation), timed back to back."""
    t0 = time.perf_counter()
    d = derive(graph)
    t1 = time.perf_counter()
    ev = evaluate(d)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, ev


def child_main(name: str, path: str, repeat: int, parse_repeat: int, exact: bool,
               budget: float = 2.0, split: bool = False) -> dict:
    problem = C.CASES[name].build()
    case_big = C.CASES[name].big
    values = problem.values
    text = Path(path).read_text()
    res: dict = {"case": name, "ops": problem.n_ops, "numbers": problem.n_numbers,
                 "repeat": repeat, "parse_repeat": parse_repeat}
    probe = MemProbe()
    res["memory_exact"] = probe.exact
    times: dict[str, list[float]] = {k: [] for k in ("parse", "derive", "evaluate", "numpy", "json")}
    mem: dict[str, float] = {}
    peak = [0.0]

    cpu: dict[str, list[float]] = {"parse": [], "json": []}

    def timed(stage: str, fn, *a, keep: bool = True):
        gc.collect()
        before = probe.start()
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = fn(*a)
        if keep:
            times[stage].append(time.perf_counter() - t0)
            if stage in cpu:  # CPU time too: the figure a loaded machine leaves intact
                cpu[stage].append(time.process_time() - c0)
        top, extra = probe.stop(before)
        mem[stage] = max(mem.get(stage, 0.0), extra)
        peak[0] = max(peak[0], top)
        return out

    engine = None
    try:
        from tfgrad.parse import parse_graph

        from tfgrad.engine import compute as evaluate
        from tfgrad.engine import derive

        if C.CASES[name].rank_n:  # higher order: only the rank-N engine has it
            from tfgrad.engine import compute as evaluate, derive  # noqa: F811

        engine = (parse_graph, derive, evaluate)
        # The parser refuses files over a size limit (a guard against hostile
        # input); the large cases exceed it by design, so raise it for them.
        import tfgrad.parse as tp

        limit = getattr(tp, "MAX_TEXT_CHARS", None)
        if isinstance(limit, int) and len(text) > limit:
            tp.MAX_TEXT_CHARS = len(text)
            res["limit_raised"] = f"tfgrad.parse.MAX_TEXT_CHARS raised from {limit:,} to {len(text):,}"
    except Exception:  # noqa: BLE001 - report it, still time NumPy
        res["error"] = "import: " + traceback.format_exc(limit=2).strip().splitlines()[-1]

    # warm-up, untimed: first calls (lazy imports, BLAS threads) on the tutorial
    tut = C.CASES["tutorial"].build()
    tut.reference()
    if engine is not None:
        try:
            engine[2](engine[1](engine[0](tut.yaml(), "tutorial.yaml")))
        except Exception:  # noqa: BLE001 - the real run reports it
            pass
    res["rss_start_mb"] = probe.start()

    grads = None
    stage = "parse"
    try:
        if engine is not None:
            parse_graph, derive, evaluate = engine
            graph = None
            for _ in range(parse_repeat):
                graph = None
                graph = timed("parse", parse_graph, text, path)
            # one untimed round first: the first runs after a large parse are
            # several times slower (page faults, allocator and BLAS warm-up).
            # It also measures each stage's memory on its own.
            for n in rounds(repeat, exact, budget):
                keep = n > 0
                if keep and not split:
                    # Derive and evaluate back to back, as `tfgrad run` runs
                    # them: one collection and one cold start for the pair,
                    # as the NumPy reference gets for its forward+backward.
                    stage = "derive or evaluate"
                    t_derive, t_evaluate, ev = timed("derive+evaluate", pipeline, derive, evaluate,
                                                     graph, keep=False)
                    times["derive"].append(t_derive)
                    times["evaluate"].append(t_evaluate)
                    grads = list(ev.gradients)
                    integral = list(ev.integral)
                    del ev
                else:
                    stage = "derive"
                    derivation = timed("derive", derive, graph, keep=keep)
                    stage = "evaluate"
                    ev = timed("evaluate", evaluate, derivation, keep=keep)
                    grads = list(ev.gradients)
                    integral = list(ev.integral)
                    del derivation, ev
                stage = "numpy"
                loss, ref = timed("numpy", problem.reference, values, keep=keep)
            # One more round, untimed, for what each side allocates at its
            # peak (tracemalloc: Python objects and NumPy's array buffers),
            # which the allocator's reuse of freed pages does not hide as it
            # hides RSS growth: the side that runs second reuses the heap the
            # first one grew.
            stage = "memory round"
            res["alloc_mb"] = {
                "derive+evaluate": alloc_peak(lambda: evaluate(derive(graph)) and None),
                "numpy": alloc_peak(lambda: problem.reference(values) and None),
            }
            # the JSON document of `tfgrad run --format json`, from the gradients
            # (issue 13: JSON output of 1M numbers under 0.5 s)
            stage = "json"
            from tfgrad.render import run_json_bytes as run_json  # what `run --format json` writes

            names = [x.name for x in graph.xs]
            shapes = [() if g is None else g.shape for g in grads]
            del graph
            res["json_numbers"] = sum(0 if g is None else g.size for g in grads)
            for n in range(1 + (1 if case_big else min(repeat, 3))):
                doc = timed("json", run_json, names, shapes, grads, integral, keep=n > 0)
                res["json_chars"] = len(doc)
                del doc
        else:
            for n in rounds(repeat, exact, budget):
                loss, ref = timed("numpy", problem.reference, values, keep=n > 0)
    except MemoryError:
        res["error"] = f"{stage}: out of memory"
    except Exception:  # noqa: BLE001
        res["error"] = f"{stage}: " + traceback.format_exc(limit=3).strip().splitlines()[-1]
        res["traceback"] = traceback.format_exc()
    if not times["numpy"]:  # engine failed before the reference ran
        try:
            loss, ref = timed("numpy", problem.reference, values)
        except MemoryError:
            ref = None
    res["repeat"] = len(times["numpy"])
    res["times"] = {k: statistics.median(v) for k, v in times.items() if v}
    res["times_min"] = {k: min(v) for k, v in times.items() if v}
    res["all_times"] = times
    res["cpu_times"] = {k: statistics.median(v) for k, v in cpu.items() if v}
    res["mem_mb"] = mem
    res["peak_rss_mb"] = peak[0]
    if grads is not None and ref is not None:
        res["agree"] = compare(grads, ref, problem.xs)
    return res


# --------------------------------------------------------------------------
# Parent


def select_cases(args) -> list[C.Case]:
    if args.case:
        chosen = []
        for want in args.case:
            hits = [c for c in C.CASES.values() if want in (c.name, c.family)]
            if not hits:
                print(f"run.py: error: unknown case {want!r}; try --list", file=sys.stderr)
                sys.exit(2)
            chosen.extend(c for c in hits if c not in chosen)
        return chosen
    if args.quick:
        return [c for c in C.CASES.values() if c.quick]
    return list(C.CASES.values())


def mem_limit_bytes(gb: float) -> int | None:
    if gb <= 0:
        return None
    return int(gb * 1024**3)


def default_mem_limit_gb() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2 * 0.7, 1)
    except OSError:
        pass
    return 0.0


def run_child(case: C.Case, path: Path, args, env, n_numbers: int) -> dict:
    repeat = args.repeat or (BIG_REPEAT if case.big else DEFAULT_REPEAT)
    # .npy files: a small graph file, parsed as often as small cases are
    parse_repeat = repeat if case.files else (
        1 if case.big or n_numbers >= BIG_FILE_NUMBERS else repeat)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", case.name,
           "--file", str(path), "--repeat", str(repeat), "--parse-repeat", str(parse_repeat)]
    if args.repeat:
        cmd.append("--exact")
    cmd += ["--budget", str(round_budget(args))]
    if args.split_stages:
        cmd.append("--split-stages")
    limit = mem_limit_bytes(args.mem_limit_gb)

    def preexec():
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env,
                             timeout=args.timeout, preexec_fn=preexec)
    except subprocess.TimeoutExpired:
        return {"case": case.name, "error": f"timed out after {args.timeout:g} s"}
    wall = time.perf_counter() - t0
    lines = out.stdout.strip().splitlines()
    try:
        res = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
        if out.returncode < 0:
            tail = f"killed by signal {-out.returncode} ({tail})"
        return {"case": case.name, "error": f"child failed: {tail}"}
    res["child_wall_s"] = wall
    return res


# Runs in a fresh, small interpreter (python -S) so that the max RSS that
# Linux reports for the measured child is its own: a child started from a
# large process inherits that process's peak RSS in ru_maxrss (exec records
# the old address space's high-water mark).
_LAUNCHER = r"""
import json, os, sys, time
cmd, runs, timeout, err_path, out_path = json.loads(sys.argv[1])
out = []
for _ in range(runs):
    acts = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, out_path or os.devnull,
             os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=acts)
    while True:
        got, status, usage = os.wait4(pid, os.WNOHANG)
        if got:
            break
        if time.perf_counter() - t0 > timeout:
            os.kill(pid, 9)
            os.wait4(pid, 0)
            out.append({"timeout": True})
            print(json.dumps(out))
            sys.exit(0)
        time.sleep(0.001)
    out.append({"wall": time.perf_counter() - t0, "maxrss_kb": usage.ru_maxrss,
                "cpu": usage.ru_utime + usage.ru_stime,
                "status": os.waitstatus_to_exitcode(status)})
    if out[-1]["status"] != 0:
        break
print(json.dumps(out))
"""


def time_cli(cmd: list[str], env, runs: int, timeout: float, out_path: str | None = None) -> dict:
    """Wall time and max RSS of ``cmd`` over ``runs`` runs (os.wait4 in a
    small launcher process); the last run's stdout goes to ``out_path``."""
    with tempfile.NamedTemporaryFile(prefix="tfgrad-bench-err-") as err:
        payload = json.dumps([cmd, runs, timeout, err.name, out_path])
        try:
            out = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, payload], env=env,
                                 capture_output=True, text=True, timeout=timeout * runs + 60)
            recs = json.loads(out.stdout)
        except (subprocess.SubprocessError, json.JSONDecodeError) as e:
            return {"error": f"launcher failed: {e}"}
        if recs and recs[-1].get("timeout"):
            return {"error": f"timed out after {timeout:g} s"}
        if not recs or recs[-1]["status"] != 0:
            msg = Path(err.name).read_text(errors="replace").strip().splitlines()
            status = recs[-1]["status"] if recs else "?"
            return {"error": f"exit status {status}: {msg[-1] if msg else ''}"}
    walls = [r["wall"] for r in recs]
    return {"runs": runs, "median_s": statistics.median(walls), "min_s": min(walls),
            "max_s": max(walls), "max_rss_mb": max(r["maxrss_kb"] for r in recs) / 1024.0,
            # user + system CPU of the process and the children it waited for
            # (check's workers): steadier than wall time on a loaded machine
            "median_cpu_s": statistics.median(r["cpu"] for r in recs)}


def check_cli_output(cmd: list[str], env, problem: C.Problem, timeout: float) -> dict:
    """One untimed ``--format json`` run, compared with the reference."""
    try:
        out = subprocess.run(cmd + ["--format", "json"], capture_output=True, text=True,
                             env=env, timeout=timeout)
        doc = json.loads(out.stdout)
        grads = [None if g is None else np.array(
            [[float(v) for v in row] for row in g] if isinstance(g, list) and g and isinstance(g[0], list)
            else ([float(v) for v in g] if isinstance(g, list) else float(g)))
            for g in doc["gradients"]]
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "detail": f"--format json: {type(e).__name__}: {e}"}
    _, ref = problem.reference()
    return compare(grads, ref, problem.xs)


def cached_env(env: dict[str, str], cache_dir: Path) -> dict[str, str]:
    """``env`` with Python's bytecode cache on, in ``cache_dir``: whole-process
    runs measure tfgrad as installed (pip writes .pyc files; numpy's and
    sympy's are there already), not recompiling its sources on every start,
    which ``PYTHONDONTWRITEBYTECODE`` would cause (0.2-0.6 s here)."""
    env = dict(env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    return env


def cli_timings(selected: list[C.Case], paths: dict[str, Path], args, env) -> list[dict]:
    out = []
    script = shutil.which("tfgrad")
    floors: dict[int, dict] = {}
    for name, (target_s, target_mb, runs) in CLI_TARGETS.items():
        if name not in paths:
            continue
        if runs not in floors:
            # the import floor, measured the same way: what no tfgrad run can beat
            print(f"  timing the import floor `python -c \"{FLOOR_CODE}\"` x{runs} ...",
                  file=sys.stderr, flush=True)
            time_cli([sys.executable, "-c", FLOOR_CODE], env, 1, args.timeout)  # warm-up
            floors[runs] = time_cli([sys.executable, "-c", FLOOR_CODE], env, runs, args.timeout)
        problem = C.CASES[name].build()
        commands = [("python -m tfgrad run", [sys.executable, "-m", "tfgrad", "run", str(paths[name])])]
        if script:
            commands.append(("tfgrad run", [script, "run", str(paths[name])]))
        for label, cmd in commands:
            print(f"  timing `{label} {name}.yaml` x{runs} ...", file=sys.stderr, flush=True)
            rec = {"case": name, "command": label, "target_s": target_s, "target_mb": target_mb}
            # the untimed --format json run first: it also fills the bytecode cache
            agree = check_cli_output(cmd, env, problem, args.timeout)
            rec.update(time_cli(cmd, env, runs, args.timeout))
            floor = floors[runs]
            if "median_s" in floor:
                rec["floor_median_s"] = floor["median_s"]
                rec["floor_min_s"] = floor["min_s"]
                rec["floor_median_cpu_s"] = floor["median_cpu_s"]
            if "error" not in rec:
                rec["agree"] = agree
                ok = rec["median_s"] < target_s and (target_mb is None or rec["max_rss_mb"] < target_mb)
                rec["pass"] = ok and rec["agree"]["ok"]
            else:
                rec["pass"] = False
            out.append(rec)
    gallery = ROOT / "graphs"
    if "tutorial" in paths and gallery.is_dir():
        # issue 15: `tfgrad check` of the whole gallery in two processes
        target_s, runs = GALLERY_CHECK
        n_files = sum(1 for _ in gallery.rglob("*.yaml"))
        cmd = [sys.executable, "-m", "tfgrad", "check", str(gallery), "-j", "2", "-q"]
        print(f"  timing `tfgrad check graphs/ -j 2` ({n_files} files) x{runs} ...",
              file=sys.stderr, flush=True)
        time_cli(cmd, env, 1, args.timeout)  # warm-up: fills the bytecode cache
        rec = {"case": "graphs", "command": "python -m tfgrad check -j 2",
               "label": f"check -j 2 graphs/ ({n_files} files)", "target_s": target_s,
               "target_mb": None}
        rec.update(time_cli(cmd, env, runs, args.timeout))
        if "error" not in rec:
            rec["agree"] = {"ok": True}  # exit status 0: every file passed or failed as declared
            rec["pass"] = rec["median_s"] < target_s
        else:
            rec["pass"] = False
        out.append(rec)
    return out


# --------------------------------------------------------------------------
# Side by side (--peers): the same graph files, whole process, by tfgrad and
# by TensorFlow and JAX where the peer interpreter has them (never in CI).

PEERS = [  # (label, program under benchmarks/peers, mode)
    ("TF tf.function", "tf_peer.py", "function"),
    ("TF GradientTape", "tf_peer.py", "tape"),
    ("JAX eager", "jax_peer.py", "eager"),
    ("JAX jit", "jax_peer.py", "jit"),
]
PEER_RTOL = 1e-7  # peers sum in their own order: agreement to 1e-7, not 1e-9
EXIT_NOT_INSTALLED, EXIT_UNSUPPORTED = 4, 5


def _grads_of(path: Path) -> list:
    doc = json.loads(path.read_text())
    return [None if g is None else np.array(g, dtype=float) for g in doc["gradients"]]


def _peer_runs(case: C.Case, args) -> int:
    if args.peer_runs:
        return args.peer_runs
    return 1 if case.big else 3


def peer_timings(selected: list[C.Case], paths: dict[str, Path], args, env) -> list[dict]:
    """One record per case: whole-process min/median wall time and max RSS of
    tfgrad (``python -m tfgrad run FILE --format json``) and of each peer,
    each output checked against the case's NumPy reference."""
    peer_python = args.peer_python or os.environ.get("TFGRAD_PEER_PYTHON") or sys.executable
    missing: set[str] = set()
    out = []
    with tempfile.TemporaryDirectory(prefix="tfgrad-peers-") as tmp:
        stdout = str(Path(tmp) / "out.json")
        for case in selected:
            if case.name not in paths:
                continue
            problem = case.build()
            _, ref = problem.reference()
            runs = _peer_runs(case, args)
            rec = {"case": case.name, "runs": runs, "peers": {}}
            progs = [("tfgrad", [sys.executable, "-m", "tfgrad", "run", str(paths[case.name]),
                                 "--format", "json"], env)]
            peer_env = dict(env)
            peer_env.pop("PYTHONPATH", None)
            for label, prog, mode in PEERS:
                if prog in missing:
                    continue
                progs.append((label, [peer_python, str(HERE / "peers" / prog), mode,
                                      str(paths[case.name])], peer_env))
            time_cli(progs[0][1], env, 1, args.timeout)  # untimed: fills the bytecode cache
            for label, cmd, penv in progs:
                print(f"  {case.name}: {label} x{runs} ...", file=sys.stderr, flush=True)
                t = time_cli(cmd, penv, runs, args.timeout, stdout)
                if "error" in t:
                    status = t["error"]
                    if status.startswith(f"exit status {EXIT_NOT_INSTALLED}"):
                        missing.add(cmd[1].rsplit("/", 1)[-1])
                        continue
                    if status.startswith(f"exit status {EXIT_UNSUPPORTED}"):
                        t = {"unsupported": status.split(": ", 1)[-1]}
                    rec["peers"][label] = t
                    continue
                try:
                    got = _grads_of(Path(stdout))
                    t["agree"] = compare(got, ref, problem.xs, rtol=PEER_RTOL)
                except Exception as e:  # noqa: BLE001
                    t["agree"] = {"ok": False, "detail": f"{type(e).__name__}: {e}"}
                rec["peers"][label] = t
            base = rec["peers"].get("tfgrad", {}).get("min_s")
            for label, t in rec["peers"].items():
                if base and "min_s" in t:
                    t["ratio"] = t["min_s"] / base
            out.append(rec)
    return out


def print_peers(recs: list[dict]) -> None:
    if not recs:
        return
    labels = ["tfgrad"] + [lab for lab, _, _ in PEERS
                           if any(lab in r["peers"] for r in recs)]
    print("\nside by side, whole process (python start, imports, reading the file, the "
          "gradients, printing them;\nwall time: min of the runs; in brackets, that time "
          "over tfgrad's; ok = gradients agree with NumPy to 1e-7):")
    widths = [max(len(f"{r['case']} (x{r['runs']})") for r in recs) + 2] + [26] * len(labels)
    print("".join(h.ljust(w) for h, w in zip(["case"] + labels, widths)).rstrip())
    for r in recs:
        cells = [f"{r['case']} (x{r['runs']})"]
        for lab in labels:
            t = r["peers"].get(lab)
            if t is None:
                cells.append("-")
            elif "unsupported" in t:
                cells.append("n/a")
            elif "error" in t:
                cells.append("error")
            else:
                ok = "ok" if t.get("agree", {}).get("ok") else "DIFF"
                ratio = "" if lab == "tfgrad" else f" ({t['ratio']:.1f}x)"
                cells.append(f"{t['min_s']:.2f}s{ratio} {t['max_rss_mb']:.0f}MB {ok}")
        print("".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
    errs = [(r["case"], lab, t["error"]) for r in recs for lab, t in r["peers"].items()
            if "error" in t]
    for case, lab, e in errs:
        print(f"  {case} {lab}: {e}")


def ratio_target(res: dict) -> float | None:
    case = C.CASES[res["case"]]
    return RATIO_TARGET_OVERRIDES.get(case.name, RATIO_TARGETS.get(case.family))


def derived(res: dict) -> None:
    """Ratios, per-op time and the ratio target, in place."""
    t = res.get("times", {})
    if {"derive", "evaluate", "numpy"} <= set(t):
        de = t["derive"] + t["evaluate"]
        res["ratio_de_numpy"] = de / t["numpy"]
        res["ratio_e_numpy"] = t["evaluate"] / t["numpy"]
        res["us_per_op"] = de / res["ops"] * 1e6
        tm = res["times_min"]
        res["ratio_de_numpy_min"] = (tm["derive"] + tm["evaluate"]) / tm["numpy"]
        res["us_per_op_min"] = (tm["derive"] + tm["evaluate"]) / res["ops"] * 1e6
    target = ratio_target(res)
    if target is not None:
        res["target_ratio"] = target
        if "ratio_de_numpy" in res:
            res["target_pass"] = res["ratio_de_numpy"] <= target
    alloc = res.get("alloc_mb", {})
    if {"derive+evaluate", "numpy"} <= set(alloc):
        res["mem_de_mb"] = alloc["derive+evaluate"]
        res["mem_allowed_mb"] = MEM_TARGET * max(alloc["numpy"], MEM_FLOOR_MB)
        res["mem_pass"] = res["mem_de_mb"] <= res["mem_allowed_mb"]


def io_targets(results: list[dict]) -> list[dict]:
    """Issue 13's numbers in and out: parse times against PARSE_TARGETS and
    JSON output per million numbers, one record each."""
    out = []
    for r in results:
        t = r.get("times", {})
        if r["case"] in PARSE_TARGETS and "parse" in t:
            target = PARSE_TARGETS[r["case"]]
            out.append({"case": r["case"], "what": "parse", "numbers": r.get("numbers"),
                        "seconds": t["parse"], "runs": len(r["all_times"]["parse"]),
                        "cpu_s": r.get("cpu_times", {}).get("parse"),
                        "target_s": target, "pass": t["parse"] < target})
        if r.get("json_numbers", 0) >= JSON_MIN_NUMBERS and "json" in t:
            per_m = t["json"] / r["json_numbers"] * 1e6
            out.append({"case": r["case"], "what": "json", "numbers": r["json_numbers"],
                        "seconds": t["json"], "runs": len(r["all_times"]["json"]),
                        "cpu_s": r.get("cpu_times", {}).get("json"),
                        "s_per_million": per_m, "chars": r.get("json_chars"),
                        "target_s_per_million": JSON_TARGET_S_PER_M,
                        "pass": per_m < JSON_TARGET_S_PER_M})
    return out


def scaling(results: list[dict]) -> list[dict]:
    out = []
    for family in ("fan", "chain", "mlp"):  # families whose ops are alike at every size
        rows = [r for r in results if C.CASES[r["case"]].family == family and "us_per_op" in r]
        if len(rows) < 2:
            continue
        rows.sort(key=lambda r: r["ops"])
        lo, hi = rows[0], rows[-1]
        # fastest rounds: the algorithm's cost, least disturbed by other load
        t_lo = lo["times_min"]["derive"] + lo["times_min"]["evaluate"]
        t_hi = hi["times_min"]["derive"] + hi["times_min"]["evaluate"]
        ops_ratio = hi["ops"] / lo["ops"]
        rec = {"family": family, "points": [(r["case"], r["ops"], r["us_per_op_min"]) for r in rows],
               "ops_ratio": ops_ratio, "time_ratio": t_hi / t_lo,
               "exponent": math.log(t_hi / t_lo) / math.log(ops_ratio)}
        if family == "fan":  # the target: linear cost
            rec["target_time_ratio"] = ops_ratio * LINEAR_SLACK
            rec["pass"] = rec["time_ratio"] <= rec["target_time_ratio"]
        out.append(rec)
    return out


# --------------------------------------------------------------------------
# Text output


def fmt_s(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 1:
        return f"{v:.2f}"
    if v >= 0.001:
        return f"{v * 1e3:.1f}ms"
    return f"{v * 1e6:.0f}us"


def fmt_mb(v: float) -> str:
    return f"{v:.1f}" if v < 10 else f"{v:.0f}"


def fmt_x(v: float | None) -> str:
    return "-" if v is None else (f"{v:.2f}x" if v < 100 else f"{v:.0f}x")


def mark(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def print_header(m: dict) -> None:
    print("tfgrad benchmarks")
    print(f"  python {m['python']} on {m['platform']}, {m['cpus']} cpus; numpy {m['numpy']}, sympy {m['sympy']}")
    print(f"  tfgrad: {m['tfgrad']}")
    print(f"  BLAS: {m['blas']}")
    print("  env: " + ", ".join(f"{k}={v if v is not None else '(unset)'}" for k, v in m["env"].items()))
    print(f"  timing: {m['timing']}")
    print(f"  memory: {m['memory']}")
    print(f"  agreement: {m['agreement']}")
    if m.get("mem_limit_gb"):
        print(f"  each case process is limited to {m['mem_limit_gb']:g} GB of address space (--mem-limit-gb)")
    if m["load"] is not None:
        busy = m["load"] > LOAD_WARNING
        print(f"  load average at start: {m['load']:.2f}"
              + ("  WARNING: other processes are running; timings will be noisy" if busy else ""))
    print()


COLS = ("case", "ops", "runs", "parse", "derive", "eval", "numpy",
        "(d+e)/np", "e/np", "us/op", "MB p/d/e/np", "peakMB", "alloc d+e/np", "agree", "target")
WIDTHS = (max(len(n) for n in C.CASES), 5, 4, 7, 7, 7, 7, 8, 6, 6, 15, 6, 14, 8, 11)


def print_row(cells) -> None:
    print("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, WIDTHS))).rstrip(),
          flush=True)


def print_result(res: dict) -> None:
    t = res.get("times", {})
    mem = res.get("mem_mb", {})
    agree = res.get("agree")
    if agree is None:
        agree_s = "-"
    elif agree["ok"]:
        agree_s = f"ok {agree['max_rel_err']:.0e}"
    else:
        agree_s = "MISMATCH"
    target = res.get("target_ratio")
    target_s = f"<={target:g}x {mark(res.get('target_pass'))}" if target else "-"
    runs = f"{res.get('parse_repeat', '-')}/{res.get('repeat', '-')}" if "repeat" in res else "-"
    mem_s = "/".join(fmt_mb(mem[k]) if k in mem else "-" for k in ("parse", "derive", "evaluate", "numpy"))
    alloc = res.get("alloc_mb", {})
    alloc_s = "-"
    if "numpy" in alloc and "derive+evaluate" in alloc:
        alloc_s = f"{fmt_mb(alloc['derive+evaluate'])}/{fmt_mb(alloc['numpy'])} {mark(res.get('mem_pass'))}"
    print_row((res["case"], res.get("ops", "-"), runs, fmt_s(t.get("parse")), fmt_s(t.get("derive")),
               fmt_s(t.get("evaluate")), fmt_s(t.get("numpy")), fmt_x(res.get("ratio_de_numpy")),
               fmt_x(res.get("ratio_e_numpy")), f"{res['us_per_op']:.0f}" if "us_per_op" in res else "-",
               mem_s, f"{res['peak_rss_mb']:.0f}" if "peak_rss_mb" in res else "-", alloc_s, agree_s,
               target_s))
    if "error" in res:
        print(f"    error: {res['error']}", flush=True)
    if "limit_raised" in res:
        print(f"    note: {res['limit_raised']}", flush=True)
    if agree is not None and not agree["ok"]:
        print(f"    mismatch: {agree['detail']}", flush=True)
    if res.get("mem_pass") is False:
        print(f"    memory: derive + evaluate allocate {res['mem_de_mb']:.1f} MB at the peak > "
              f"{res['mem_allowed_mb']:.1f} MB ({MEM_TARGET:g} x numpy's {res['alloc_mb']['numpy']:.1f} MB, "
              f"at least {MEM_FLOOR_MB:g} MB)", flush=True)


def print_cli(recs: list[dict]) -> None:
    if not recs:
        return
    print()
    print("whole process (wall time: median, min-max; max RSS of the child from os.wait4):")
    for r in recs:
        label = r.get("label") or f"{r['command']} {r['case']}.yaml"
        tgt = f"target < {r['target_s']:g} s" + (f", < {r['target_mb']:g} MB" if r["target_mb"] else "")
        if "error" in r:
            print(f"  {label:40} error: {r['error']}   {tgt} FAIL")
            continue
        agree = "output ok" if r["agree"]["ok"] else f"OUTPUT MISMATCH: {r['agree']['detail']}"
        print(f"  {label:40} {r['median_s']:.3f} s ({r['min_s']:.3f}-{r['max_s']:.3f}, {r['runs']} runs)"
              f"  cpu {r['median_cpu_s']:.3f} s  max RSS {r['max_rss_mb']:.0f} MB  {agree}  {tgt} "
              f"{mark(r['pass'])}")
        if "floor_median_s" in r:
            print(f"  {'':40} import floor ({FLOOR_CODE}): {r['floor_median_s']:.3f} s "
                  f"(min {r['floor_min_s']:.3f}), cpu {r['floor_median_cpu_s']:.3f} s; tfgrad "
                  f"over it: {r['median_s'] - r['floor_median_s']:+.3f} s median, "
                  f"{r['min_s'] - r['floor_min_s']:+.3f} s min, "
                  f"{r['median_cpu_s'] - r['floor_median_cpu_s']:+.3f} s cpu")


def print_io(recs: list[dict]) -> None:
    if not recs:
        return
    print()
    print("numbers in and out (issue 13; in process, median wall time, CPU time in brackets):")
    for r in recs:
        cpu = f" [cpu {fmt_s(r['cpu_s'])}]" if r.get("cpu_s") is not None else ""
        if r["what"] == "parse":
            label = f"parse_graph {r['case']}.yaml ({r['numbers']:,} numbers" + \
                    (", in .npy files)" if r["case"].endswith("-npy") else ")")
            print(f"  {label:58} {fmt_s(r['seconds']):>7}{cpu} ({r['runs']} runs)  "
                  f"target < {r['target_s']:g} s {mark(r['pass'])}")
        else:
            label = f"JSON output {r['case']} ({r['numbers']:,} numbers, {r['chars'] / 1e6:.1f} MB)"
            print(f"  {label:58} {fmt_s(r['seconds']):>7}{cpu} ({r['runs']} runs) = "
                  f"{r['s_per_million']:.2f} s per million  target < {r['target_s_per_million']:g} s "
                  f"per million {mark(r['pass'])}")


def print_scaling(recs: list[dict]) -> None:
    if not recs:
        return
    print()
    print("scaling of derive+evaluate (fastest round, us per op):")
    for r in recs:
        pts = ", ".join(f"{ops} ops {us:.0f}" for _, ops, us in r["points"])
        line = (f"  {r['family']:7} {pts}; x{r['ops_ratio']:.3g} ops -> x{r['time_ratio']:.3g} time "
                f"(exponent {r['exponent']:.2f})")
        if "target_time_ratio" in r:
            line += f"  target linear (<= x{r['target_time_ratio']:.3g}) {mark(r['pass'])}"
        print(line)


def summary(results, cli, scal, io=()) -> dict:
    targets = []
    for r in results:
        if "target_ratio" in r:
            targets.append((f"{r['case']} (derive+evaluate)/numpy <= {r['target_ratio']:g}x",
                            r.get("target_pass", False)))
    for r in results:
        if "mem_pass" in r:
            targets.append((f"{r['case']} memory: derive + evaluate allocate <= {MEM_TARGET:g}x numpy's peak "
                            f"(numpy at least {MEM_FLOOR_MB:g} MB)", r["mem_pass"]))
    for r in io:
        if r["what"] == "parse":
            targets.append((f"parse {r['case']} < {r['target_s']:g} s", r["pass"]))
        else:
            targets.append((f"JSON output {r['case']} < {r['target_s_per_million']:g} s per "
                            "million numbers", r["pass"]))
    for r in cli:
        targets.append((f"{r['command']} {r['case']}", r["pass"]))
    for r in scal:
        if "pass" in r:
            targets.append((f"{r['family']} linear cost", r["pass"]))
    errors = [r["case"] for r in results if "error" in r]
    mismatches = [r["case"] for r in results if r.get("agree") and not r["agree"]["ok"]]
    mismatches += [f"{r['command']} {r['case']}" for r in cli if r.get("agree") and not r["agree"]["ok"]]
    return {"targets": targets, "errors": errors, "mismatches": mismatches}


def print_summary(s: dict) -> None:
    print()
    n_pass = sum(ok for _, ok in s["targets"])
    print(f"targets: {n_pass} of {len(s['targets'])} met")
    for label, ok in s["targets"]:
        if not ok:
            print(f"  FAIL {label}")
    if s["errors"]:
        print(f"cases with errors: {', '.join(s['errors'])}")
    if s["mismatches"]:
        print(f"GRADIENT MISMATCHES: {', '.join(s['mismatches'])}")
    elif not s["errors"]:
        print("every gradient agreed with NumPy")


# --------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Time tfgrad's parse / derive / evaluate beside hand-written NumPy.")
    p.add_argument("--quick", action="store_true", help="the smallest case of each family (seconds)")
    p.add_argument("--case", action="append", metavar="NAME",
                   help="a case or a family (tutorial, matmul, mlp, chain, fan); repeatable")
    p.add_argument("--repeat", type=int, metavar="N",
                   help=f"timed runs per stage (default {DEFAULT_REPEAT}; big cases parse once "
                        f"and repeat the rest {BIG_REPEAT} times)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--keep", action="store_true",
                   help="write the graph files to benchmarks/generated/ (git-ignored) instead of a temp dir")
    p.add_argument("--no-cli", action="store_true", help="skip the whole-process timings")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per case (default 1800)")
    p.add_argument("--mem-limit-gb", type=float, default=None,
                   help="address-space limit of each case's process (default 70%% of RAM; 0: none)")
    p.add_argument("--peers", action="store_true",
                   help="also run each case whole-process side by side with TensorFlow and JAX "
                        "(benchmarks/peers/, where installed)")
    p.add_argument("--peer-python", metavar="PYTHON",
                   help="the interpreter that has TensorFlow/JAX (default: $TFGRAD_PEER_PYTHON, "
                        "else this one)")
    p.add_argument("--peer-runs", type=int, metavar="N",
                   help="whole-process runs per program and case (default 3; 1 for big cases)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--split-stages", action="store_true",
                   help="collect garbage before evaluate too (each stage starts cold; by "
                        "default derive and evaluate run back to back, as in `tfgrad run`)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--file", help=argparse.SUPPRESS)
    p.add_argument("--parse-repeat", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--exact", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--budget", type=float, default=ROUND_BUDGET_S, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.mem_limit_gb is None:
        args.mem_limit_gb = default_mem_limit_gb()
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child_main(args.child, args.file, args.repeat or 1, args.parse_repeat,
                                    args.exact, args.budget, args.split_stages)))
        return 0
    if args.list:
        for c in C.CASES.values():
            flags = ", ".join(f for f, on in (("quick", c.quick), ("big", c.big)) if on)
            p = c.build()
            print(f"{c.name:15} {flags:6} {p.n_ops:6} ops {p.n_numbers:9} numbers  {p.description}")
        return 0

    selected = select_cases(args)
    env = engine_env()
    m = meta(args)
    m["mem_limit_gb"] = args.mem_limit_gb
    if not args.json:
        print_header(m)
        print_row(COLS)
    if args.keep:
        outdir = HERE / "generated"
        outdir.mkdir(exist_ok=True)
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory(prefix="tfgrad-bench-")
        outdir = Path(tmp.name)

    results, paths = [], {}
    try:
        for case in selected:
            print(f"  {case.name}: generating ...", file=sys.stderr, flush=True)
            problem = case.build()
            path = outdir / f"{case.name}.yaml"
            problem.write(path)  # the graph file and its .npy files, if any
            paths[case.name] = path
            n_ops, n_numbers = problem.n_ops, problem.n_numbers
            del problem
            print(f"  {case.name}: running ({path.stat().st_size / 1e6:.1f} MB file) ...",
                  file=sys.stderr, flush=True)
            res = run_child(case, path, args, env, n_numbers)
            res.setdefault("ops", n_ops)
            derived(res)
            results.append(res)
            if not args.json:
                print_result(res)
        wenv = cached_env(env, outdir / "pycache")
        cli = [] if args.no_cli else cli_timings(selected, paths, args, wenv)
        peers = peer_timings(selected, paths, args, wenv) if args.peers else []
        scal = scaling(results)
        io = io_targets(results)
    finally:
        if tmp is not None:
            tmp.cleanup()

    s = summary(results, cli, scal, io)
    if args.json:
        for r in results:
            r.pop("traceback", None)
        m["load_end"] = load_average()
        json.dump({"meta": m, "cases": results, "cli": cli, "peers": peers, "scaling": scal,
                   "io": io, "summary": s}, sys.stdout, indent=1, default=float)
        print()
    else:
        print_io(io)
        print_cli(cli)
        print_peers(peers)
        print_scaling(scal)
        print_summary(s)
        end = load_average()
        if end is not None:
            print(f"load average at end: {end:.2f}"
                  + ("  (other processes were running: timings are noisy)" if end > LOAD_WARNING + 1 else ""))
    failed = bool(s["errors"] or s["mismatches"])
    if args.strict and not all(ok for _, ok in s["targets"]):
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
