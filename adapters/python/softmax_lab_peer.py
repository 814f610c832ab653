#!/usr/bin/env python3
"""A softmax-lab peer: NumPy, PyTorch or ONNX Runtime behind the command protocol.

Run by softmax-lab as a `command` external variant (see adapters/README.md and the
runner's protocol docs). One process serves one declared variant; every message is a
JSON line on stdin, followed by raw little-endian element bytes, and every reply is a
JSON line on stdout, followed by the bytes it announces. Nothing else is ever written
to stdout; diagnostics go to stderr.

    python3 softmax_lab_peer.py --impl numpy|torch|onnxruntime

Each implementation imports its package at `hello`; when that fails the reply is
`{"ok":false,"unavailable":true,...}` and the runner reports the variant unavailable.
"""

import argparse
import json
import platform
import sys
import time

PROTOCOL = 1
FUNCTIONS = ("softmax", "log_softmax", "sigmoid")
# Bytes per element of each dtype on the wire (f16/bf16 travel as 16-bit patterns).
DTYPE_SIZE = {"f16": 2, "bf16": 2, "f32": 4, "f64": 8}


class CallError(Exception):
    """An error for one call: answered with ok:false, the process keeps serving."""


class Unavailable(Exception):
    """The implementation's package does not import."""


def log(msg):
    """A diagnostic line on stderr (the runner passes stderr through)."""
    print(f"softmax_lab_peer: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- numpy


class NumpyPeer:
    """The textbook shifted softmax in NumPy, computed in the input dtype.

    softmax:     e = exp(z - max z); y = e / sum(e)
    log_softmax: s = z - max z;      y = s - log(sum(exp(s)))
    sigmoid:     y = 1 / (1 + exp(-x))
    with z = x / T (T rounded to the dtype) when T != 1. Backward in closed form from
    the y it is given: softmax dx = y * (dy - sum(dy * y)) / T; log_softmax
    dx = (dy - exp(y) * sum(dy)) / T; sigmoid dx = dy * y * (1 - y).
    f16 is np.float16 (each ufunc rounds its result to f16); NumPy has no bfloat16,
    so bf16 calls are declined.
    """

    NAMES = {
        "softmax": "NumPy textbook exp(x - max) / sum",
        "log_softmax": "NumPy textbook (x - max) - log(sum(exp(x - max)))",
        "sigmoid": "NumPy textbook 1 / (1 + exp(-x))",
    }

    def name(self, function):
        return f"{self.NAMES[function]} (closed-form backward, 1 thread)"

    def __init__(self):
        try:
            import numpy as np
        except ImportError as e:
            raise Unavailable(f"numpy is not installed ({e})") from e
        self.np = np
        self.dtypes = {"f16": np.float16, "f32": np.float32, "f64": np.float64}

    def versions(self):
        return {"numpy": self.np.__version__}

    def _dtype(self, dtype):
        if dtype not in self.dtypes:
            raise CallError(f"numpy has no {dtype}: the numpy peer runs f16, f32 and f64")
        return self.dtypes[dtype]

    def decode(self, dtype, buf, rows, n):
        return self.np.frombuffer(buf, dtype=self._dtype(dtype)).reshape(rows, n)

    def encode(self, arr):
        return self.np.ascontiguousarray(arr).tobytes()

    def forward(self, function, x, t, out=None):
        """y for x; `out` (a dict of buffers) is reused across calls when given."""
        np = self.np
        if out is None:
            out = {}
        with np.errstate(all="ignore"):
            if function == "sigmoid":
                y = out.setdefault("y", np.empty_like(x))
                np.negative(x, out=y)
                np.exp(y, out=y)
                np.add(y, x.dtype.type(1), out=y)
                np.divide(x.dtype.type(1), y, out=y)
                return y
            if t != 1.0:
                z = out.setdefault("z", np.empty_like(x))
                np.divide(x, x.dtype.type(t), out=z)
            else:
                z = x
            m = out.setdefault("m", np.empty((x.shape[0], 1), dtype=x.dtype))
            np.max(z, axis=-1, keepdims=True, out=m)
            s = out.setdefault("y", np.empty_like(x))
            np.subtract(z, m, out=s)
            if function == "softmax":
                np.exp(s, out=s)
                np.sum(s, axis=-1, keepdims=True, out=m)
                np.divide(s, m, out=s)
                return s
            e = out.setdefault("e", np.empty_like(x))
            np.exp(s, out=e)
            np.sum(e, axis=-1, keepdims=True, out=m)
            np.log(m, out=m)
            np.subtract(s, m, out=s)
            return s

    def backward(self, function, x, y, dy, t, out=None):
        """dx for the upstream gradient dy, from the forward output y."""
        np = self.np
        if out is None:
            out = {}
        one = x.dtype.type(1)
        with np.errstate(all="ignore"):
            dx = out.setdefault("dx", np.empty_like(x))
            if function == "sigmoid":
                np.subtract(one, y, out=dx)
                np.multiply(dx, y, out=dx)
                np.multiply(dx, dy, out=dx)
                return dx
            r = out.setdefault("r", np.empty((x.shape[0], 1), dtype=x.dtype))
            if function == "softmax":
                np.multiply(dy, y, out=dx)
                np.sum(dx, axis=-1, keepdims=True, out=r)
                np.subtract(dy, r, out=dx)
                np.multiply(dx, y, out=dx)
            else:
                np.sum(dy, axis=-1, keepdims=True, out=r)
                np.exp(y, out=dx)
                np.multiply(dx, r, out=dx)
                np.subtract(dy, dx, out=dx)
            if t != 1.0:
                np.divide(dx, x.dtype.type(t), out=dx)
            return dx

    def timer(self, direction, function, x, dy, t):
        """A no-argument callable doing one timed call, outputs in kept buffers."""
        if direction == "forward":
            out = {}
            return lambda: self.forward(function, x, t, out)
        y = self.forward(function, x, t).copy()
        out = {}
        return lambda: self.backward(function, x, y, dy, t, out)


# --------------------------------------------------------------------------- torch


class TorchPeer:
    """torch.softmax / log_softmax / sigmoid on the CPU in the input dtype, one thread.

    Temperature as x / T (T a Python float). Backward through autograd
    (torch.autograd.grad(y, x, dy)). bf16 arrives as its 16-bit patterns and is viewed
    as torch.bfloat16 without conversion.
    """

    def name(self, function):
        return f"PyTorch torch.{function} (CPU, torch.set_num_threads(1), autograd backward)"

    def __init__(self):
        try:  # its own package first: the message names it when several are missing
            import torch
            import numpy as np
        except ImportError as e:
            raise Unavailable(f"{e.name or 'torch'} is not installed ({e})") from e
        self.np = np
        self.torch = torch
        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError as e:  # only settable once, before parallel work
            log(f"set_num_interop_threads: {e}")
        self.wire = {"f16": np.float16, "bf16": np.uint16, "f32": np.float32, "f64": np.float64}

    def versions(self):
        return {
            "torch": self.torch.__version__,
            "numpy": self.np.__version__,
            "torch_threads": str(self.torch.get_num_threads()),
        }

    def decode(self, dtype, buf, rows, n):
        np, torch = self.np, self.torch
        a = np.frombuffer(buf, dtype=self.wire[dtype]).reshape(rows, n).copy()
        if dtype == "bf16":
            return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
        return torch.from_numpy(a)

    def encode(self, tensor):
        torch = self.torch
        tensor = tensor.detach().contiguous()
        if tensor.dtype == torch.bfloat16:
            return tensor.view(torch.int16).numpy().tobytes()
        return tensor.numpy().tobytes()

    def _op(self, function, x, t):
        torch = self.torch
        if function == "sigmoid":
            return torch.sigmoid(x)
        z = x / t if t != 1.0 else x
        if function == "softmax":
            return torch.softmax(z, dim=-1)
        return torch.log_softmax(z, dim=-1)

    def forward(self, function, x, t):
        with self.torch.no_grad():
            return self._op(function, x, t)

    def backward(self, function, x, y, dy, t):
        torch = self.torch
        xg = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            yg = self._op(function, xg, t)
            (dx,) = torch.autograd.grad(yg, xg, dy)
        return dx

    def timer(self, direction, function, x, dy, t):
        torch = self.torch
        if direction == "forward":
            if function == "sigmoid":
                y = torch.empty_like(x)
                return lambda: torch.sigmoid(x, out=y)

            def fwd():
                with torch.no_grad():
                    return self._op(function, x, t)

            return fwd
        # The graph is built once (y computed before timing); each rep runs the backward.
        xg = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            yg = self._op(function, xg, t)
        return lambda: torch.autograd.grad(yg, xg, dy, retain_graph=True)


# --------------------------------------------------------------------------- onnxruntime


class OrtPeer:
    """An ONNX graph (Softmax / LogSoftmax axis = -1, Sigmoid; Div by T when T != 1)
    built in memory with the onnx helper API, run by an ONNX Runtime InferenceSession on
    the CPU execution provider with one intra-op and one inter-op thread. Forward only.
    One session per (function, dtype, T), built at its first call.
    """

    OPSET = 13
    OPS = {"softmax": "Softmax", "log_softmax": "LogSoftmax", "sigmoid": "Sigmoid"}

    def name(self, function):
        return (f"ONNX Runtime {self.OPS[function]} (opset {self.OPSET}, CPUExecutionProvider, "
                "intra_op_num_threads = 1, forward only)")

    def __init__(self):
        try:  # its own package first: the message names it when several are missing
            import onnxruntime as ort
            import onnx
            import numpy as np
            from onnx import TensorProto, helper
        except ImportError as e:
            raise Unavailable(f"{e.name or 'onnxruntime'} is not installed ({e})") from e
        self.np, self.onnx, self.ort, self.helper = np, onnx, ort, helper
        self.elem = {"f16": TensorProto.FLOAT16, "f32": TensorProto.FLOAT, "f64": TensorProto.DOUBLE}
        self.wire = {"f16": np.float16, "f32": np.float32, "f64": np.float64}
        self.sessions = {}

    def versions(self):
        return {
            "onnxruntime": self.ort.__version__,
            "onnx": self.onnx.__version__,
            "numpy": self.np.__version__,
        }

    def decode(self, dtype, buf, rows, n):
        if dtype not in self.wire:
            raise CallError(
                f"onnxruntime peer has no {dtype}: it runs {', '.join(self.wire)}")
        return self.np.frombuffer(buf, dtype=self.wire[dtype]).reshape(rows, n)

    def encode(self, arr):
        return self.np.ascontiguousarray(arr).tobytes()

    def _session(self, function, dtype, t):
        key = (function, dtype, t)
        if key in self.sessions:
            return self.sessions[key]
        h, np = self.helper, self.np
        elem = self.elem[dtype]
        nodes, inits = [], []
        src = "x"
        if t != 1.0 and function != "sigmoid":
            inits.append(h.make_tensor("t", elem, [], np.array([t], dtype=self.wire[dtype]).tobytes(), raw=True))
            nodes.append(h.make_node("Div", ["x", "t"], ["z"]))
            src = "z"
        op = self.OPS[function]
        attrs = {} if function == "sigmoid" else {"axis": -1}
        nodes.append(h.make_node(op, [src], ["y"], **attrs))
        graph = h.make_graph(
            nodes,
            f"softmax_lab_{function}",
            [h.make_tensor_value_info("x", elem, ["rows", "n"])],
            [h.make_tensor_value_info("y", elem, ["rows", "n"])],
            initializer=inits,
        )
        model = h.make_model(graph, opset_imports=[h.make_opsetid("", self.OPSET)])
        model.ir_version = min(model.ir_version, 9)
        opts = self.ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = self.ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        try:
            sess = self.ort.InferenceSession(
                model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own exception types (NOT_IMPLEMENTED, ...)
            raise CallError(f"onnxruntime cannot build {op} for {dtype}: {e}") from e
        self.sessions[key] = sess
        return sess

    def forward(self, function, x, t):
        dtype = {v: k for k, v in self.wire.items()}[x.dtype.type]
        sess = self._session(function, dtype, t)
        try:
            return sess.run(["y"], {"x": x})[0]
        except Exception as e:
            raise CallError(f"onnxruntime {function} {dtype}: {e}") from e

    def backward(self, function, x, y, dy, t):
        raise CallError("the onnxruntime peer is forward only (declared backward = false)")

    def timer(self, direction, function, x, dy, t):
        if direction != "forward":
            self.backward(function, x, None, dy, t)
        dtype = {v: k for k, v in self.wire.items()}[x.dtype.type]
        sess = self._session(function, dtype, t)
        # IO binding: the input and output buffers are bound once and reused by every run.
        binding = sess.io_binding()
        binding.bind_cpu_input("x", x)
        y = self.np.empty_like(x)
        binding.bind_output("y", "cpu", 0, y.dtype, list(y.shape), y.ctypes.data)

        def run():
            # x and y are named here so that they outlive the binding that points at them.
            sess.run_with_iobinding(binding)
            return x, y

        return run


IMPLS = {"numpy": NumpyPeer, "torch": TorchPeer, "onnxruntime": OrtPeer}


# --------------------------------------------------------------------------- protocol


class Channel:
    """Framed messages on binary stdin/stdout."""

    def __init__(self, inp, out):
        self.inp, self.out = inp, out

    def read_header(self):
        """The next request line (bytes); None at end of input."""
        line = self.inp.readline()
        if not line:
            return None
        return line

    def read_bytes(self, count):
        data = self.inp.read(count) if count else b""
        if len(data) != count:
            raise EOFError(f"expected {count} payload bytes, got {len(data)} before end of input")
        return data

    def reply(self, header, payload=b""):
        self.out.write(json.dumps(header, separators=(",", ":")).encode() + b"\n")
        if payload:
            self.out.write(payload)
        self.out.flush()


def require(msg, field, kind):
    if field not in msg:
        raise KeyError(f"missing field `{field}`")
    v = msg[field]
    if kind is int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise KeyError(f"`{field}` must be an integer >= 1, got {v!r}")
    elif kind is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise KeyError(f"`{field}` must be a number, got {v!r}")
        v = float(v)
    elif kind is str and not isinstance(v, str):
        raise KeyError(f"`{field}` must be a string, got {v!r}")
    return v


def payload_len(msg):
    """Bytes that follow this header (needed to stay in step even when declining)."""
    op = msg.get("op")
    if op not in ("forward", "backward", "time"):
        return 0
    dtype = require(msg, "dtype", str)
    if dtype not in DTYPE_SIZE:
        raise KeyError(f"unknown dtype {dtype!r}: expected one of {', '.join(DTYPE_SIZE)}")
    one = require(msg, "rows", int) * require(msg, "n", int) * DTYPE_SIZE[dtype]
    if op == "forward":
        return one
    if op == "backward":
        return 3 * one
    direction = require(msg, "direction", str)
    if direction not in ("forward", "backward"):
        raise KeyError(f"unknown direction {direction!r}: expected forward or backward")
    return one if direction == "forward" else 2 * one


def serve(impl_name, channel):
    """The request loop; returns the exit code."""
    peer = None
    unavailable = None
    while True:
        line = channel.read_header()
        if line is None:
            return 0
        try:
            msg = json.loads(line)
            if not isinstance(msg, dict):
                raise ValueError("not a JSON object")
            need = payload_len(msg)
        except (ValueError, KeyError) as e:
            # Without a readable header the payload length is unknown: cannot stay in step.
            err = e.args[0] if isinstance(e, KeyError) else str(e)
            log(f"unreadable request {line[:200]!r}: {err}")
            channel.reply({"ok": False, "error": f"unreadable request: {err}"})
            return 2
        op = msg.get("op")
        try:
            data = channel.read_bytes(need)
        except EOFError as e:
            log(str(e))
            return 2
        if op == "bye":
            return 0
        try:
            if op == "hello":
                if msg.get("protocol") != PROTOCOL:
                    raise CallError(f"protocol {msg.get('protocol')!r} not spoken: this peer speaks {PROTOCOL}")
                if msg.get("function") not in FUNCTIONS:
                    raise CallError(
                        f"unknown function {msg.get('function')!r}: expected one of {', '.join(FUNCTIONS)}")
                try:
                    peer = IMPLS[impl_name]()
                except Unavailable as e:
                    unavailable = str(e)
                    log(unavailable)
                    channel.reply({"ok": False, "unavailable": True, "error": unavailable})
                    continue
                versions = {"python": platform.python_version()}
                versions.update(peer.versions())
                channel.reply({"ok": True, "name": peer.name(msg["function"]), "versions": versions})
                continue
            if unavailable is not None:
                raise CallError(unavailable)
            if peer is None:
                raise CallError("expected `hello` first")
            if op not in ("forward", "backward", "time"):
                raise CallError(f"unknown op {op!r}: expected hello, forward, backward, time or bye")
            function = require(msg, "function", str)
            if function not in FUNCTIONS:
                raise CallError(f"unknown function {function!r}: expected one of {', '.join(FUNCTIONS)}")
            t = require(msg, "temperature", float) if "temperature" in msg else 1.0
            if not t > 0.0:
                raise CallError(f"temperature must be > 0, got {t}")
            if function == "sigmoid" and t != 1.0:
                raise CallError("sigmoid takes no temperature (declared temperature = false)")
            dtype, rows, n = msg["dtype"], msg["rows"], msg["n"]
            one = rows * n * DTYPE_SIZE[dtype]
            if op == "forward":
                x = peer.decode(dtype, data, rows, n)
                channel_reply_array(channel, peer, peer.forward(function, x, t), one)
            elif op == "backward":
                x = peer.decode(dtype, data[:one], rows, n)
                y = peer.decode(dtype, data[one : 2 * one], rows, n)
                dy = peer.decode(dtype, data[2 * one :], rows, n)
                channel_reply_array(channel, peer, peer.backward(function, x, y, dy, t), one)
            else:
                samples = require(msg, "samples", int)
                reps = require(msg, "reps", int)
                x = peer.decode(dtype, data[:one], rows, n)
                dy = peer.decode(dtype, data[one:], rows, n) if msg["direction"] == "backward" else None
                call = peer.timer(msg["direction"], function, x, dy, t)
                call()  # warm: sessions, buffers and graphs exist before the clock starts
                sample_ns = []
                clock = time.perf_counter_ns
                for _ in range(samples):
                    t0 = clock()
                    for _ in range(reps):
                        call()
                    sample_ns.append(clock() - t0)
                channel.reply({"ok": True, "sample_ns": sample_ns})
        except (CallError, KeyError) as e:
            channel.reply({"ok": False, "error": str(e.args[0]) if e.args else str(e)})
        except Exception as e:  # a package's own error for this call
            log(f"{op}: {type(e).__name__}: {e}")
            channel.reply({"ok": False, "error": f"{type(e).__name__}: {e}"})


def channel_reply_array(channel, peer, result, expected):
    data = peer.encode(result)
    if len(data) != expected:
        raise CallError(f"internal: result has {len(data)} bytes, expected {expected}")
    channel.reply({"ok": True, "bytes": len(data)}, data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", required=True, choices=sorted(IMPLS))
    args = ap.parse_args(argv)
    # Anything a package prints on stdout would break the framing: stdout is the
    # protocol's alone, sys.stdout goes to stderr.
    out = sys.stdout.buffer
    sys.stdout = sys.stderr
    return serve(args.impl, Channel(sys.stdin.buffer, out))


if __name__ == "__main__":
    sys.exit(main())
