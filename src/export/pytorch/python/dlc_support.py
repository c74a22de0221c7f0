"""dlc's file formats, losses and optimizers for the exported PyTorch project.

Written by `dlc export --to pytorch` beside model.py; needs only torch (1.13 or newer) and the
Python standard library. Everything here follows dlc's own readers and writers, with their rules
and messages:

- data files: JSON `{"x": [...], "y": [...]}` (several inputs: "x" keyed by input name), CSV (one
  sample per row, the label last, an optional header) and IDX (MNIST: images plus a labels file),
  each gzip'd or not; values must be finite;
- weights files: `.json` (one object, each `<layer>.<param>` a nested array) and `.safetensors`
  (F64, F32, F16, BF16 read; F32 or F64 written), written atomically;
- the losses of LANGUAGE.md §6 (summed over a sample's outputs, averaged over the batch), dlc's
  optimizers as PyTorch's own SGD and Adam, and dlc's seeded shuffling of the samples.

A mistake in a user's file or flags raises DlcError; `main_guard` prints it as `error: ...` and
exits with dlc's code (2 for usage and unreadable files, 1 for a run that diverged), never with a
traceback.
"""
import array
import ctypes
import json
import math
import os
import random as _random
import re
import sys
import zlib

import torch

# ---- errors --------------------------------------------------------------------------------

EXIT_INPUT_ERRORS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

EXCERPT_CHARS = 200
MAX_LINE = 1000


class DlcError(Exception):
    """A mistake in a user's file or flags: printed as `error: MESSAGE`, exit code `code`."""

    def __init__(self, message, code=EXIT_USAGE):
        super().__init__(message)
        self.code = code


def excerpt(s):
    """A user's text as a message quotes it: at most EXCERPT_CHARS characters."""
    return s if len(s) <= EXCERPT_CHARS else s[:EXCERPT_CHARS] + "…"


def terminal_text(message):
    """Control characters shown as U+FFFD (a file name cannot drive the terminal); long lines cut."""
    visible = re.sub("[\u0000-\u0008\u000b-\u001f\u007f-\u009f]", "\ufffd", message)
    lines = []
    for line in visible.split("\n"):
        if len(line) > MAX_LINE:
            line = f"{line[:MAX_LINE // 2]} … ({len(line) - MAX_LINE} characters cut) … {line[-MAX_LINE // 2:]}"
        lines.append(line)
    return "\n".join(lines)


def report_error(message):
    sys.stderr.write(f"error: {terminal_text(str(message))}\n")
    sys.stderr.flush()


def main_guard(main):
    """Runs `main()` and exits with its code; DlcError becomes `error: ...` on stderr, no traceback."""
    try:
        code = main()
    except DlcError as e:
        report_error(e)
        code = e.code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = EXIT_INTERRUPTED
    sys.stdout.flush()
    sys.exit(code or 0)


def format_shape(shape):
    return excerpt("[" + ",".join(str(d) for d in shape) + "]")


def size_of(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def json_kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (int, float)):
        return "a number"
    return type(v).__name__


def describe_json_value(v):
    if isinstance(v, str):
        s = json.dumps(v, ensure_ascii=False)
        return s[:20] + '…"' if len(s) > 24 else s
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return number_text(v)
    return json_kind(v)


def number_text(v):
    """A number as JavaScript prints it (1 not 1.0, NaN, Infinity), so messages read as dlc's."""
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
    return repr(v)


def closest(word, candidates):
    """The candidate within edit distance ~len/3 of `word` (a plausible typo), else None."""
    lower = word.lower()
    limit = max(1, len(word) // 3)
    best, best_distance = None, math.inf
    for c in candidates:
        if c == lower:
            d = 0.5
        else:
            if abs(len(c) - len(lower)) > limit or len(c) * len(lower) > 4_000_000:
                continue
            d = _edit_distance(lower, c)
        if d < best_distance:
            best, best_distance = c, d
    return best if best is not None and best_distance <= limit else None


def _edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        diagonal, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            above = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (0 if a[i - 1] == b[j - 1] else 1))
            diagonal = above
    return row[len(b)]


def list_problems(file, heading, problems):
    if len(problems) == 1:
        return f"{file}: {problems[0]}"
    shown = [f"  - {p}" for p in problems[:12]]
    if len(problems) > 12:
        shown.append(f"  … and {len(problems) - 12} more")
    return f"{file} {heading} ({len(problems)} problems):\n" + "\n".join(shown)


# ---- files ---------------------------------------------------------------------------------

def _reason(e):
    import errno

    return {
        errno.ENOENT: "no such file or directory",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EISDIR: "it is a directory",
        errno.ENOTDIR: "a part of the path is not a directory",
        errno.ENOSPC: "no space left on the device",
        errno.EROFS: "read-only file system",
    }.get(getattr(e, "errno", None), getattr(e, "strerror", None) or str(e))


def read_regular_file(path, what):
    """A regular file's bytes (a device or FIFO could never end); DlcError otherwise."""
    import stat

    try:
        st = os.stat(path)
    except OSError as e:
        raise DlcError(f"cannot read the {what} {path}: {_reason(e)}")
    if stat.S_ISDIR(st.st_mode):
        raise DlcError(f"cannot read the {what} {path}: it is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise DlcError(f"cannot read the {what} {path}: it is not a regular file; dlc reads only regular files")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise DlcError(f"cannot read the {what} {path}: {_reason(e)}")


def write_file_atomic(path, data):
    """Writes `data` (bytes or str) so that `path` is never half-written: a temporary file in the
    same folder, flushed to disk, then renamed over `path` (the old file, if any, stays on failure)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = os.path.dirname(path) or "."
    base = os.path.basename(path)
    if os.path.isdir(path):
        raise DlcError(f"cannot write {path}: it is a directory")
    mode = 0o666
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        pass
    _remove_stale_temps(folder, base)
    temp = os.path.join(folder, f".{base}.{os.getpid()}.{_random.getrandbits(40):x}.tmp")
    fd = None
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        os.close(fd)
        fd = None
        os.replace(temp, path)
    except OSError as e:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise DlcError(f"cannot write {path}: {_reason(e)}; the previous file, if any, is unchanged")


def _remove_stale_temps(folder, base):
    """Temporary files of `base` that killed processes left behind (their pid no longer runs)."""
    prefix = f".{base}."
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = re.fullmatch(r"(\d+)\.[0-9a-z]+\.tmp", name[len(prefix):]) if name.startswith(prefix) else None
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
        except OSError:
            pass


# ---- JSON ----------------------------------------------------------------------------------

MAX_JSON_DEPTH = 512


def parse_json(text, file, what="JSON"):
    """JSON as dlc reads it: NaN, Infinity and numbers beyond float64 refused, with line:column."""
    if text.startswith("\ufeff"):
        text = text[1:]

    def constant(name):
        raise _JsonValueError(f"{name.lstrip('-')} is not a JSON number (write finite numbers only)", name)

    def number(s):
        v = float(s)
        if math.isinf(v):
            raise _JsonValueError("a number too large for float64", s)
        return v

    def integer(s):
        # Whole numbers past 15 digits become floats (as in JavaScript), so that torch takes them.
        return int(s) if len(s) < 16 else number(s)

    try:
        value = json.loads(text, parse_constant=constant, parse_float=number, parse_int=integer)
    except (_JsonValueError, json.JSONDecodeError, RecursionError):
        # Where and what, in dlc's words: its scanner finds the first mistake.
        at, message = _JsonScanner(text).first_problem() or (0, "not valid JSON")
        line, column = _line_column(text, at)
        raise DlcError(f"{file}:{line}:{column}: malformed {what}: {message}")
    if _nests_deeper_than(text, MAX_JSON_DEPTH):
        at, message = _JsonScanner(text).first_problem() or (0, "nested too deeply")
        line, column = _line_column(text, at)
        raise DlcError(f"{file}:{line}:{column}: malformed {what}: {message}")
    return value


class _JsonValueError(ValueError):
    """A value json.loads takes but dlc refuses (NaN, Infinity, 1e999); the scanner says where."""

    def __init__(self, message, token):
        super().__init__(message)
        self.token = token


def _line_column(text, offset):
    offset = max(0, offset)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _nests_deeper_than(text, limit):
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, i, n = 0, False, 0, len(text)
    while i < n:
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
        i += 1
    return False


class _JsonStop(Exception):
    def __init__(self, at, message):
        super().__init__(message)
        self.at = at
        self.message = message


class _JsonScanner:
    """The first mistake in JSON text, with dlc's messages (src/codegen/runtime/json.ts)."""

    def __init__(self, s):
        self.s = s
        self.i = 0

    def first_problem(self):
        """(offset, message) of the first mistake, or None. Nesting to MAX_JSON_DEPTH takes ~3 frames a level."""
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * MAX_JSON_DEPTH + 200))
        try:
            return self._scan()
        except RecursionError:
            return self.i, "nested too deeply"
        finally:
            sys.setrecursionlimit(limit)

    def _scan(self):
        try:
            self._ws()
            if self.i >= len(self.s):
                self._fail("the file is empty")
            self._value(0)
            self._ws()
            if self.i < len(self.s):
                self._fail(f"unexpected {self._found()} after the end of the JSON value")
            return None
        except _JsonStop as e:
            return e.at, e.message

    def _fail(self, message, at=None):
        raise _JsonStop(self.i if at is None else at, message)

    def _ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \n\r\t":
            self.i += 1

    def _found(self):
        if self.i >= len(self.s):
            return "the end of the file"
        m = re.match(r"[A-Za-z_]{1,12}", self.s[self.i:self.i + 12])
        if m:
            return f"'{m.group(0)}'"
        c = self.s[self.i]
        return f"'{c}'" if ord(c) < 0x80 else "a non-ASCII character"

    def _value(self, depth):
        if depth > MAX_JSON_DEPTH:
            self._fail("nested too deeply")
        self._ws()
        if self.i >= len(self.s):
            self._fail("unexpected end of file: expected a value")
        c = self.s[self.i]
        if c == "[":
            return self._list(depth, "]", "after an array element", lambda: self._value(depth + 1))
        if c == "{":
            return self._list(depth, "}", "after a value", lambda: self._member(depth))
        if c == '"':
            return self._string()
        if c == "-" or "0" <= c <= "9":
            return self._number()
        for w in ("true", "false", "null"):
            if self.s.startswith(w, self.i):
                self.i += len(w)
                return
        f = self._found()
        if f in ("'NaN'", "'Infinity'"):
            self._fail(f"{f[1:-1]} is not a JSON number (write finite numbers only)")
        self._fail(f"expected a value, found {f}")

    def _list(self, depth, close, after, element):
        self.i += 1
        self._ws()
        if self.s[self.i:self.i + 1] == close:
            self.i += 1
            return
        while True:
            element()
            self._ws()
            c = self.s[self.i:self.i + 1]
            if c == ",":
                self.i += 1
                self._ws()
                if self.s[self.i:self.i + 1] == close:
                    self._fail(f"a trailing comma before '{close}' is not allowed in JSON")
                continue
            if c == close:
                self.i += 1
                return
            self._fail(f"unexpected end of file: expected ',' or '{close}'" if self.i >= len(self.s) else f"expected ',' or '{close}' {after}, found {self._found()}")

    def _member(self, depth):
        self._ws()
        if self.s[self.i:self.i + 1] != '"':
            self._fail('unexpected end of file: expected a "key"' if self.i >= len(self.s) else f'expected a "key" in double quotes, found {self._found()}')
        self._string()
        self._ws()
        if self.s[self.i:self.i + 1] != ":":
            self._fail(f"expected ':' after the key, found {self._found()}")
        self.i += 1
        self._value(depth + 1)

    def _string(self):
        start = self.i
        i = start + 1
        s = self.s
        while True:
            if i >= len(s):
                self._fail("unterminated string", start)
            c = ord(s[i])
            if c == 0x22:
                break
            if c < 0x20:
                self._fail("unterminated string (a line break inside quotes)" if c == 10 else "a control character inside a string", i)
            if c == 0x5C:
                e = s[i + 1:i + 2]
                if e == "u":
                    if not re.fullmatch(r"[0-9A-Fa-f]{4}", s[i + 2:i + 6]):
                        self._fail("a bad \\u escape in a string", i)
                    i += 6
                    continue
                if e == "" or e not in '"\\/bfnrt':
                    self._fail(f"a bad escape '\\{e}' in a string", i)
                i += 2
                continue
            i += 1
        self.i = i + 1

    def _number(self):
        s = self.s
        start = i = self.i
        digit = lambda k: k < len(s) and "0" <= s[k] <= "9"  # noqa: E731
        if s[i:i + 1] == "-":
            i += 1
        if s[i:i + 1] == "0":
            i += 1
            if digit(i):
                self._fail("a number may not start with 0 (write 7, not 07)", start)
        elif digit(i):
            while digit(i):
                i += 1
        else:
            if s.startswith("Infinity", i):
                self._fail("-Infinity is not a JSON number (write finite numbers only)", start)
            self._fail("a malformed number: '-' must be followed by a digit", start)
        if s[i:i + 1] == ".":
            i += 1
            if not digit(i):
                self._fail("a malformed number: a digit must follow '.'", i)
            while digit(i):
                i += 1
        if s[i:i + 1] in ("e", "E"):
            i += 1
            if s[i:i + 1] in ("+", "-"):
                i += 1
            if not digit(i):
                self._fail("a malformed number: a digit must follow the exponent's 'e'", i)
            while digit(i):
                i += 1
        if not math.isfinite(float(s[start:i])):
            self._fail("a number too large for float64", start)
        self.i = i


class NestedError(ValueError):
    pass


_NUMBER_TYPES = frozenset((int, float))


def claimed_shape(value):
    """The shape a nested array claims, read along its first elements; a number is []."""
    shape = []
    v = value
    while isinstance(v, list):
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    return shape


def fill_from_nested(value, shape, out, path, depth=0):
    """Appends `value`, a nested array of exactly `shape`, to the list `out` (row-major)."""
    if depth == len(shape):
        if type(value) in _NUMBER_TYPES:
            if isinstance(value, float) and not math.isfinite(value):
                raise NestedError(f"{path} is {number_text(value)}, not a finite number")
            out.append(value)
            return
        if isinstance(value, list):
            raise NestedError(f"{path} is an array where a number belongs (the array is ragged: its elements nest to different depths)")
        raise NestedError(f"{path} is {describe_json_value(value)}, not a number")
    if not isinstance(value, list):
        if type(value) in _NUMBER_TYPES:
            raise NestedError(f"{path} is a number where an array of {shape[depth]} belongs (the array is ragged: its elements nest to different depths)")
        raise NestedError(f"{path} is {describe_json_value(value)}, not an array of numbers")
    n = shape[depth]
    if len(value) != n:
        first = _first_sibling(path, depth) if depth > 0 else ""
        tail = f" but {first} has {n}" if first else f", not {n}"
        raise NestedError(f"{path} has {plural(len(value), 'element')}{tail} (the array is ragged)")
    if depth == len(shape) - 1 and _NUMBER_TYPES.issuperset(map(type, value)):
        # The common case in one pass: a row of plain numbers (parse_json makes no non-finite floats).
        out.extend(value)
        return
    for i, v in enumerate(value):
        fill_from_nested(v, shape, out, f"{path}[{i}]", depth + 1)


def _first_sibling(path, depth):
    """`w[3][2]` at depth 2 → `w[0][0]`: the element the claimed shape was read from ("" if `path`)."""
    p = path
    for _ in range(depth):
        m = re.search(r"\[(\d+)\]$", p)
        if not m:
            return path
        p = p[: m.start()]
    candidate = p + "[0]" * depth
    return "" if candidate == path else candidate


def read_nested(value, path):
    """A nested array whose shape is not known in advance: its claimed shape, checked throughout."""
    shape = claimed_shape(value)
    out = []
    fill_from_nested(value, shape, out, path)
    return shape, out


def _float64(values, shape):
    t = torch.tensor(values, dtype=torch.float64) if values else torch.zeros(0, dtype=torch.float64)
    return t.reshape(shape)


# ---- data files ----------------------------------------------------------------------------

MAX_INFLATED_TEXT = 2 ** 30
MAX_IDX_VALUES = 2 ** 28
MAX_IDX_HEADER = 4 + 4 * 255
_IDX_TORCH = {"i8": torch.int8, "i16": torch.int16, "i32": torch.int32, "f32": torch.float32, "f64": torch.float64}
_IDX_TYPES = {0x08: ("u8", 1, "B"), 0x09: ("i8", 1, "b"), 0x0B: ("i16", 2, "h"), 0x0C: ("i32", 4, "i"), 0x0D: ("f32", 4, "f"), 0x0E: ("f64", 8, "d")}


class Data:
    """A data file read for a network: `x` one tensor per input ([N, *shape], float64, or int64
    for token ids), `y` the targets (float64 shaped [N, *output], or int64 class indices [N] or
    [N, T] for cross_entropy) or None, `size` the number of samples."""

    def __init__(self, x, y, size, source):
        self.x = x
        self.y = y
        self.size = size
        self.source = source

    def __repr__(self):
        return f"Data({self.source}: {self.size} samples)"


class _Spec:
    def __init__(self, network, need_targets):
        self.inputs = []
        for i in network["inputs"]:
            self.inputs.append({
                "name": i["name"],
                "shape": list(i["shape"]),
                "dtype": i.get("dtype", "float"),
                "vocabulary": i.get("vocabulary"),
            })
        self.output = list(network["output"])
        self.loss = (network.get("train") or {}).get("loss")
        self.need_targets = need_targets


def read_data(path, network, *, labels=None, need_targets=False):
    """Reads a data file (JSON, CSV or IDX, gzip'd or not) for `network` (model.py's NETWORK).

    An IDX images file finds its labels file beside it by MNIST's naming, or `labels` names it
    (or `path` is `IMAGES,LABELS`). Class-index targets stay indices for cross_entropy (int64)
    and become one-hot rows for the other losses, as in dlc."""
    spec = _Spec(network, need_targets)
    if labels is None and "," in path and not os.path.exists(path):
        parts = [p.strip() for p in path.split(",") if p.strip()]
        if len(parts) != 2:
            raise DlcError(f"--data {path}: name one file, or an IDX images file and its labels file separated by one comma")
        a, b = (_decode_idx(_read_data_bytes(p, "idx")[0], p) for p in parts)
        images, label_array = (b, a) if len(a["dims"]) == 1 and len(b["dims"]) > 1 else (a, b)
        return _finish(_idx_dataset(images, label_array, spec), spec)
    if labels is not None:
        images = _decode_idx(_read_data_bytes(path, "idx")[0], path)
        return _finish(_idx_dataset(images, _decode_idx(_read_data_bytes(labels, "idx")[0], labels), spec), spec)
    data, name = _read_data_bytes(path)
    fmt = data_format_of(name, data)
    if fmt == "json":
        return _finish(_json_dataset(parse_json(_data_text(data, path), path), path, spec), spec)
    if fmt == "csv":
        return _finish(_csv_dataset(_data_text(data, path), path, spec), spec)
    images = _decode_idx(data, path)
    if len(images["dims"]) == 1:
        return _finish(_idx_dataset(images, None, spec), spec)
    beside = labels_beside(path)
    label_array = _decode_idx(_read_data_bytes(beside, "idx")[0], beside) if beside else None
    return _finish(_idx_dataset(images, label_array, spec), spec)


def _finish(parts, spec):
    """Flat float64 lists become tensors: [N, *shape] per input (int64 token ids), the targets."""
    size, xs, targets, source = parts
    x = []
    for values, inp in zip(xs, spec.inputs):
        t = values if isinstance(values, torch.Tensor) else _float64(values, [size * size_of(inp["shape"])])
        t = t.reshape([size] + inp["shape"])
        if inp["dtype"] == "int64":
            _check_token_ids(t, inp, source)
            t = t.to(torch.int64)
        x.append(t)
    y = None
    if targets is not None:
        kind, values, per_sample = targets
        if kind == "classes":
            y = torch.tensor(values, dtype=torch.int64).reshape([size] + spec.output[:-1])
        else:
            y = _float64(values, [size] + spec.output)
    return Data(x, y, size, source)


def _check_token_ids(t, inp, file):
    """Token ids feed embeddings: whole numbers from 0 to the vocabulary's size − 1."""
    flat = t.reshape(-1)
    vocabulary = inp["vocabulary"]
    bad = (flat != flat.floor()) | (flat < 0)
    if vocabulary is not None:
        bad |= flat >= vocabulary
    if bool(bad.any()):
        j = int(bad.nonzero()[0][0])
        width = size_of(inp["shape"])
        at = f"x[{j // width}]{_index_path(inp['shape'], j % width)}"
        what = f"the embedding's vocabulary of {vocabulary} (a whole number from 0 to {vocabulary - 1})" if vocabulary is not None else "an embedding (a whole number from 0)"
        raise DlcError(f"{file}: {at} = {number_text(float(flat[j]))} is not a token id for {what}")


def _index_path(shape, flat):
    idx = []
    for d in reversed(shape):
        idx.append(flat % d)
        flat //= d
    return "".join(f"[{i}]" for i in reversed(idx))


def data_format_of(name, data):
    """`json`, `csv` or `idx`: by the name's extension (or `idx` in it), else by the first bytes."""
    base = os.path.basename(name)
    dot = base.rfind(".")
    ext = base[dot:].lower() if dot > 0 else ""
    if ext == ".json":
        return "json"
    if ext == ".csv":
        return "csv"
    if re.search(r"idx\d", base, re.I) or ext == ".idx":
        return "idx"
    if _looks_like_idx(data):
        return "idx"
    i = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    while i < len(data) and data[i] in b" \t\n\r":
        i += 1
    return "json" if data[i:i + 1] == b"{" else "csv"


def _looks_like_idx(data):
    return len(data) >= 4 and data[0] == 0 and data[1] == 0 and data[2] in _IDX_TYPES and data[3] >= 1


def _read_data_bytes(path, fmt=None):
    """A data file's bytes, gunzipped when the name ends in .gz (inflating no further than an IDX
    header declares, or MAX_INFLATED_TEXT for JSON and CSV), and the name without .gz."""
    raw = read_regular_file(path, "data file")
    if not path.lower().endswith(".gz"):
        return raw, path
    name = path[:-3]
    head = _gunzip(raw, path, MAX_IDX_HEADER, partial=True)
    is_idx = (fmt or data_format_of(name, head)) == "idx"
    limit = _idx_header(head, path)["file_length"] if is_idx else MAX_INFLATED_TEXT
    why = "the size its IDX header declares" if is_idx else "the most dlc inflates of gzip'd JSON or CSV data"
    data = _gunzip(raw, path, limit)
    if data is None:
        raise DlcError(f"{path}: refused: it inflates to more than {limit} bytes, {why}")
    return data, name


def _gunzip(raw, path, limit, partial=False):
    """Inflates gzip members up to `limit` bytes: None when there is more (or, with `partial`, the
    first `limit` bytes or all there is)."""
    out = bytearray()
    rest = raw
    try:
        while True:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += d.decompress(rest, limit + 1 - len(out))
            if len(out) > limit:
                return bytes(out[:limit]) if partial else None
            if d.unconsumed_tail:
                if partial:
                    return bytes(out)
                return None
            if not d.eof:
                if partial:
                    return bytes(out)
                raise DlcError(f"{path}: not a valid gzip file (unexpected end of file)")
            rest = d.unused_data
            if not rest.strip(b"\x00"):
                return bytes(out)
    except zlib.error as e:
        reason = re.sub(r"^Error -?\d+ while [a-z ]+: ", "", str(e))
        raise DlcError(f"{path}: not a valid gzip file ({reason})")


def _data_text(data, path):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DlcError(f"{path}: not a text file (invalid UTF-8); data files are JSON, CSV or IDX")


def labels_beside(images_path):
    """The labels file beside an images file, by MNIST's naming (images → labels, idx3 → idx1)."""
    folder, base = os.path.split(images_path)
    renamed = base.replace("images", "labels").replace("Images", "Labels").replace("IMAGES", "LABELS")
    renamed = re.sub(r"idx[2-9]", lambda m: m.group(0)[:3] + "1", renamed, flags=re.I)
    if renamed == base:
        return None
    plain = re.sub(r"\.gz$", "", renamed, flags=re.I)
    for candidate in (renamed, plain, plain + ".gz"):
        p = os.path.join(folder, candidate)
        if os.path.exists(p):
            return p
    return None


# JSON data

def _json_dataset(doc, file, spec):
    def fail(message):
        raise DlcError(f"{file}: {message}")

    def fail_has(message):
        raise DlcError(f"{file} {message}")

    if not isinstance(doc, dict):
        fail(f'a JSON data file is one object {{"x": [sample, …], "y": [target, …]}}; found {json_kind(doc)}')
    if "x" not in doc:
        keys = [k for k in doc if k != "y"]
        guess = closest("x", keys)
        if guess:
            fail_has(f'has no "x" (the samples); is "{guess}" meant to be "x"?')
        listed = excerpt(", ".join(f'"{k}"' for k in doc))
        fail_has(f'has no "x" (the samples)' + (f" (it has {listed})" if doc else ""))
    columns = _input_columns(doc["x"], spec, fail)
    size = len(columns[0][1])
    for inp, samples, path in columns[1:]:
        if len(samples) != size:
            fail(f"{path} has {len(samples)} samples but {columns[0][2]} has {size}")
    if size == 0:
        fail_has("has no samples: x is empty")
    xs = [_read_input(samples, inp, path, file, len(columns) > 1) for inp, samples, path in columns]
    y = doc.get("y")
    if y is None and "y" not in doc:
        if spec.need_targets:
            guess = closest("y", [k for k in doc if k != "x"])
            fail_has('has no "y" (the targets), which training needs' + (f'; is "{guess}" meant to be "y"?' if guess else ""))
        return size, xs, None, file
    if not isinstance(y, list):
        fail(f'"y" must be an array with one target per sample, found {json_kind(y)}')
    if len(y) != size:
        fail_has(f"has {size} samples in x but {len(y)} in y")
    builder = _TargetBuilder(spec, size)
    for i in range(size):
        builder.nested(i, y[i], f"y[{i}]", file, file)
    return size, xs, builder.result(), file


def _input_columns(x, spec, fail):
    names = [i["name"] for i in spec.inputs]
    if isinstance(x, list):
        if len(spec.inputs) == 1:
            return [(spec.inputs[0], x, "x")]
        keyed = ", ".join(f'"{n}": […]' for n in names)
        fail(f'the network has {len(spec.inputs)} inputs ({", ".join(names)}), so "x" must be an object keyed by input name: {{"x": {{{keyed}}}, …}}')
    if not isinstance(x, dict):
        fail(f'"x" must be an array of samples{" per input" if len(spec.inputs) > 1 else ""}, found {json_kind(x)}')
    columns = []
    for inp in spec.inputs:
        path = f"x.{inp['name']}"
        if inp["name"] not in x:
            guess = closest(inp["name"], [k for k in x if k not in names])
            fail(f'"x" has no "{inp["name"]}"' + (f'; did you mean "{guess}"?' if guess else "") + f" (the network's inputs: {', '.join(names)})")
        value = x[inp["name"]]
        if not isinstance(value, list):
            fail(f"{path} must be an array of samples, found {json_kind(value)}")
        columns.append((inp, value, path))
    for key in x:
        if key not in names:
            fail(f'"x" has "{excerpt(key)}", which is not an input of the network (its inputs: {", ".join(names)})')
    return columns


def _read_input(samples, inp, path, file, named):
    shape = inp["shape"]
    out = []
    for i, sample in enumerate(samples):
        at = f"{path}[{i}]"
        claimed = claimed_shape(sample)
        if claimed != shape:
            if type(sample) in _NUMBER_TYPES:
                got = f"is the number {number_text(sample)}, not an array"
            elif not claimed:
                got = f"is {json_kind(sample)}, not an array of numbers"
            else:
                got = f"has shape {format_shape(claimed)}"
            name = f" '{inp['name']}'" if named else ""
            raise DlcError(f"sample {i} of {file} ({at}) {got}; the network's input{name} is {format_shape(shape)}")
        try:
            fill_from_nested(sample, shape, out, at)
        except NestedError as e:
            raise DlcError(f"sample {i} of {file}: {e}")
    return out


class _TargetBuilder:
    """One target per sample, every one in the same form: shaped like the output ("values"), or
    class indices — kept as indices for cross_entropy (or no loss), one-hot for the others."""

    def __init__(self, spec, size):
        self.spec = spec
        self.size = size
        self.mode = None
        self.class_shape = spec.output[:-1]
        self.class_count = spec.output[-1] if spec.output else 1
        self.out_width = size_of(spec.output)
        self.class_width = size_of(self.class_shape)
        self.values = None
        self.classes = None

    def nested(self, i, value, what, at, file):
        output = self.spec.output
        claimed = claimed_shape(value)
        is_number = type(value) in _NUMBER_TYPES
        if claimed == output:
            mode = "values"
        elif not claimed and self.out_width == 1 and is_number:
            mode = "values"
        elif output and claimed == self.class_shape and self.out_width > 1:
            mode = self._class_mode()
        else:
            class_form = ""
            if output and self.out_width > 1:
                class_form = " or " + ("a class index" if not self.class_shape else f"class indices shaped {format_shape(self.class_shape)}")
            got = f"is {describe_json_value(value)}" if not claimed and not is_number else f"has shape {format_shape(claimed)}"
            self._fail(f"{what} {got}; the network's output is {format_shape(output)}, so a target is shaped {format_shape(output)}{class_form}", at)
        self._set_mode(mode, what, at)
        try:
            if mode == "values":
                if not claimed:
                    self.values[i * self.out_width] = value
                else:
                    row = []
                    fill_from_nested(value, output, row, what)
                    self.values[i * self.out_width:(i + 1) * self.out_width] = row
                return
            if not claimed:
                if not is_number:
                    self._fail(f"{what} is {describe_json_value(value)}, not a class index", at)
                scratch = [value]
            else:
                scratch = []
                fill_from_nested(value, self.class_shape, scratch, what)
            for k, v in enumerate(scratch):
                self._put_class(i, k, v, at, what if not claimed else what + _index_path(self.class_shape, k))
        except NestedError as e:
            self._fail(str(e), at)

    def label(self, i, value, what, at):
        """One number per sample: a CSV row's last field, an IDX label."""
        if self.out_width == 1:
            self._set_mode("values", what, at)
            self.values[i] = value
            return
        if len(self.spec.output) != 1:
            self._fail(f"one label per sample cannot fill the network's output {format_shape(self.spec.output)}: it needs {self.class_width} class indices per sample (use a JSON data file)", at)
        self._set_mode(self._class_mode(), what, at)
        self._put_class(i, 0, value, at, what)

    def result(self):
        if self.mode != "classes":
            return ("values", self.values if self.values is not None else [0.0] * (self.size * self.out_width), self.out_width)
        return ("classes", self.classes, self.class_width)

    def _class_mode(self):
        return "classes" if self.spec.loss in (None, "cross_entropy") else "onehot"

    def _set_mode(self, mode, what, at):
        if self.mode is None:
            self.mode = mode
            if mode == "classes":
                self.classes = [0] * (self.size * self.class_width)
            else:
                self.values = [0.0] * (self.size * self.out_width)
            return
        if self.mode != mode:
            form = lambda m: "shaped like the output" if m == "values" else "a class index"  # noqa: E731
            self._fail(f"{what} is {form(mode)} but the first target is {form(self.mode)}; write every target the same way", at)

    def _put_class(self, i, k, v, at, what):
        n = self.class_count
        whole = float(v).is_integer()
        if not whole or v < 0 or v >= n:
            why = f"is not a class index for {n} classes (0 to {n - 1})" if whole else f"is not a class index (a whole number from 0 to {n - 1})"
            self._fail(f"{what} = {number_text(v)} {why}", at)
        if self.mode == "classes":
            self.classes[i * self.class_width + k] = int(v)
        else:
            self.values[i * self.out_width + k * n + int(v)] = 1.0

    def _fail(self, message, at):
        raise DlcError(f"{at}: {message}")


# CSV data

_DECIMAL_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NON_FINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.I)
_STARTS_LIKE_NUMBER = re.compile(r"[+-]?\.?\d")
_NOT_DECIMAL = re.compile(r"[+-]?(0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[\d_]*\d_[\d_.]*([eE][+-]?[\d_]+)?)")
_JS_SPACE = " \t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _is_number_like(field):
    t = field.strip(_JS_SPACE)
    return bool(_DECIMAL_NUMBER.fullmatch(t) or _NON_FINITE.fullmatch(t) or _STARTS_LIKE_NUMBER.match(t))


def _csv_number(field):
    """A field's value, or the end of "field 3 is …" saying why it has none."""
    t = field.strip(_JS_SPACE)
    if t == "":
        return "empty, not a number"
    quoted = f"'{excerpt(t)}'"
    if _DECIMAL_NUMBER.fullmatch(t):
        v = float(t)
        return v if math.isfinite(v) else f"{quoted}, a number too large for float64"
    if _NON_FINITE.fullmatch(t):
        return f"{quoted}: data must be finite numbers"
    if _NOT_DECIMAL.fullmatch(t):
        return f"{quoted}, not a decimal number (write numbers such as 16, -0.5 or 1e-3)"
    return f"{quoted}, not a number"


def _split_csv_line(line):
    """Fields of one CSV line, honouring "quoted, fields" and "" escapes: (text, 0-based start)."""
    out = []
    i = 0
    while True:
        start = i
        lead = i
        while lead < len(line) and line[lead] in " \t":
            lead += 1
        if lead < len(line) and line[lead] == '"':
            i = lead + 1
            text = []
            while i < len(line):
                if line[i] == '"':
                    if line[i + 1:i + 2] == '"':
                        text.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                text.append(line[i])
                i += 1
            while i < len(line) and line[i] != ",":
                i += 1
            text = "".join(text)
        else:
            comma = line.find(",", i)
            end = len(line) if comma < 0 else comma
            text = line[i:end]
            i = end
        out.append((text, start))
        if i >= len(line):
            return out
        i += 1


def _csv_column_of(line, index):
    fields = _split_csv_line(line)
    return (fields[index][1] if index < len(fields) else len(line)) + 1


def _csv_dataset(text, file, spec):
    if len(spec.inputs) != 1:
        names = ", ".join(i["name"] for i in spec.inputs)
        keyed = ", ".join(f'"{i["name"]}": […]' for i in spec.inputs)
        raise DlcError(f'{file}: a CSV file fills one input, but the network has {len(spec.inputs)} ({names}); use a JSON data file with "x": {{{keyed}}}')
    inp = spec.inputs[0]
    width = size_of(inp["shape"])
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = [l[:-1] if l.endswith("\r") else l for l in text.split("\n")]

    def fail(message, line=None, column=None):
        at = file if line is None else f"{file}:{line}" if column is None else f"{file}:{line}:{column}"
        raise DlcError(f"{at}: {message}")

    first = 0
    while first < len(lines) and lines[first].strip(_JS_SPACE) == "":
        first += 1
    if first == len(lines):
        fail("has no samples: the file is empty")
    first_fields = _split_csv_line(lines[first])
    has_header = any(not _is_number_like(f[0]) for f in first_fields)
    columns = len(first_fields)
    describe_width = f"the network's input {format_shape(inp['shape'])} takes {plural(width, 'value')} per row"
    if columns == width + 1:
        has_label = True
    elif columns == width:
        has_label = False
        if spec.need_targets:
            fail(f"{'the header has' if has_header else 'rows have'} {columns} columns: {describe_width} but there is no label column; training needs the label in the last column", first + 1)
    else:
        fail(f"{'the header has' if has_header else 'the first row has'} {plural(columns, 'column')}; {describe_width}, plus the label in the last column ({width + 1} in all)", first + 1)
    row_lines = [l for l in range((first + 1) if has_header else first, len(lines)) if lines[l].strip(_JS_SPACE) != ""]
    size = len(row_lines)
    if size == 0:
        fail("has no samples, only a header", first + 1)
    x = [0.0] * (size * width)
    builder = _TargetBuilder(spec, size) if has_label else None
    for i, l in enumerate(row_lines):
        line_no = l + 1
        raw = lines[l]
        fields = [f[0] for f in _split_csv_line(raw)] if '"' in raw else raw.split(",")
        if len(fields) != columns:
            fail(f"has {plural(len(fields), 'field')}, but {'the header has' if has_header else 'the first row has'} {columns}", line_no)
        base = i * width
        for c in range(width):
            v = _csv_number(fields[c])
            if isinstance(v, str):
                fail(f"field {c + 1} is {v}", line_no, _csv_column_of(raw, c))
            x[base + c] = v
        if builder is not None:
            v = _csv_number(fields[width])
            column = _csv_column_of(raw, width) if '"' in raw else raw.rfind(",") + 2
            if isinstance(v, str):
                fail(f"the label (field {width + 1}) is {v}", line_no, column)
            builder.label(i, v, "the label", f"{file}:{line_no}:{column}")
    return size, [x], builder.result() if builder is not None else None, file


# IDX data

def _idx_header(data, file):
    def fail(message):
        raise DlcError(f"{file}: {message}")

    if len(data) < 4:
        fail(f"truncated IDX file: {len(data)} bytes, fewer than the 4 of the magic number")
    if data[0] != 0 or data[1] != 0:
        fail(f"not an IDX file: it must start with two zero bytes, found 0x{data[0]:02X} 0x{data[1]:02X}")
    if data[2] not in _IDX_TYPES:
        fail(f"unknown IDX data type 0x{data[2]:02X} (known: 0x08 unsigned byte, 0x09 signed byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)")
    kind, size, code = _IDX_TYPES[data[2]]
    rank = data[3]
    if rank == 0:
        fail("the IDX header declares 0 dimensions")
    header_length = 4 + 4 * rank
    if len(data) < header_length:
        fail(f"truncated IDX file: the header declares {rank} dimensions ({header_length} bytes) but the file has {len(data)} bytes")
    dims = [int.from_bytes(data[4 + 4 * d:8 + 4 * d], "big") for d in range(rank)]
    count = size_of(dims)
    if count > MAX_IDX_VALUES:
        fail(f"the IDX header declares dimensions {format_shape(dims)}, {count} values; dlc reads IDX files of up to {MAX_IDX_VALUES} values")
    return {"type": kind, "size": size, "code": code, "dims": dims, "header_length": header_length, "file_length": header_length + count * size}


def _decode_idx(data, file):
    h = _idx_header(data, file)
    need = h["file_length"] - h["header_length"]
    have = len(data) - h["header_length"]
    if have < need:
        raise DlcError(f"{file}: truncated IDX file: dimensions {format_shape(h['dims'])} of {h['type']} need {need} bytes of data but the file has {have}")
    if have > need:
        raise DlcError(f"{file}: the IDX file has {have - need} bytes after the data its dimensions {format_shape(h['dims'])} describe")
    body = data[h["header_length"]:]
    if h["type"] == "u8":
        values = torch.frombuffer(bytearray(body), dtype=torch.uint8).to(torch.float64) if body else torch.zeros(0, dtype=torch.float64)
    else:
        a = array.array(h["code"])
        a.frombytes(body)
        if sys.byteorder == "little" and h["size"] > 1:
            a.byteswap()
        values = torch.frombuffer(a, dtype=_IDX_TORCH[h["type"]]).to(torch.float64) if len(a) else torch.zeros(0, dtype=torch.float64)
    if h["type"] in ("f32", "f64"):
        bad = ~torch.isfinite(values)
        if bool(bad.any()):
            j = int(bad.nonzero()[0][0])
            dims = h["dims"]
            per_sample = size_of(dims[1:])
            where = f"value {j}" if len(dims) == 1 else f"sample {j // per_sample}, value {j % per_sample}"
            raise DlcError(f"{file}: {where} is {number_text(float(values[j]))}; data must be finite numbers")
    return {"file": file, "unsigned_bytes": h["type"] == "u8", "dims": h["dims"], "data": values}


def _idx_dataset(images, labels, spec):
    file = images["file"]
    if len(spec.inputs) != 1:
        names = ", ".join(i["name"] for i in spec.inputs)
        raise DlcError(f"{file}: IDX images fill one input, but the network has {len(spec.inputs)} ({names}); use a JSON data file")
    inp = spec.inputs[0]
    dims = images["dims"]
    if len(dims) < 2:
        raise DlcError(f"{file} is a 1-D IDX file {format_shape(dims)}, a labels file; pass the images file (its labels are found beside it) or name both: --data IMAGES,LABELS")
    size = dims[0]
    width = size_of(inp["shape"])
    per_image = size_of(dims[1:])
    if per_image != width:
        raise DlcError(f"{file}: its samples are {format_shape(dims[1:])} ({per_image} values each); the network's input {format_shape(inp['shape'])} takes {width}")
    if size == 0:
        raise DlcError(f"{file} has no samples")
    x = images["data"]
    if images["unsigned_bytes"]:
        x = x / 255
    if labels is None:
        if spec.need_targets:
            raise DlcError(f"{file}: training needs labels; put the labels file beside it (train-images-idx3-ubyte → train-labels-idx1-ubyte) or name both: --data IMAGES,LABELS")
        return size, [x], None, file
    if len(labels["dims"]) != 1:
        raise DlcError(f"{labels['file']}: a labels file is 1-D [N], but this one is {format_shape(labels['dims'])}")
    if labels["dims"][0] != size:
        raise DlcError(f"{file} has {size} samples but {labels['file']} has {labels['dims'][0]} labels")
    builder = _TargetBuilder(spec, size)
    for i, v in enumerate(labels["data"].tolist()):
        builder.label(i, v, f"label {i}", labels["file"])
    return size, [x], builder.result(), f"{file},{labels['file']}"


# ---- weights files -------------------------------------------------------------------------

_SAFETENSORS_READ = {"F64": (8, torch.float64), "F32": (4, torch.float32), "F16": (2, torch.float16), "BF16": (2, torch.bfloat16)}
_SAFETENSORS_OTHER = ["BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F8_E4M3", "F8_E5M2", "C64"]
FLOAT32_MAX = 3.4028234663852886e38


def weights_format(path):
    """`json` or `safetensors`, by the file's extension."""
    name = os.path.basename(path.rstrip("/\\"))
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot > 0 else ""
    if ext == ".json":
        return "json"
    if ext == ".safetensors":
        return "safetensors"
    raise DlcError(f"cannot tell the format of the weights file {path}" + (f" (extension {ext})" if ext else "") + ": name it .json or .safetensors")


def read_weights(path, expected=None, *, strict=False, warn=None):
    """Every tensor of a dlc weights file (.json or .safetensors) as float64, by name, in the file's
    order. With `expected` ({name: shape} in the network's order) the file is checked as dlc checks
    it: a missing weight, another shape or a value that is not finite is an error (all listed); a
    name the network does not have is a warning passed to `warn` (an error with `strict`)."""
    fmt = weights_format(path)
    data = read_regular_file(path, "weights file")
    found = _decode_safetensors(data, path) if fmt == "safetensors" else _parse_weights_json(data, path)
    if expected is None:
        return found
    values, warnings = check_weights(found, expected, path, strict)
    for w in warnings:
        (warn or (lambda m: sys.stderr.write(f"warning: {terminal_text(m)}\n")))(w)
    return values


def _parse_weights_json(data, file):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DlcError(f"{file}: not a text file (invalid UTF-8); a .json weights file is JSON text")
    doc = parse_json(text, file)
    if not isinstance(doc, dict):
        raise DlcError(f'{file}: a JSON weights file must be one object mapping each weight\'s name to a nested array, e.g. {{"dense1.kernel": [[…]], "dense1.bias": […]}}; found {json_kind(doc)}')
    out = {}
    for name, value in doc.items():
        try:
            shape, values = read_nested(value, name)
        except NestedError as e:
            raise DlcError(f"{file}: {e}")
        out[name] = _float64(values, shape)
    return out


def check_weights(found, expected, file, strict=False):
    """(values {name: float64 tensor} in `expected`'s order, warnings); DlcError listing every problem."""
    problems = []
    extras = [n for n in found if n not in expected]
    suggested = set()
    values = {}
    for name, shape in expected.items():
        shape = list(shape)
        t = found.get(name)
        if t is None:
            guess = closest(name, extras)
            if guess:
                suggested.add(guess)
            problems.append(f"'{name}' {format_shape(shape)} is missing" + (f"; did you mean '{excerpt(guess)}'?" if guess else ""))
            continue
        if list(t.shape) != shape:
            problems.append(f"'{name}' has shape {format_shape(list(t.shape))} in the file but the network needs {format_shape(shape)}{_layout_hint(list(t.shape), shape)}")
            continue
        bad = ~torch.isfinite(t.reshape(-1))
        if bool(bad.any()):
            j = int(bad.nonzero()[0][0])
            problems.append(f"'{name}' holds {number_text(float(t.reshape(-1)[j]))} at flat index {j}; weights must be finite numbers")
            continue
        values[name] = t.to(torch.float64)
    warnings = []
    for name in extras:
        if name in suggested:
            continue
        text = f"'{excerpt(name)}' is not a weight of this network"
        if strict:
            problems.append(text)
        else:
            warnings.append(f"{file}: {text}; ignored")
    if problems:
        if found and expected and all(n not in found for n in expected):
            have = ", ".join(f"'{excerpt(n)}'" for n in list(found)[:4])
            need = ", ".join(f"'{n}'" for n in list(expected)[:4])
            problems.append(f"no name in the file matches: the file has {have}{', …' if len(found) > 4 else ''}; the network needs {need}{', …' if len(expected) > 4 else ''} (see 'dlc summary' for the layer names)")
        raise DlcError(list_problems(file, "does not fit the network", problems))
    return values, warnings


def _layout_hint(got, need):
    if len(got) == len(need) and sorted(got) == sorted(need):
        return " (the same sizes in another order: dlc lays weights out as Keras does, a dense kernel [F,N], a conv kernel [K,K,C,F])"
    if size_of(got) == size_of(need):
        return " (the same number of values in another shape)"
    return ""


def _decode_safetensors(data, file):
    def fail(message):
        raise DlcError(f"{file}: {message}")

    if len(data) < 8:
        fail(f"truncated safetensors file: {plural(len(data), 'byte')}, fewer than the 8 that give the header's length")
    n = int.from_bytes(data[:8], "little")
    available = len(data) - 8
    if n > available:
        fail(f"truncated safetensors file (or not safetensors at all): the header claims {n} bytes but only {available} follow the length")
    if n > 100_000_000:
        fail(f"the safetensors header is {n} bytes, more than the 100 MB limit")
    if n < 2:
        fail("the safetensors header is empty; it must be a JSON object")
    try:
        header_text = data[8:8 + n].decode("utf-8")
    except UnicodeDecodeError:
        fail("the safetensors header is not valid UTF-8")
    if not header_text.lstrip().startswith("{"):
        fail("not a safetensors file: the header does not start with '{'")
    header = parse_json(header_text, f"{file} (safetensors header)", "JSON header")
    if not isinstance(header, dict):
        fail("the safetensors header must be a JSON object")
    data_length = available - n
    entries = []
    for name, raw in header.items():
        if name == "__metadata__":
            if not isinstance(raw, dict):
                fail("__metadata__ must be an object of strings")
            for k, v in raw.items():
                if not isinstance(v, str):
                    fail(f"__metadata__.{excerpt(k)} must be a string, found {describe_json_value(v)}")
            continue
        if not isinstance(raw, dict):
            fail(f"the header entry '{excerpt(name)}' must be an object with dtype, shape and data_offsets")
        dtype = raw.get("dtype")
        if not isinstance(dtype, str):
            fail(f"'{excerpt(name)}' has no dtype string")
        if dtype not in _SAFETENSORS_READ:
            known = "does not read" if dtype in _SAFETENSORS_OTHER else "does not know"
            fail(f"'{excerpt(name)}' has dtype {excerpt(json.dumps(dtype))}, which dlc {known}; weights must be F64, F32, F16 or BF16")
        shape = raw.get("shape")
        if not isinstance(shape, list) or not all(type(d) is int and 0 <= d < 2 ** 53 for d in shape):
            fail(f"'{excerpt(name)}' has shape {excerpt(json.dumps(shape) if 'shape' in raw else 'missing')}; a shape is a list of non-negative integers")
        offsets = raw.get("data_offsets")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int and 0 <= o < 2 ** 53 for o in offsets):
            fail(f"'{excerpt(name)}' has data_offsets {excerpt(json.dumps(offsets) if 'data_offsets' in raw else 'missing')}; they must be [begin, end], two non-negative integers")
        begin, end = offsets
        if end < begin:
            fail(f"'{excerpt(name)}' has data_offsets [{begin}, {end}]: the end comes before the beginning")
        if end > data_length:
            fail(f"truncated safetensors file: '{excerpt(name)}' needs bytes {begin}–{end} of the data, but the file holds only {data_length} bytes of data")
        size = _SAFETENSORS_READ[dtype][0]
        count = size_of(shape)
        if end - begin != count * size:
            fail(f"'{excerpt(name)}' has shape [{','.join(str(d) for d in shape)}] of {dtype}, which takes {count * size} bytes, but its data_offsets [{begin}, {end}] span {end - begin}")
        entries.append((name, dtype, shape, begin, end))
    spans = sorted((e for e in entries if e[4] > e[3]), key=lambda e: e[3])
    for a, b in zip(spans, spans[1:]):
        if b[3] < a[4]:
            fail(f"'{excerpt(a[0])}' (bytes {a[3]}–{a[4]}) and '{excerpt(b[0])}' (bytes {b[3]}–{b[4]}) overlap")
    out = {}
    start = 8 + n
    for name, dtype, shape, begin, end in entries:
        size, torch_dtype = _SAFETENSORS_READ[dtype]
        chunk = bytearray(data[start + begin:start + end])
        if not chunk:
            out[name] = torch.zeros(shape, dtype=torch.float64)
            continue
        t = torch.frombuffer(chunk, dtype=torch.uint8).reshape(-1, size)
        if sys.byteorder != "little":
            t = t.flip(1).contiguous()
        out[name] = t.reshape(-1).view(torch_dtype).to(torch.float64).reshape(shape)
    return out


def write_weights(path, tensors, dtype="f32", metadata=None):
    """Writes {name: tensor} (dlc's names and layouts) as dlc writes weights, atomically: `.json`
    (always the exact float64 values) or `.safetensors` (F32, or F64 with dtype="f64")."""
    fmt = weights_format(path)
    if dtype not in ("f32", "f64"):
        raise DlcError(f"the weights dtype is f32 or f64, not {dtype}")
    items = [(name, t.detach().to("cpu", torch.float64).contiguous()) for name, t in tensors.items()]
    if fmt == "json":
        lines = []
        for name, t in items:
            flat = t.reshape(-1)
            bad = ~torch.isfinite(flat)
            if bool(bad.any()):
                j = int(bad.nonzero()[0][0])
                raise DlcError(f"cannot write {path}: {name} holds {number_text(float(flat[j]))} at flat index {j}; JSON cannot hold it (use a .safetensors file)")
            lines.append(f"  {json.dumps(name, ensure_ascii=False)}: {json.dumps(t.tolist(), separators=(',', ':'))}")
        text = "{}\n" if not lines else "{\n" + ",\n".join(lines) + "\n}\n"
        write_file_atomic(path, text)
        return
    write_file_atomic(path, encode_safetensors(items, path, "F64" if dtype == "f64" else "F32", metadata))


def encode_safetensors(items, file, dtype, metadata=None):
    """The bytes of a safetensors file holding [(name, float64 tensor)] in order, data 8-byte aligned."""
    size = 8 if dtype == "F64" else 4
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name, t in items:
        if name == "__metadata__":
            raise DlcError(f"cannot write {file}: '__metadata__' is reserved and cannot name a tensor")
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + t.numel() * size]}
        offset += t.numel() * size
    header_bytes = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    parts = [len(header_bytes).to_bytes(8, "little"), header_bytes]
    for name, t in items:
        flat = t.reshape(-1)
        if dtype == "F32":
            too_large = torch.isfinite(flat) & (flat.abs() > FLOAT32_MAX) & ~torch.isfinite(flat.to(torch.float32))
            if bool(too_large.any()):
                j = int(too_large.nonzero()[0][0])
                raise DlcError(f"cannot write {file}: '{name}' holds {number_text(float(flat[j]))} at flat index {j}, too large for F32 (write F64 instead: --save-dtype f64)")
            flat = flat.to(torch.float32)
        if flat.numel() == 0:
            continue
        raw = flat.contiguous().view(torch.uint8)
        if sys.byteorder != "little":
            raw = raw.reshape(-1, size).flip(1).reshape(-1)
        parts.append(ctypes.string_at(raw.data_ptr(), raw.numel()))
    return b"".join(parts)


# ---- losses and optimizers -----------------------------------------------------------------

LOSSES = ("squared", "cross_entropy", "binary_cross_entropy")


def dense_targets(targets, output):
    """Targets as dense values shaped like `output`: class indices become one-hot rows."""
    if targets.dtype == torch.int64:
        return torch.nn.functional.one_hot(targets, output.shape[-1]).to(output.dtype)
    return targets.to(output.dtype)


def loss_sum(kind, output, targets, logits=None):
    """A batch's loss summed over its samples (and over each sample's outputs), LANGUAGE.md §6.

    `output` is the network's output; `logits`, when given, the input of its final softmax
    (cross_entropy) or sigmoid (binary_cross_entropy), for the stable fused form dlc uses. Without
    it the loss is computed from the output with dlc's clamps (log of at least 1e-12); where the
    output is a softmax or sigmoid of logits both forms agree, and so do their gradients (a − y)."""
    y = dense_targets(targets, output)
    if kind == "squared":
        return 0.5 * ((output - y) ** 2).sum()
    if kind == "cross_entropy":
        if logits is not None:
            return -(y * torch.log_softmax(logits, dim=-1)).sum()
        return -(y * torch.log(output.clamp_min(1e-12))).sum()
    if kind == "binary_cross_entropy":
        if logits is not None:
            x = logits
            return (x.clamp_min(0) - x * y + torch.log1p(torch.exp(-x.abs()))).sum()
        p = output.clamp(1e-12, 1 - 1e-12)
        return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).sum()
    raise DlcError(f"unknown loss {kind}; dlc's losses are {', '.join(LOSSES)}")


def compute_loss(kind, output, targets, logits=None):
    """The loss as dlc reports and differentiates it: summed over outputs, mean over the batch."""
    return loss_sum(kind, output, targets, logits) / output.shape[0]


DEFAULT_LR = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001}


def make_optimizer(params, config, lr=None):
    """dlc's optimizer as PyTorch's own: SGD (g += wd·w; v = M·v + g; w −= lr·v), Adam (g += wd·w;
    bias-corrected, eps added to √v̂) or AdamW (w *= 1 − lr·wd first). `config` is
    NETWORK["train"]["optimizer"] (weight_decay resolved as dlc resolves it); `lr` overrides its rate."""
    kind = config.get("kind", "sgd")
    rate = lr if lr is not None else config.get("lr") if config.get("lr") is not None else DEFAULT_LR.get(kind)
    decay = config.get("weight_decay") or 0.0
    if kind == "sgd":
        return torch.optim.SGD(params, lr=rate, momentum=config.get("momentum") or 0.0, weight_decay=decay)
    if kind in ("adam", "adamw"):
        betas = (config.get("beta1") if config.get("beta1") is not None else 0.9, config.get("beta2") if config.get("beta2") is not None else 0.999)
        eps = config.get("eps") if config.get("eps") is not None else 1e-8
        make = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        return make(params, lr=rate, betas=betas, eps=eps, weight_decay=decay)
    raise DlcError(f"the optimizer {kind} is not one this PyTorch export implements (sgd, adam, adamw)")


def learning_rate_at(base_lr, schedule, warmup, epoch, batch, batches_per_epoch, epochs):
    """The rate of one batch, as dlc's schedule.ts computes it: base · schedule(epoch) · warmup(k),
    k = (epoch − 1)·batches_per_epoch + batch (epoch 1-based, batch 0-based).
    `step E G`: G^⌊(epoch − 1)/E⌋ (StepLR); `cosine`: (1 + cos(π·(epoch − 1)/epochs))/2
    (CosineAnnealingLR, T_max = epochs); `warmup N`: min(1, (k + 1)/N)."""
    factor = 1.0
    if schedule is not None:
        if schedule["kind"] == "step":
            factor = schedule["gamma"] ** math.floor((epoch - 1) / schedule["every"])
        elif schedule["kind"] == "cosine":
            factor = (1 + math.cos((math.pi * (epoch - 1)) / max(1, epochs))) / 2
        else:
            raise DlcError(f"the schedule {schedule['kind']} is not one this PyTorch export implements (step, cosine)")
    ramp = 1.0
    if warmup is not None and warmup > 1:
        ramp = min(1.0, ((epoch - 1) * batches_per_epoch + batch + 1) / warmup)
    # Multiplied in schedule.ts's order, so that the rate is the same double.
    return base_lr * factor * ramp


# ---- dlc's seeded generator ----------------------------------------------------------------

class SeededRandom:
    """dlc's generator (mulberry32, src/interp/random.ts), bit for bit: the same seed gives the
    same numbers as dlc, so the samples are shuffled into the same order."""

    def __init__(self, seed):
        self.s = int(seed) & 0xFFFFFFFF

    def __call__(self):
        self.s = (self.s + 0x6D2B79F5) & 0xFFFFFFFF
        t = self.s
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296


def _imul(a, b):
    return (a * b) & 0xFFFFFFFF


def shuffle_random(seed):
    """The generator dlc shuffles with: seeded with seed ^ 0x9e3779b9."""
    return SeededRandom((int(seed) & 0xFFFFFFFF) ^ 0x9E3779B9)


def shuffle(order, random):
    """Fisher–Yates as dlc does it, in place."""
    for i in range(len(order) - 1, 0, -1):
        j = math.floor(random() * (i + 1))
        order[i], order[j] = order[j], order[i]
