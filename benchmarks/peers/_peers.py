"""Shared helpers for the peer scripts in this folder (and nothing else).

What is here:
  need(*modules)    re-exec the running script under Debian's /usr/bin/python3 when a module it
                    needs (numpy, torch, sklearn, ...) is not importable by the interpreter that
                    started it (e.g. a pyenv `python3` that comes first on PATH).
  read_idx          IDX (MNIST-family) reader, gzip or raw, with one-line errors for bad files.
  load_images       train/t10k images from an IDX folder, with --limit applied.
  binarize          pixel/255 > 0.5 (computed in float64, returned in the dtype asked for).
  add_common_args   --json --threads --seed [--data --limit], the options every peer shares.
  set_threads       torch intra-op threads and the BLAS pool (threadpoolctl) to the same N.
  EpochClock        time.perf_counter around a training loop, plus the CPU the rest of the
                    machine used meanwhile (foreign_load_cores) so noisy timings can be spotted.
  emit / table      exactly one JSON document on stdout with --json; a small table otherwise.
  versions          library versions, thread counts, BLAS pools and the CPU, for the JSON.
  run               call main(), turning PeerError into `error: ...` on stderr and exit code 1.
Progress and info always go to stderr (log), so stdout holds only the result.
"""
import importlib.util
import os
import sys

DEBIAN_PYTHON = "/usr/bin/python3"
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
_REEXEC_FLAG = "PEERS_REEXEC"
# The Debian package that provides each module the scripts import.
DEBIAN_PACKAGES = {"numpy": "python3-numpy", "scipy": "python3-scipy", "sklearn": "python3-sklearn",
                   "torch": "python3-torch", "threadpoolctl": "python3-threadpoolctl"}


def need(*modules):
    """Make sure `modules` import; otherwise re-exec this script under /usr/bin/python3 once."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    if (os.path.exists(DEBIAN_PYTHON)
            and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)
            and not os.environ.get(_REEXEC_FLAG)):
        os.environ[_REEXEC_FLAG] = "1"
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)
    packages = " ".join(DEBIAN_PACKAGES.get(m, "python3-" + m) for m in missing)
    sys.stderr.write("error: python module %s not importable by %s; install Debian's %s "
                     "(apt-get install %s) and run with %s\n"
                     % (", ".join(missing), sys.executable, packages, packages, DEBIAN_PYTHON))
    sys.exit(1)


need("numpy")

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


class PeerError(Exception):
    """A user-facing error: printed as one line `error: ...`, exit code 1."""


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def run(main):
    try:
        main()
    except PeerError as e:
        sys.stderr.write("error: %s\n" % (e,))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


# --------------------------------------------------------------------------- argparse helpers
def positive_int(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive integer, got %r" % (s,))
    if v < 1:
        raise argparse.ArgumentTypeError("expected a positive integer, got %r" % (s,))
    return v


def nonneg_int(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer >= 0, got %r" % (s,))
    if v < 0:
        raise argparse.ArgumentTypeError("expected an integer >= 0, got %r" % (s,))
    return v


def positive_float(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive number, got %r" % (s,))
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError("expected a positive number, got %r" % (s,))
    return v


def add_common_args(p, seed, data=True, limit=True,
                    threads_help="torch intra-op threads and BLAS/OpenMP threads "
                                 "(unset: the library defaults)"):
    g = p.add_argument_group("common peer options")
    g.add_argument("--json", action="store_true",
                   help="print exactly one JSON document on stdout (progress goes to stderr)")
    g.add_argument("--threads", type=positive_int, default=None, metavar="N", help=threads_help)
    g.add_argument("--seed", type=int, default=seed, help="random seed")
    if data:
        g.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                       help="IDX folder with train-images-idx3-ubyte[.gz] and "
                            "t10k-images-idx3-ubyte[.gz] (gzip or raw)")
    if limit:
        g.add_argument("--limit", type=positive_int, default=None, metavar="N",
                       help="use only the first N training images and the first min(N, 10000) "
                            "test images (unset: all)")
    return g


# --------------------------------------------------------------------------- devices
def add_device_args(p):
    """--device cpu|cuda and --step-timing N, for the PyTorch peers."""
    g = p.add_argument_group("device options")
    g.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the tensors live; cuda uses a CUDA generator and CUDA-event timing")
    g.add_argument("--step-timing", type=nonneg_int, default=0, metavar="N",
                   help="after the epochs, time N single training steps (after 10 warm-up "
                        "steps) and report seconds_per_step_median (0: off)")
    return g


def torch_device(torch, name):
    """The torch.device for --device, or a PeerError that says why CUDA cannot be used."""
    if name == "cuda":
        if not torch.cuda.is_available():
            raise PeerError("--device cuda: torch %s sees no CUDA device (torch.cuda.is_available() "
                            "is False; built with CUDA %s)" % (torch.__version__, torch.version.cuda))
        return torch.device("cuda")
    return torch.device("cpu")


class DeviceClock:
    """Seconds of GPU work between start() and stop(): CUDA events on cuda (synchronized at
    stop), time.perf_counter() on cpu."""

    def __init__(self, torch, device):
        self._torch = torch
        self._cuda = device.type == "cuda"

    def start(self):
        if self._cuda:
            self._torch.cuda.synchronize()
            self._e0 = self._torch.cuda.Event(enable_timing=True)
            self._e1 = self._torch.cuda.Event(enable_timing=True)
            self._e0.record()
        else:
            self._t0 = time.perf_counter()

    def stop(self):
        if self._cuda:
            self._e1.record()
            self._e1.synchronize()
            return self._e0.elapsed_time(self._e1) / 1000.0
        return time.perf_counter() - self._t0


def time_steps(torch, device, step, n, warmup=10):
    """Median seconds of n single calls of step() after `warmup` untimed calls (each timed call
    alone between two CUDA events on cuda)."""
    for _ in range(warmup):
        step()
    clock = DeviceClock(torch, device)
    times = []
    for _ in range(n):
        clock.start()
        step()
        times.append(clock.stop())
    return median(times)


# --------------------------------------------------------------------------- threads
_LIMITER = None


def set_threads(n, torch=None):
    """Set torch's intra-op threads and every loaded BLAS/OpenMP pool to n (None: no change).

    Call after importing numpy/torch/sklearn: threadpoolctl only sees libraries already loaded.
    Debian's torch does its float32 GEMMs in the system BLAS (OpenBLAS), whose pool
    torch.set_num_threads does not set; measured on a 2-core machine, a torch matrix product
    used both cores only when torch's threads and OpenBLAS's pool both allowed 2. Hence both."""
    global _LIMITER
    if n is None:
        return
    if torch is not None:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        log("note: threadpoolctl not importable; BLAS threads left at their default")
        return
    _LIMITER = threadpool_limits(limits=n)


def threadpools():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not importable"
    return [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "threading_layer")}
            for d in threadpool_info()]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions():
    v = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("scipy", "sklearn", "torch", "threadpoolctl"):
        if mod in sys.modules:
            v[mod] = getattr(sys.modules[mod], "__version__", None)
    if "torch" in sys.modules:
        v["torch_threads"] = sys.modules["torch"].get_num_threads()
    v["threadpools"] = threadpools()
    v["cpu"] = cpu_model()
    v["cpu_count"] = os.cpu_count()
    try:
        v["affinity_cores"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    v["platform"] = platform.platform()
    v["env"] = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                           "MKL_NUM_THREADS", "OPENBLAS_CORETYPE")
                if k in os.environ}
    return v


# --------------------------------------------------------------------------- timing
class EpochClock:
    """clock.start(); <training loop>; secs = clock.stop().

    seconds: time.perf_counter() difference, taken innermost (the /proc/stat reads are outside).
    foreign_load_cores: CPU-seconds used by all other processes per wall second during the
    interval (0 .. number of cores); None where /proc/stat is unreadable."""

    def __init__(self):
        try:
            self._tick = os.sysconf("SC_CLK_TCK")
        except (ValueError, OSError, AttributeError):
            self._tick = None

    def _busy(self):
        if self._tick is None:
            return None
        try:
            with open("/proc/stat") as f:
                vals = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        return (sum(vals[:8]) - vals[3] - vals[4]) / self._tick

    def start(self):
        self._b0 = self._busy()
        t = os.times()
        self._c0 = t.user + t.system
        self._t0 = time.perf_counter()

    def stop(self):
        t1 = time.perf_counter()
        self.seconds = t1 - self._t0
        t = os.times()
        self.cpu_seconds = round(t.user + t.system - self._c0, 3)
        b1 = self._busy()
        if self._b0 is None or b1 is None or self.seconds <= 0:
            self.foreign_load_cores = None
        else:
            self.foreign_load_cores = round(
                max(0.0, (b1 - self._b0) - self.cpu_seconds) / self.seconds, 3)
        return self.seconds


# --------------------------------------------------------------------------- IDX data
def find_idx(data_dir, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    raise PeerError("%s: neither %s nor %s.gz found (pass --data DIR, or install Fashion-MNIST "
                    "with `apt-get install dataset-fashion-mnist`)" % (data_dir, stem, stem))


def read_idx(path, limit=None):
    """Read an unsigned-byte IDX file (gzip if the name ends in .gz): an array of shape dims.
    limit: read only the first `limit` items along the first axis."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                raise PeerError("%s: not an IDX file (bad magic %s)" % (path, head.hex() or "<empty>"))
            if head[2] != 0x08:
                raise PeerError("%s: IDX element type 0x%02x is not unsigned byte (0x08)"
                                % (path, head[2]))
            ndim = head[3]
            if ndim < 1:
                raise PeerError("%s: IDX file with 0 dimensions" % path)
            raw = f.read(4 * ndim)
            if len(raw) < 4 * ndim:
                raise PeerError("%s: truncated IDX header" % path)
            dims = [int.from_bytes(raw[4 * i:4 * i + 4], "big") for i in range(ndim)]
            n = dims[0] if limit is None else min(dims[0], limit)
            item = int(np.prod(dims[1:], dtype=np.int64)) if ndim > 1 else 1
            want = n * item
            data = f.read(want)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise PeerError("%s: cannot read (%s)" % (path, e))
    if len(data) < want:
        raise PeerError("%s: truncated: header says %s, file holds only %d of the %d bytes needed"
                        % (path, "x".join(map(str, dims)), len(data), want))
    return np.frombuffer(data, dtype=np.uint8).reshape([n] + dims[1:])


def load_images(data_dir, limit=None, max_test=10000):
    """(train uint8 [N, P], test uint8 [M, P], info): images flattened to P pixels.

    limit: first `limit` training images and first min(limit, max_test) test images."""
    if not os.path.isdir(data_dir):
        raise PeerError("%s: no such folder (pass --data DIR, or install Fashion-MNIST with "
                        "`apt-get install dataset-fashion-mnist`)" % data_dir)
    ptr = find_idx(data_dir, "train-images-idx3-ubyte")
    pte = find_idx(data_dir, "t10k-images-idx3-ubyte")
    xtr = read_idx(ptr, limit)
    xte = read_idx(pte, None if limit is None else min(limit, max_test))
    if xtr.ndim < 2 or xtr.shape[1:] != xte.shape[1:]:
        raise PeerError("%s: train images %s and test images %s differ in shape"
                        % (data_dir, "x".join(map(str, xtr.shape[1:])), "x".join(map(str, xte.shape[1:]))))
    if xtr.shape[0] == 0 or xte.shape[0] == 0:
        raise PeerError("%s: empty image file" % data_dir)
    xtr = xtr.reshape(xtr.shape[0], -1)
    xte = xte.reshape(xte.shape[0], -1)
    info = {"dir": data_dir, "train_file": os.path.basename(ptr), "test_file": os.path.basename(pte),
            "n_train": int(xtr.shape[0]), "n_test": int(xte.shape[0]), "pixels": int(xtr.shape[1])}
    return xtr, xte, info


def binarize(x_uint8, dtype=np.float32):
    """pixel/255 > 0.5, as 0/1 in `dtype`."""
    return (x_uint8.astype(np.float64) / 255.0 > 0.5).astype(dtype)


# --------------------------------------------------------------------------- output
def clean(o):
    """JSON-safe copy: numpy scalars/arrays to Python, non-finite floats to None (null)."""
    if isinstance(o, dict):
        return {str(k): clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean(v) for v in o]
    if isinstance(o, np.ndarray):
        return clean(o.tolist())
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, (float, np.floating)):
        f = float(o)
        return f if math.isfinite(f) else None
    return o


def emit(doc, as_json, rows=None, headers=None, notes=()):
    """--json: one JSON document (one line) on stdout. Otherwise a table and notes on stdout."""
    if as_json:
        sys.stdout.write(json.dumps(clean(doc), allow_nan=False) + "\n")
        sys.stdout.flush()
        return
    if rows:
        table(rows, headers)
    for n in notes:
        print(n)


def table(rows, headers):
    srows = [[_fmt(c) for c in r] for r in rows]
    widths = [max([len(str(h))] + [len(r[i]) for r in srows]) for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for r in srows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def _fmt(c):
    if c is None:
        return "-"
    if isinstance(c, (float, np.floating)):
        c = float(c)
        if not math.isfinite(c):
            return str(c)
        if c != 0 and (abs(c) >= 1e6 or abs(c) < 1e-3):
            return "%.4g" % c
        return "%.4f" % c if abs(c) < 100 else "%.1f" % c
    return str(c)


def median(xs):
    return float(np.median(np.asarray(xs, dtype=np.float64))) if len(xs) else None
