"""What the botocore differential tests (botocore_diff.py, botocore_verify.py) share: the tools'
field encoding, capturing a prepared request instead of sending it, and X-Amz-Date as epoch."""
import datetime


def enc(s):
    """One tool field: "x" + the hex of its raw bytes (str as UTF-8, lone surrogates kept)."""
    return "x" + (s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s).hex()


class Captured(Exception):
    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def capture(request, **kwargs):
    """A before-send hook: stops botocore with the prepared request (no network)."""
    raise Captured(request)


def amz_epoch(amz_date):
    dt = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    return int(dt.replace(tzinfo=datetime.timezone.utc).timestamp())
