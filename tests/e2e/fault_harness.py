"""Readers, outcome counting and byte checks shared by the fault matrix and the kill -9 soak.

A body is judged by what a client could see: the status, the Content-Length, the ETag (which
says which generation of the object the bytes must be) and the bytes. Complete bodies are
grouped by (ETag, first byte, SHA-256); one body of each group is checked byte by byte against
the emulator's pattern with s3emu-verify, so a thousand identical bodies cost one check. A cut
body (closed short of its Content-Length) is acceptable, but its prefix is checked too: wrong
bytes are wrong whether or not the rest arrives."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from e2e_util import build_request, s3emu_verify_binary


@dataclass
class Body:
    status: int
    headers: dict[str, str]
    start: int  # object offset of the first body byte
    length: int  # bytes received
    want: int  # Content-Length
    digest: str
    data: bytes | None  # kept until judged
    error: str = ""  # no response head: why
    closed: bool = False  # ... because the proxy closed the connection (a cut before the head)

    @property
    def complete(self) -> bool:
        return self.length == self.want


def read_body(port: int, path: str, headers: dict | None = None, timeout: float = 60.0,
              on_head=None) -> Body:
    """One GET on its own connection; the body is read to its Content-Length or until the proxy
    closes. Never raises for what the proxy does: a failure before the head is Body.error."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(build_request("GET", path, headers))
            buf = b""
            while b"\r\n\r\n" not in buf:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    return Body(0, {}, 0, 0, 0, "", None, f"closed before a head: {buf[:120]!r}",
                                closed=True)
                buf += chunk
            head, rest = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            hdrs = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            if on_head:
                on_head()
            want = int(hdrs.get("content-length", "0"))
            start = 0
            cr = hdrs.get("content-range", "")
            if status == 206 and cr.startswith("bytes "):
                start = int(cr[6:].split("-", 1)[0])
            data = bytearray(rest[:want])
            while len(data) < want:
                try:
                    chunk = s.recv(min(1 << 20, want - len(data)))
                except (ConnectionResetError, socket.timeout, OSError):
                    break
                if not chunk:
                    break
                data += chunk
            blob = bytes(data)
            return Body(status, hdrs, start, len(blob), want, hashlib.sha256(blob).hexdigest(),
                        blob)
    except (OSError, ValueError, IndexError) as e:
        return Body(0, {}, 0, 0, 0, "", None, f"{type(e).__name__}: {e}")


def verify_bytes(name: str, seed: int, generation: int, data: bytes, offset: int,
                 size: int | None) -> str | None:
    """None when `data` is the object's bytes from `offset` (all of them when size is given),
    else s3emu-verify's complaint."""
    cmd = [str(s3emu_verify_binary()), "--name", name, "--seed", str(seed), "--offset",
           str(offset), "--generation", str(generation)]
    if size is not None and offset == 0:
        cmd += ["--size", str(size)]
    r = subprocess.run(cmd + ["-"], input=data, capture_output=True, timeout=120)
    return None if r.returncode == 0 else (r.stdout.decode() + r.stderr.decode()).strip()


@dataclass
class Tally:
    """What every client saw, over a whole run."""
    verified: int = 0  # complete and byte-exact
    cut: int = 0  # closed short of Content-Length; the prefix byte-exact
    cut_before_head: int = 0  # closed before a response head (nothing promised, nothing wrong)
    wrong: int = 0  # a complete body with a wrong byte, or a prefix with one
    refused: int = 0  # answered with an error status (counted by status in `statuses`)
    retry_later: int = 0  # of those, the ones the caller judged a fair answer (its test says)
    failed: int = 0  # no response head at all
    crashes: int = 0
    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # (name, etag, start, digest) -> None (verified) or the complaint
    _judged: dict = field(default_factory=dict)

    def note(self, what: str) -> None:
        with self.lock:
            if len(self.problems) < 40:
                self.problems.append(what)

    def judge(self, name: str, seed: int, size: int, gens: dict[str, int], b: Body,
              learn=None) -> str:
        """Counts one body; returns its outcome: verified, cut, cut_before_head, wrong, refused
        or failed.
        `gens` maps the object's ETags to generations; `learn()` refreshes it (from the
        emulator) when the body names an ETag not in it yet."""
        if b.error and b.closed:
            outcome = "cut_before_head"
        elif b.error:
            outcome = "failed"
            self.note(f"{name}: {b.error}")
        elif b.status not in (200, 206):
            outcome = "refused"
        else:
            gen = gens.get(b.headers.get("etag", ""))
            if gen is None and learn is not None:
                learn()
                gen = gens.get(b.headers.get("etag", ""))
            if gen is None:
                complaint = f"ETag {b.headers.get('etag')!r} is no generation of {name}"
            else:
                key = (name, gen, b.start, b.length, b.digest, b.complete)
                with self.lock:
                    known = key in self._judged
                    complaint = self._judged.get(key)
                if not known:
                    full = b.complete and b.start == 0 and b.status == 200
                    complaint = verify_bytes(name, seed, gen, b.data or b"", b.start,
                                             size if full else None)
                    if complaint is None and b.complete and b.status == 200 and b.want != size:
                        complaint = f"Content-Length {b.want}, the object has {size}"
                    with self.lock:
                        self._judged[key] = complaint
            if complaint is not None:
                outcome = "wrong"
                self.note(f"{name}: {'complete' if b.complete else 'cut'} body "
                          f"({b.status}, {b.length}/{b.want} from {b.start}): {complaint}")
            else:
                outcome = "verified" if b.complete else "cut"
        b.data = None
        with self.lock:
            self.statuses[b.status] += 1
            setattr(self, outcome, getattr(self, outcome) + 1)
        return outcome

    def summary(self) -> str:
        return (f"verified={self.verified} cut={self.cut} "
                f"cut_before_head={self.cut_before_head} wrong={self.wrong} "
                f"refused={self.refused} (retry later: {self.retry_later}) "
                f"failed={self.failed} crashes={self.crashes} "
                f"statuses={dict(sorted(self.statuses.items()))}")


def wait_for(predicate, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
