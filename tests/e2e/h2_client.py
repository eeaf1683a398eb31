"""A small HTTP/2 client over a raw socket for the end-to-end tests: frames are built and parsed
here (RFC 9113), so a test controls exactly what is sent — many streams at once, RST_STREAM in
the middle of a body, a rapid-reset flood, flow-control windows — and sees every frame that comes
back. Request headers are HPACK literals without indexing (no Huffman); response header blocks are
decoded by libnghttp2's HPACK inflater through ctypes (the library the proxy itself links)."""

from __future__ import annotations

import ctypes
import ctypes.util
import select
import socket
import struct
import time
from dataclasses import dataclass, field

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM = \
    0x0, 0x1, 0x2, 0x7, 0x8, 0xb

MAX_WINDOW = 2 ** 31 - 1


# --- HPACK ------------------------------------------------------------------------------------


def _hpack_int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_encode(fields: list[tuple[str, str]]) -> bytes:
    """Literal header fields without indexing, new names, no Huffman (RFC 7541 6.2.2)."""
    out = bytearray()
    for name, value in fields:
        n, v = name.encode("latin-1"), value.encode("latin-1")
        out += b"\x00" + _hpack_int(len(n), 7) + n + _hpack_int(len(v), 7) + v
    return bytes(out)


class _NV(ctypes.Structure):
    _fields_ = [("name", ctypes.POINTER(ctypes.c_uint8)), ("value", ctypes.POINTER(ctypes.c_uint8)),
                ("namelen", ctypes.c_size_t), ("valuelen", ctypes.c_size_t),
                ("flags", ctypes.c_uint8)]


def _load_nghttp2():
    for name in ("libnghttp2.so.14", ctypes.util.find_library("nghttp2")):
        if name:
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
    else:
        raise RuntimeError("libnghttp2 not found (package libnghttp2-14)")
    lib.nghttp2_hd_inflate_new.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    lib.nghttp2_hd_inflate_del.argtypes = [ctypes.c_void_p]
    lib.nghttp2_hd_inflate_hd2.restype = ctypes.c_ssize_t
    lib.nghttp2_hd_inflate_hd2.argtypes = [ctypes.c_void_p, ctypes.POINTER(_NV),
                                           ctypes.POINTER(ctypes.c_int), ctypes.c_char_p,
                                           ctypes.c_size_t, ctypes.c_int]
    lib.nghttp2_hd_inflate_end_headers.argtypes = [ctypes.c_void_p]
    return lib


_LIB = None


class HpackDecoder:
    def __init__(self):
        global _LIB
        if _LIB is None:
            _LIB = _load_nghttp2()
        self._inflater = ctypes.c_void_p()
        if _LIB.nghttp2_hd_inflate_new(ctypes.byref(self._inflater)) != 0:
            raise RuntimeError("nghttp2_hd_inflate_new failed")

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        out = []
        off = 0
        nv = _NV()
        flags = ctypes.c_int(0)
        while True:
            chunk = block[off:]
            rv = _LIB.nghttp2_hd_inflate_hd2(self._inflater, ctypes.byref(nv), ctypes.byref(flags),
                                             chunk, len(chunk), 1)
            if rv < 0:
                raise AssertionError(f"HPACK decoding failed ({rv})")
            off += rv
            if flags.value & 0x02:  # NGHTTP2_HD_INFLATE_EMIT
                name = ctypes.string_at(nv.name, nv.namelen).decode("latin-1")
                value = ctypes.string_at(nv.value, nv.valuelen).decode("latin-1")
                out.append((name, value))
            if flags.value & 0x01:  # NGHTTP2_HD_INFLATE_FINAL
                _LIB.nghttp2_hd_inflate_end_headers(self._inflater)
                return out
            if rv == 0 and not flags.value & 0x02:
                raise AssertionError("HPACK block ended early")

    def __del__(self):
        if _LIB is not None and self._inflater:
            _LIB.nghttp2_hd_inflate_del(self._inflater)


# --- frames and streams -------------------------------------------------------------------


def frame(ftype: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream_id & 0x7FFFFFFF) + payload


def settings_frame(settings: dict[int, int]) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in settings.items()))


@dataclass
class Stream:
    id: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    ended: bool = False  # END_STREAM received
    reset: int | None = None  # RST_STREAM code received
    data_frames: int = 0
    max_frame: int = 0

    @property
    def status(self) -> int | None:
        for k, v in self.headers:
            if k == ":status":
                return int(v)
        return None

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None

    @property
    def done(self) -> bool:
        return self.ended or self.reset is not None


class H2Client:
    """One HTTP/2 connection (prior knowledge). By default the client opens its windows wide
    (stream and connection) so the server is never held back; with `window` the stream window is
    that size and the test returns credit itself (window_update)."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 30.0,
                 window: int | None = None, auto_window: bool = True,
                 settings: dict[int, int] | None = None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.streams: dict[int, Stream] = {}
        self.next_id = 1
        self.decoder = HpackDecoder()
        self.server_settings: dict[int, int] = {}
        self.goaway: tuple[int, int, bytes] | None = None  # (last stream, code, debug data)
        self.closed = False
        self.auto_window = auto_window and window is None
        self._header_block: tuple[int, int, bytearray] | None = None
        s = {SETTINGS_INITIAL_WINDOW_SIZE: window if window is not None else MAX_WINDOW}
        s.update(settings or {})
        # The connection window is always opened wide; `window` limits each stream.
        out = PREFACE + settings_frame(s) + \
            frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", MAX_WINDOW - 65535))
        self.send(out)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "H2Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def headers_frame(self, method: str, path: str, headers: dict | list | None = None,
                      stream_id: int | None = None, end_stream: bool = True) -> tuple[int, bytes]:
        if stream_id is None:
            stream_id = self.next_id
            self.next_id += 2
        fields = [(":method", method), (":scheme", "http"), (":authority", "localhost"),
                  (":path", path)]
        items = headers.items() if isinstance(headers, dict) else (headers or [])
        fields += [(k.lower(), v) for k, v in items]
        self.streams[stream_id] = Stream(stream_id)
        flags = END_HEADERS | (END_STREAM if end_stream else 0)
        return stream_id, frame(HEADERS, flags, stream_id, hpack_encode(fields))

    def request(self, method: str, path: str, headers: dict | list | None = None) -> int:
        sid, f = self.headers_frame(method, path, headers)
        self.send(f)
        return sid

    def rst(self, stream_id: int, code: int = CANCEL) -> None:
        self.send(frame(RST_STREAM, 0, stream_id, struct.pack(">I", code)))

    def window_update(self, stream_id: int, n: int) -> None:
        self.send(frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", n)))

    def ping(self, data: bytes = b"12345678") -> None:
        self.send(frame(PING, 0, 0, data))

    # --- receiving ---

    def _recv(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        try:
            chunk = self.sock.recv(1 << 20)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.buf += chunk
        return True

    def _next_frame(self, deadline: float):
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[0:3], "big")
                if len(self.buf) >= 9 + length:
                    ftype, flags = self.buf[3], self.buf[4]
                    sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
                    payload = bytes(self.buf[9:9 + length])
                    del self.buf[:9 + length]
                    return ftype, flags, sid, payload
            if self.closed or not self._recv(deadline):
                return None

    def _handle(self, ftype: int, flags: int, sid: int, payload: bytes) -> None:
        if ftype == SETTINGS:
            if not flags & ACK:
                for i in range(0, len(payload), 6):
                    k, v = struct.unpack(">HI", payload[i:i + 6])
                    self.server_settings[k] = v
                self.send(frame(SETTINGS, ACK, 0))
        elif ftype == PING:
            if not flags & ACK:
                self.send(frame(PING, ACK, 0, payload))
        elif ftype == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = (last & 0x7FFFFFFF, code, payload[8:])
        elif ftype in (HEADERS, CONTINUATION):
            if ftype == HEADERS:
                pad = 0
                if flags & PADDED:
                    pad = payload[0]
                    payload = payload[1:len(payload) - pad]
                if flags & PRIORITY_FLAG:
                    payload = payload[5:]
                self._header_block = (sid, flags, bytearray(payload))
            else:
                assert self._header_block and self._header_block[0] == sid, "stray CONTINUATION"
                self._header_block[2].extend(payload)
                flags = flags | (self._header_block[1] & END_STREAM)
            if flags & END_HEADERS:
                bsid, bflags, block = self._header_block
                self._header_block = None
                fields = self.decoder.decode(bytes(block))
                st = self.streams.setdefault(bsid, Stream(bsid))
                st.headers.extend(fields)
                if bflags & END_STREAM:
                    st.ended = True
        elif ftype == DATA:
            st = self.streams.setdefault(sid, Stream(sid))
            data = payload
            if flags & PADDED:
                data = payload[1:len(payload) - payload[0]]
            st.body += data
            st.data_frames += 1
            st.max_frame = max(st.max_frame, len(payload))
            if flags & END_STREAM:
                st.ended = True
            if payload:
                # Give the connection credit back at once (and the stream's, unless the test
                # controls stream windows itself).
                out = frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", len(payload)))
                if self.auto_window and not st.ended:
                    out += frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", len(payload)))
                self.send(out)
        elif ftype == RST_STREAM:
            st = self.streams.setdefault(sid, Stream(sid))
            st.reset = struct.unpack(">I", payload[:4])[0]

    def pump(self, until, timeout: float | None = None) -> bool:
        """Reads and handles frames until until() is true, the connection closes or the time
        is up; returns until()'s last value."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while not until():
            f = self._next_frame(deadline)
            if f is None:
                break
            self._handle(*f)
        return bool(until())

    def wait_streams(self, ids, timeout: float | None = None) -> list[Stream]:
        ids = list(ids)
        ok = self.pump(lambda: all(self.streams[i].done for i in ids), timeout)
        assert ok, (f"streams not finished: "
                    f"{[(i, len(self.streams[i].body)) for i in ids if not self.streams[i].done]}"
                    f" (closed={self.closed}, goaway={self.goaway})")
        return [self.streams[i] for i in ids]

    def get(self, path: str, headers: dict | None = None, method: str = "GET") -> Stream:
        sid = self.request(method, path, headers)
        return self.wait_streams([sid])[0]

    def wait_closed(self, timeout: float = 10.0) -> bool:
        return self.pump(lambda: self.closed, timeout)
