#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/ (committed; run
again after changing an input format). Small, valid-looking inputs of each kind, so libFuzzer
starts from the interesting parts of each parser; the HTTP/2 seeds are real client frames made
with the h2 library (python3-h2) and the cache headers follow cache/header.hpp's layout."""
import hashlib
import os
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8",
                                                                           "surrogateescape"))


# --- HTTP/1.1 requests: first byte = bytes per feed - 1 -------------------------------------
h1 = {
    "get": b"GET /bucket/key.bin HTTP/1.1\r\nHost: proxy:8080\r\nRange: bytes=0-99\r\n\r\n",
    "pipelined": b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b?versionId=1 HTTP/1.1\r\nHost: h\r\n"
                 b"Connection: close\r\n\r\n",
    "chunked": b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n0\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n",
    "upgrade": b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    "absolute": b"GET http://h:1/k%20x HTTP/1.0\r\nX-Amz-Date: 20130524T000000Z\r\n"
                b"Authorization: AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/"
                b"aws4_request, SignedHeaders=host, Signature=00\r\n\r\n",
    "obsfold": b"GET /k HTTP/1.1\r\nHost: h\r\nX-Long: a\r\n b\r\nContent-Length: 3\r\n\r\nabc",
}
for i, (name, req) in enumerate(h1.items()):
    write("fuzz_h1_request", name, bytes([(7 * i + 3) % 256]) + req)
    write("fuzz_h1_request", name + "-whole", b"\xff" + req)

# --- HTTP/2 client frames (after the preface the target adds) -------------------------------
try:
    import h2.config
    import h2.connection

    def h2_bytes(actions):
        c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
        c.initiate_connection()
        data = c.data_to_send()[len(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"):]
        for a in actions:
            a(c)
            data += c.data_to_send()
        return data

    hdrs = [(":method", "GET"), (":scheme", "http"), (":authority", "proxy:8080"),
            (":path", "/bucket/key?versionId=1"), ("range", "bytes=0-9"),
            ("x-amz-date", "20130524T000000Z")]
    write("fuzz_h2_input", "get", h2_bytes([lambda c: c.send_headers(1, hdrs, end_stream=True)]))
    write("fuzz_h2_input", "three-streams", h2_bytes([
        lambda c: c.send_headers(1, hdrs, end_stream=True),
        lambda c: c.send_headers(3, [(":method", "HEAD")] + hdrs[1:], end_stream=True),
        lambda c: c.send_headers(5, hdrs),
        lambda c: c.reset_stream(5),
        lambda c: c.send_headers(7, [(":method", "POST")] + hdrs[1:]),
        lambda c: c.send_data(7, b"x" * 100, end_stream=True),
        lambda c: c.ping(b"12345678"),
        lambda c: c.increment_flow_control_window(65535),
    ]))
    write("fuzz_h2_input", "settings-goaway", h2_bytes([
        lambda c: c.update_settings({h2.settings.SettingCodes.MAX_FRAME_SIZE: 32768}),
        lambda c: c.send_headers(1, hdrs, end_stream=True),
        lambda c: c.close_connection(),
    ]))
except ImportError:
    print("python3-h2 missing: HTTP/2 seeds not written", file=sys.stderr)

# --- Range / conditional fields / dates / ETags ----------------------------------------------
write("fuzz_http_fields", "all",
      "bytes=0-99\n\"abc\"\nW/\"x\", \"y\"\nSun, 06 Nov 1994 08:49:37 GMT\n"
      "Sunday, 06-Nov-94 08:49:37 GMT\n\"abc\"\n\"abc\"\nSun Nov  6 08:49:37 1994")
write("fuzz_http_fields", "suffix", "bytes=-500, 10-\n*\n\"d41d8cd98f00b204e9800998ecf8427e\"\n\n\n"
      "Sun, 06 Nov 1994 08:49:37 GMT\n\"d41d8cd98f00b204e9800998ecf8427e\"\n"
      "Sun, 06 Nov 1994 08:49:37 GMT")
write("fuzz_http_fields", "huge", "bytes=18446744073709551615-\n\n\nFri, 31 Dec 9999 23:59:59 GMT")

# --- Content-Range / object extents: status selector byte ------------------------------------
write("fuzz_object_extent", "206", b"\x01bytes 0-9/100\n10\n")
write("fuzz_object_extent", "416", b"\x02bytes */100\n\n<?xml version=\"1.0\"?><Error><Code>"
      b"InvalidRange</Code><ActualObjectSize>100</ActualObjectSize></Error>")
write("fuzz_object_extent", "200", b"\x00\n18446744073709551615\n")

# --- S3 XML errors ----------------------------------------------------------------------------
write("fuzz_s3_error_xml", "nosuchkey",
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
      "specified key does not exist.</Message><Key>a &amp; b</Key><RequestId>4442587FB7D0A2F9"
      "</RequestId><HostId>abc=</HostId></Error>")
write("fuzz_s3_error_xml", "ns-cdata",
      "<Error xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Code><![CDATA[SlowDown]]></Code>"
      "<Message>Please &#x72;educe &#114;ate</Message><Resource/></Error>")
write("fuzz_s3_error_xml", "writer", "AccessDenied\nAccess <Denied> & \"quoted\"\n/key'with\x01ctl")

# --- credential documents: first byte picks the parser ----------------------------------------
write("fuzz_credentials", "container",
      b"\x00{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"s/e+c\",\"Token\":\"tok\","
      b"\"Expiration\":\"2030-05-01T12:00:00Z\",\"RoleArn\":\"arn:aws:iam::1:role/r\"}")
write("fuzz_credentials", "imds",
      b"\x0c{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2024-04-30T12:00:00Z\",\n  \"Type\" :"
      b" \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIA\\u0041\",\n  \"SecretAccessKey\" : \"x\",\n  "
      b"\"Token\" : \"t\",\n  \"Expiration\" : \"2030-05-01T12:00:00.123+02:00\"\n}")
write("fuzz_credentials", "error", b"\x00{\"code\":\"AccessDenied\",\"message\":\"no role\"}")
write("fuzz_credentials", "sts",
      b"\x01<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
      b"<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA1</AccessKeyId>"
      b"<SecretAccessKey>sec</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>"
      b"2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
      b"</AssumeRoleWithWebIdentityResponse>")
write("fuzz_credentials", "sts-error",
      b"\x05<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>"
      b"bad</Message></Error></ErrorResponse>")
write("fuzz_credentials", "iso8601", b"\x022015-08-30T12:36:00.5-07:30")
# A UBSan finding of the fuzzers: an expiry in year 4198 overflowed std::chrono.
write("fuzz_credentials", "far-future",
      b"\x00{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"4198-01-01T00:00:00Z\"}")
write("fuzz_credentials", "json", b"\x03{\"a\":[1,2.5e3,true,null,\"\\ud83d\\ude00\"],\"b\":{}}")

# --- AWS profile files: first byte 0 = config, 1 = credentials --------------------------------
write("fuzz_profile_file", "config",
      b"\x00[default]\nregion = eu-west-1 # comment\n[profile dev]\nrole_arn = arn:aws:iam::1:role/x\n"
      b"web_identity_token_file=/var/run/token\ns3 =\n  addressing_style = path\n  max = 10\n"
      b"; comment\n[profile a b]\nx=y\n")
write("fuzz_profile_file", "credentials",
      b"\x01[default]\naws_access_key_id=AKIDEXAMPLE\naws_secret_access_key = wJalr/K7+EXAMPLE\n"
      b"aws_session_token=tok\n  continued\n[other]\nAWS_ACCESS_KEY_ID = B\n")

# --- the TOML configuration -------------------------------------------------------------------
write("fuzz_toml_config", "full",
      "cache_dir = \"/c\"\nmax_cache_size = \"10GiB\"\nbucket = \"alpha\"\nport = 8080\n"
      "chunk_size = \"16MiB\"\nidle_timeout = 30\nmetadata_ttl = \"5m\"\nlog_level = \"debug\"\n"
      "allow_clients = [\"10.0.0.0/8\", \"::1\"]\nadmin_token = \"0123456789abcdef0\"\n"
      "min_free_space = \"5%\"\ns3_endpoint_url = \"http://127.0.0.1:9000\"\n"
      "[[buckets]]\nname = \"beta\"\nregion = \"eu-west-1\"\nendpoint = \"https://s3.example:443/\"\n"
      "path_style = true\naccess_key_id = \"AK\"\nsecret_access_key = \"SK\"\n"
      "[[clients]]\naccess_key_id = \"CLIENT\"\nsecret_access_key = \"secret\"\n"
      "buckets = [\"beta\"]\n")
write("fuzz_toml_config", "minimal", "cache_dir = '/c'\nmax_cache_size = 1073741824\n"
      "bucket = 'b'\ndirect_io = true\nworkers = 2\n")

# --- cache file headers (cache/header.hpp layout) ---------------------------------------------
def cache_header(records):
    meta = b"".join(name + b" " + str(len(v)).encode() + b" " + v + b"\n" for name, v in records)
    total = 32 + len(meta)
    length = (total + 4095) // 4096 * 4096
    fixed = b"XS3CACHE" + struct.pack("<III", 1, length, len(meta))
    check = hashlib.sha224(fixed + meta).digest()[:8]
    return (fixed + check + b"\0" * 4 + meta).ljust(length, b"\0")


write("fuzz_cache_header", "object", cache_header([
    (b"size", b"5000"), (b"etag", b"\"abc\""), (b"last-modified", b"Sun, 06 Nov 1994 08:49:37 GMT"),
    (b"content-type", b"text/plain"), (b"bucket", b"b"), (b"key", b"dir/k\nx"),
    (b"stored-at", b"1700000000"), (b"meta", b"6:sha224 abc"), (b"version-id", b"v1"),
    (b"future-field", b"ignored")]))
write("fuzz_cache_header", "truncated", cache_header([(b"size", b"1")])[:100])

# --- query strings ----------------------------------------------------------------------------
write("fuzz_query", "sdk", "versionId=3%2FL4kq%2B&x-id=GetObject&response-content-type=text%2Fplain"
      "&partNumber=1&flag&=v&&a=%7E")
write("fuzz_query", "presign", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20130524"
      "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
      "&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bb")

# --- SigV4 canonicalisation: path, query name, query value / header name, header value --------
write("fuzz_sigv4", "plain", "dir/a b+c~d\nversionId\nv/1+2\nrange\n  bytes=0-9  ")
write("fuzz_sigv4", "unicode", "caf\u00e9/\u65e5\u672c/%2F/..//\nresponse-content-disposition\n"
      "attachment; filename=\"a b.txt\"\ncontent-type\ntext/plain;  charset=utf-8")

# --- SigV4 verification: method, path, query, then "name:value" header lines ------------------
DOC_AUTH = ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e85"
            "7bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
write("fuzz_sigv4_verify", "header",
      "GET\n/test.txt\n\nHost:examplebucket.s3.amazonaws.com\nRange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\nAuthorization:" + DOC_AUTH)
write("fuzz_sigv4_verify", "presigned",
      "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
      "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
      "X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c26595"
      "7d157751f604d404\nHost:examplebucket.s3.amazonaws.com")
write("fuzz_sigv4_verify", "v2", "GET\n/k\n\nAuthorization:AWS AKID:sig\nx-amz-meta-a:b")
# A finding: a header named again and again in SignedHeaders went into the canonical request once
# per repetition (now refused as malformed).
write("fuzz_sigv4_verify", "signed-headers-repeated",
      "GET\n/test.txt\n\nHost:examplebucket.s3.amazonaws.com\na:" + "v" * 200 +
      "\nx-amz-date:20130524T000000Z\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "Authorization:AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
      "aws4_request,SignedHeaders=host" + ";a" * 100 + ",Signature=" + "0" * 64)

# --- --allow-clients lists --------------------------------------------------------------------
write("fuzz_cidr", "mixed", "10.0.0.0/8, 192.168.1.7,::1, 2001:db8::/32,::ffff:10.0.0.0/104")
write("fuzz_cidr", "edge", "0.0.0.0/0,::/0,255.255.255.255/32,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")

# --- the S3 request classifier: selector byte (bits 0-1 method GET/HEAD/PUT/DELETE, bit 2 the
# method from the fifth field, bit 3 single-bucket mode), then path, query, Host, suffixes ------
write("fuzz_s3_request", "path-get", b"\x00/bucket/dir/key%20x.bin\nversionId=3&x-id=GetObject"
      b"&response-content-type=text%2Fplain\nproxy:8080\nproxy.test")
write("fuzz_s3_request", "virtual-list", b"\x00/\nlist-type=2&prefix=a%2F&delimiter=%2F"
      b"&max-keys=10\nbucket.proxy.test:8080\nproxy.test, s3.proxy.test.")
write("fuzz_s3_request", "single-head", b"\x09/bench/bench/../k\npartNumber=2\nh\n")
write("fuzz_s3_request", "presigned", b"\x00/b/k\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential"
      b"=A%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires="
      b"60&X-Amz-SignedHeaders=host&X-Amz-Signature=00&tagging\nh\n")
write("fuzz_s3_request", "write", b"\x04/b/k?uploads\nuploads\nh\n\nPOST")
