#!/usr/bin/env python3
"""Self-test of the Python peers: drives softmax_lab_peer.py through the command
protocol exactly as the declarations in scenarios/peers/external/python.toml start it,
and checks every answer against a float64 NumPy reference.

    python3 adapters/python/selftest.py          (`just peers-check` runs it in .venv-peers)

Per declared variant whose package imports: hello; forward on a small batch in every
declared dtype (T = 1 and, where it takes one, T = 2) and backward where declared, each
entry within a tolerance derived from the dtype's unit roundoff and the entry's
conditioning; a self-timed call in each direction; ok:false (and the process still in
step) for a dtype or a backward it does not declare; bye and exit 0. Then the protocol's
edges: a package that does not import (the interpreter started without site-packages)
answers unavailable, a wrong protocol version and an unreadable request get ok:false.
It checks the adapters' wiring (bytes, dtypes, formulas, temperature, framing), not
the peers' accuracy: its float64 reference is the textbook formula in f64, which the runner's
double-double reference measures far more finely (scenarios/peers/).
Exit code 0 when every check passed. Not part of `cargo test` (it needs the packages).
"""

import json
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        sys.exit("selftest.py reads the declarations with tomllib: Python 3.11+ (or `pip install tomli`)")

import numpy as np

HERE = Path(__file__).resolve().parent
DECLARATIONS = HERE.parent.parent / "scenarios" / "peers" / "external" / "python.toml"
ALL_DTYPES = ("f16", "bf16", "f32", "f64")
# Unit roundoff and smallest normal of each dtype.
UNIT = {"f16": 2.0**-11, "bf16": 2.0**-8, "f32": 2.0**-24, "f64": 2.0**-53}
TINY = {"f16": 2.0**-14, "bf16": 2.0**-126, "f32": 2.0**-126, "f64": 2.0**-1022}
WIRE = {"f16": np.float16, "bf16": np.uint16, "f32": np.float32, "f64": np.float64}
ROWS, N = 4, 33
# Peers whose answers are accurate only in absolute terms (an absolute error of a few u,
# not a relative one, in the negative tail): checked to that, their relative error printed.
ABSOLUTE_ERROR = {
    "ort_sigmoid": "ONNX Runtime's CPU Sigmoid, absolute accuracy only (adapters/README.md)",
}
REPLY_TIMEOUT_S = 120


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok    {what}{': ' + detail if detail else ''}")
        else:
            self.failed += 1
            print(f"  FAIL  {what}{': ' + detail if detail else ''}")
        return ok


# --------------------------------------------------------------------------- dtypes


def to_wire(values, dtype):
    """f64 values rounded once to the dtype, as the bytes the runner sends."""
    if dtype == "bf16":
        u = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest, ties to even
        return u.astype(np.uint16)
    return np.asarray(values, dtype=WIRE[dtype])


def from_wire(arr, dtype):
    """The dtype's values as f64."""
    if dtype == "bf16":
        return (arr.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return arr.astype(np.float64)


# --------------------------------------------------------------------------- reference


def reference(function, x, t):
    """Forward in f64 on the values the peer saw (x already rounded to the dtype)."""
    with np.errstate(all="ignore"):
        if function == "sigmoid":
            return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))
        z = x / t
        s = z - z.max(axis=-1, keepdims=True)
        if function == "softmax":
            e = np.exp(s)
            return e / e.sum(axis=-1, keepdims=True)
        return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def reference_vjp(function, x, dy, t):
    y = reference(function, x, t)
    if function == "sigmoid":
        return dy * y * (1.0 - y)
    if function == "softmax":
        return y * (dy - (dy * y).sum(axis=-1, keepdims=True)) / t
    return (dy - np.exp(y) * dy.sum(axis=-1, keepdims=True)) / t


def forward_tolerance(function, x, ref, t, dtype):
    """Per entry: a few roundings per term of the row plus the entry's conditioning
    (|z_i - max z| for the shift, |x| for the sigmoid), and underflow to the smallest normal."""
    u = UNIT[dtype]
    if function == "sigmoid":
        return 8 * u * (1 + np.abs(x)) * np.abs(ref) + TINY[dtype]
    z = x / t
    with np.errstate(invalid="ignore"):
        shift = np.nan_to_num(np.abs(z - z.max(axis=-1, keepdims=True)), posinf=0.0)
    if function == "softmax":
        return 8 * u * (N + shift) * np.abs(ref) + TINY[dtype]
    return 8 * u * (N + shift) * (np.abs(np.nan_to_num(ref, neginf=0.0)) + 1)


def backward_tolerance(function, x, dy, t, dtype):
    """Per entry, from the error of the terms of the closed form: y_i's relative error
    (a few u times the row length plus the entry's shift, as in the forward) carried
    through dy_i - <dy, y> (softmax), p_i * sum(dy) (log_softmax) or y (1 - y) (sigmoid,
    whose 1 - y costs an absolute u)."""
    u = UNIT[dtype]
    if function == "sigmoid":
        ref = reference_vjp(function, x, dy, t)
        return 8 * u * ((1 + np.abs(x)) * np.abs(ref) + np.abs(dy)) + TINY[dtype]
    z = x / t
    with np.errstate(invalid="ignore"):
        shift = np.nan_to_num(np.abs(z - z.max(axis=-1, keepdims=True)), posinf=0.0)
    p = reference("softmax", x, t)
    cond = N + shift.max(axis=-1, keepdims=True)
    big = np.abs(dy).max(axis=-1, keepdims=True)
    if function == "softmax":
        return 8 * u * cond * p * (np.abs(dy) + big) / t + TINY[dtype]
    total = np.abs(dy).sum(axis=-1, keepdims=True)
    return 8 * u * (cond * p * total + np.abs(dy)) / t + TINY[dtype]


def batch(function, seed):
    """ROWS x N logits: normal rows at scales 1, 4 and 12, and a row with one spike (and,
    for the softmax family, a masked -inf entry)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((ROWS, N)) * np.array([[1.0], [4.0], [12.0], [1.0]])
    x[3, 5] = 20.0
    if function == "sigmoid":
        x[3, 6], x[3, 7] = -30.0, 30.0
    else:
        x[3, 9] = -np.inf
    return x


# --------------------------------------------------------------------------- the process


class Peer:
    """One peer process, started as its declaration says (argv[0] = this interpreter)."""

    def __init__(self, argv, cwd):
        self.proc = subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def call(self, header, payload=b""):
        self.proc.stdin.write(json.dumps(header).encode() + b"\n" + payload)
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"no reply (exit code {self.proc.poll()})")
        reply = json.loads(line)
        if reply.get("ok") and "bytes" in reply:
            reply["data"] = self.proc.stdout.read(reply["bytes"])
        return reply

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def finish(self, bye=True):
        """bye (or EOF), then the exit code and whatever was left on stdout."""
        if bye:
            self.proc.stdin.write(b'{"op":"bye"}\n')
        self.proc.stdin.close()
        rest = self.proc.stdout.read()
        code = self.proc.wait(timeout=REPLY_TIMEOUT_S)
        self.stderr = self.proc.stderr.read().decode(errors="replace")
        return code, rest


# --------------------------------------------------------------------------- checks


def check_values(res, peer, decl, dtype, t, backward):
    fn = decl["function"]
    x64 = from_wire(to_wire(batch(fn, 7), dtype), dtype)
    xw = to_wire(x64, dtype)
    head = {"function": fn, "dtype": dtype, "rows": ROWS, "n": N, "temperature": t}
    what = f"{decl['id']} {dtype} T={t:g}"
    r = peer.call({"op": "forward", **head}, xw.tobytes())
    if not res.check(r.get("ok") is True, f"{what} forward ok", r.get("error", "")):
        return
    y = from_wire(np.frombuffer(r["data"], dtype=WIRE[dtype]).reshape(ROWS, N), dtype)
    ref = reference(fn, x64, t)
    inf = np.isinf(ref)
    with np.errstate(invalid="ignore"):
        err = np.where(inf, 0.0, np.abs(y - ref))
    tol = forward_tolerance(fn, x64, ref, t, dtype)
    bad = (err > tol) | (inf & (y != ref)) | np.isnan(y)
    if decl["id"] in ABSOLUTE_ERROR:
        # Held to an absolute error of a few u as well; its relative error where the exact
        # value is a normal number of the dtype is printed.
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(inf | (np.abs(ref) < TINY[dtype]), 0.0, err / np.abs(ref))
        worst = np.unravel_index(np.argmax(rel), rel.shape)
        print(f"  note  {what}: largest relative error {rel[worst]:.3g} = {rel[worst] / UNIT[dtype]:.3g} u "
              f"at x = {x64[worst]:.6g} ({y[worst]:.6g}, exact {ref[worst]:.6g}); {ABSOLUTE_ERROR[decl['id']]}")
        tol = tol + 4 * UNIT[dtype]
        bad = (err > tol) | (inf & (y != ref)) | np.isnan(y)
    ratio = np.where(inf, 0.0, err / tol)
    res.check(not bad.any(), f"{what} forward values",
              f"{int(bad.sum())} of {y.size} entries outside the tolerance; "
              f"worst error / tolerance {float(np.max(ratio)):.3g}")
    if not backward:
        r = peer.call({"op": "backward", **head}, xw.tobytes() * 3)
        res.check(r.get("ok") is False, f"{what} backward declined (not declared)", r.get("error", ""))
        return
    rng = np.random.default_rng(11)
    dy64 = from_wire(to_wire(rng.standard_normal((ROWS, N)), dtype), dtype)
    dyw = to_wire(dy64, dtype)
    yw = np.frombuffer(r["data"], dtype=WIRE[dtype])
    r = peer.call({"op": "backward", **head}, xw.tobytes() + yw.tobytes() + dyw.tobytes())
    if not res.check(r.get("ok") is True, f"{what} backward ok", r.get("error", "")):
        return
    dx = from_wire(np.frombuffer(r["data"], dtype=WIRE[dtype]).reshape(ROWS, N), dtype)
    ref = reference_vjp(fn, x64, dy64, t)
    err = np.abs(dx - ref)
    tol = backward_tolerance(fn, x64, dy64, t, dtype)
    bad = (err > tol) | np.isnan(dx)
    res.check(not bad.any(), f"{what} backward values",
              f"{int(bad.sum())} of {dx.size} entries outside the tolerance; worst error / tolerance "
              f"{float(np.nanmax(err / tol)):.3g}")


def check_time(res, peer, decl, dtype, direction):
    fn = decl["function"]
    x = to_wire(batch(fn, 3), dtype)
    payload = x.tobytes() * (2 if direction == "backward" else 1)
    r = peer.call({"op": "time", "direction": direction, "function": fn, "dtype": dtype,
                   "rows": ROWS, "n": N, "temperature": 1.0, "samples": 5, "reps": 3}, payload)
    ns = r.get("sample_ns")
    ok = (r.get("ok") is True and isinstance(ns, list) and len(ns) == 5
          and all(isinstance(v, int) and v > 0 for v in ns))
    res.check(ok, f"{decl['id']} {dtype} time {direction}",
              f"sample_ns per call {[round(v / 3) for v in ns]}" if ok else str(r))


def argv_of(decl):
    argv = list(decl["command"])
    if argv[0] in ("python3", "python"):
        argv[0] = sys.executable
    return argv


def test_variant(res, decl, folder):
    print(f"{decl['id']} ({decl['function']}, declared {', '.join(decl['dtypes'])}, "
          f"backward {decl['backward']})")
    peer = Peer(argv_of(decl), folder)
    r = peer.call({"op": "hello", "protocol": 1, "id": decl["id"], "function": decl["function"]})
    if r.get("unavailable"):
        print(f"  skip  unavailable: {r.get('error')}")
        code, _ = peer.finish()
        res.check(code == 0, f"{decl['id']} exits 0 after bye", f"exit code {code}")
        return False
    res.check(r.get("ok") is True and isinstance(r.get("versions"), dict),
              f"{decl['id']} hello", f"{r.get('name')}; {r.get('versions')}")
    for dtype in ALL_DTYPES:
        if dtype not in decl["dtypes"]:
            head = {"function": decl["function"], "dtype": dtype, "rows": ROWS, "n": N,
                    "temperature": 1.0}
            r = peer.call({"op": "forward", **head}, to_wire(np.zeros((ROWS, N)), dtype).tobytes())
            res.check(r.get("ok") is False and "error" in r,
                      f"{decl['id']} {dtype} declined (not declared)", r.get("error", str(r)))
            continue
        temps = [1.0, 2.0] if decl["temperature"] else [1.0]
        for t in temps:
            check_values(res, peer, decl, dtype, t, decl["backward"])
    check_time(res, peer, decl, "f32", "forward")
    if decl["backward"]:
        check_time(res, peer, decl, "f32", "backward")
    code, rest = peer.finish()
    res.check(code == 0 and rest == b"", f"{decl['id']} bye: exit 0, nothing more on stdout",
              f"exit code {code}, {len(rest)} stray bytes")
    return True


def test_edges(res, script, folder):
    print("protocol edges")
    # Without site-packages no implementation imports: hello says unavailable.
    for impl in ("numpy", "torch", "onnxruntime"):
        p = Peer([sys.executable, "-S", script, "--impl", impl], folder)
        r = p.call({"op": "hello", "protocol": 1, "id": "x", "function": "softmax"})
        res.check(r.get("ok") is False and r.get("unavailable") is True,
                  f"{impl} without its package: unavailable", r.get("error", str(r)))
        code, _ = p.finish(bye=False)
        res.check(code == 0, f"{impl} unavailable, then EOF: exit 0", f"exit code {code}")
    p = Peer([sys.executable, script, "--impl", "numpy"], folder)
    r = p.call({"op": "hello", "protocol": 2, "id": "x", "function": "softmax"})
    res.check(r.get("ok") is False and "protocol" in r.get("error", ""), "protocol 2 refused",
              r.get("error", str(r)))
    r = p.call({"op": "hello", "protocol": 1, "id": "x", "function": "softmax"})
    res.check(r.get("ok") is True, "hello after a refused one", str(r.get("ok")))
    r = p.call({"op": "forward", "function": "sigmoid", "dtype": "f32", "rows": 1, "n": 2,
                "temperature": 2.0}, b"\0" * 8)
    res.check(r.get("ok") is False, "sigmoid with T = 2 refused", r.get("error", str(r)))
    r = p.call({"op": "forward", "function": "softmax", "dtype": "f32", "rows": 1, "n": 2,
                "temperature": 1.0}, np.array([0.0, 0.0], np.float32).tobytes())
    res.check(r.get("ok") is True and np.frombuffer(r["data"], np.float32).tolist() == [0.5, 0.5],
              "still in step after refusals", str(np.frombuffer(r.get("data", b""), np.float32)))
    p.send_raw(b"this is not json\n")
    line = p.proc.stdout.readline()
    r = json.loads(line) if line else {}
    res.check(r.get("ok") is False, "unreadable request: ok:false", r.get("error", str(r)))
    code, _ = p.finish(bye=False)
    res.check(code == 2, "unreadable request: exit 2 (out of step)", f"exit code {code}")


def main():
    decls = tomllib.loads(DECLARATIONS.read_text())["external"]
    folder = DECLARATIONS.parent
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}; declarations: "
          f"{DECLARATIONS.relative_to(HERE.parent.parent)} ({len(decls)} variants)")
    res = Results()
    ran = []
    for decl in decls:
        if test_variant(res, decl, folder):
            ran.append(decl["id"])
    test_edges(res, str(HERE / "softmax_lab_peer.py"), folder)
    print(f"variants exercised: {', '.join(ran) if ran else 'none'}")
    print(f"{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
