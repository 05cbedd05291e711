#!/usr/bin/env python3
"""`causalqwen serve` driven by well-behaved, concurrent and hostile clients.

    serve_test.py <causalqwen> [--model DIR]

Starts the server on a free port, checks /health, completions (plain, streamed, sampled),
/v1/causal, eight concurrent clients, a series of hostile requests (each must get its 4xx
status, or at worst a closed connection, never a crash), then SIGTERM (exit code 0).
One line per check; exit code 1 at the first failure. Python standard library only.
"""

import argparse
import http.client
import json
import math
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

REQUEST_TIMEOUT = 60  # seconds for any one request
TOTAL_TIMEOUT = 480  # seconds for the whole test (CTest allows 600)
MAX_REQUEST_BYTES = 1 << 20  # the server's default --max-request-bytes
MAX_TOKENS = 256  # the server's default --max-tokens
PROMPT = "One foot is"  # the embedded model continues it with numbers

checks = 0


class Failure(Exception):
    pass


def check(condition, what, detail=""):
    """Counts and prints a passed check; a failed one ends the test with `what` and `detail`."""
    global checks
    if not condition:
        raise Failure(f"{what}{': ' if detail else ''}{detail}")
    checks += 1
    print(f"ok {checks:3d}  {what}", flush=True)


class Server:
    def __init__(self, command, model):
        argv = [command, "serve", "--port", "0"] + (["--model", model] if model else [])
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.process.stdout], [], [], REQUEST_TIMEOUT)
        line = self.process.stdout.readline().decode(errors="replace").rstrip("\n") if ready else ""
        prefix = "listening on 127.0.0.1:"
        if not line.startswith(prefix) or not line[len(prefix):].isdigit():
            self.kill()
            raise Failure(f"the first line of stdout is {line!r}, expected '{prefix}PORT' (exit code "
                          f"{self.process.poll()})")
        self.port = int(line[len(prefix):])
        print(f"server on port {self.port}", flush=True)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def request(port, method, path, body=None, headers=None):
    """(status, headers, body bytes) of one request on a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response, response.read()
    finally:
        connection.close()


def post(port, path, body, content_type="application/json"):
    """POSTs `body` (a dict is sent as JSON, bytes or str as they are)."""
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return request(port, "POST", path, body, headers)


def json_of(data, what):
    try:
        return json.loads(data)
    except ValueError as e:
        raise Failure(f"{what}: the body is not JSON ({e}): {data[:200]!r}")


def completion(port, prompt, **fields):
    status, _, data = post(port, "/v1/completions", {"prompt": prompt, **fields})
    check(status == 200, f"completion of {prompt!r} {fields}: status 200", f"got {status} {data[:200]!r}")
    return json_of(data, "completion")


def raw_exchange(port, data, half_close=False):
    """Sends raw bytes on a socket (then closes its sending side if `half_close`) and returns
    (status, body) of the first response, or (None, None) when the server closes without one.
    httplib answers nothing to a half-closed connection: it takes it for one the client left."""
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = b""
        try:
            while not first_response(received):
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            raise Failure(f"no answer within {REQUEST_TIMEOUT} s to raw bytes {data[:60]!r}")
    if not received:
        return None, None
    response = first_response(received)
    if not response:
        raise Failure(f"an incomplete HTTP response to raw bytes {data[:60]!r}: {received[:200]!r}")
    return response


def first_response(received):
    """(status, body) of the first complete response (framed by Content-Length) in `received`."""
    head, separator, rest = received.partition(b"\r\n\r\n")
    if not separator:
        return None
    lines = head.split(b"\r\n")
    status_line = lines[0].split(b" ")
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1.") or not status_line[1].isdigit():
        raise Failure(f"not an HTTP response: {received[:100]!r}")
    length = next((int(line.split(b":", 1)[1]) for line in lines[1:]
                   if line.lower().startswith(b"content-length:")), 0)
    return (int(status_line[1]), rest[:length]) if len(rest) >= length else None


def check_error_body(data, status, what):
    body = json_of(data, what)
    error = body.get("error") if isinstance(body, dict) else None
    expected_type = "invalid_request_error" if status < 500 else "server_error"
    check(isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]
          and error.get("type") == expected_type,
          f"{what}: JSON error body with a message and type {expected_type}")


def check_health(port, what="the server is healthy"):
    status, _, data = request(port, "GET", "/health")
    body = json_of(data, "/health")
    check(status == 200 and body.get("status") == "ok" and isinstance(body.get("model"), str), what)
    return body


def test_completions(port):
    check_health(port, "GET /health answers 200 {status: ok, model}")

    greedy = completion(port, PROMPT, max_tokens=24)
    choice = greedy["choices"][0]
    usage = greedy["usage"]
    check(greedy["object"] == "text_completion" and isinstance(greedy["id"], str)
          and isinstance(greedy["model"], str) and choice["index"] == 0 and isinstance(choice["text"], str)
          and choice["text"], "a completion has OpenAI's fields and a non-empty text")
    check(choice["finish_reason"] in ("stop", "length"), f"finish_reason is {choice['finish_reason']!r}")
    check(1 <= usage["completion_tokens"] <= 24 and usage["prompt_tokens"] > 0
          and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"],
          f"usage is consistent: {usage}")
    again = completion(port, PROMPT, max_tokens=24)
    check(again["choices"] == greedy["choices"] and again["usage"] == usage and again["id"] != greedy["id"],
          "greedy decoding repeats itself (under a new id)")
    short = completion(port, PROMPT, max_tokens=1)
    check(short["usage"]["completion_tokens"] == 1, "max_tokens 1 generates one token")
    check(completion(port, PROMPT, max_tokens=24, temperature=0)["choices"][0]["text"] == choice["text"],
          "temperature 0 is the greedy answer")

    sampled = [completion(port, PROMPT, max_tokens=24, sample=True, seed=7)["choices"][0]["text"] for _ in range(2)]
    check(sampled[0] == sampled[1], "sampling with the same seed draws the same text")

    status, response, data = post(port, "/v1/completions", {"prompt": PROMPT, "max_tokens": 24, "stream": True})
    check(status == 200 and response.getheader("Content-Type", "").startswith("text/event-stream"),
          "a streamed completion answers 200 text/event-stream", f"got {status} {data[:200]!r}")
    events = data.decode().split("\n\n")
    check(events[-1] == "" and all(e.startswith("data: ") for e in events[:-1]),
          "the stream is server-sent events 'data: ...\\n\\n'")
    payloads = [e[len("data: "):] for e in events[:-1]]
    check(payloads[-1] == "[DONE]", "the stream ends with data: [DONE]")
    chunks = [json_of(p, "stream chunk") for p in payloads[:-1]]
    check(len(chunks) == usage["completion_tokens"],
          f"one chunk per generated token ({len(chunks)} chunks, {usage['completion_tokens']} tokens)")
    check(all(c["object"] == "text_completion" and c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
          and chunks[-1]["choices"][0]["finish_reason"] == choice["finish_reason"],
          "only the last chunk has a finish_reason, the non-streamed one")
    streamed = "".join(c["choices"][0]["text"] for c in chunks)
    check(streamed == choice["text"], f"the streamed pieces add up to the greedy text {choice['text']!r}",
          repr(streamed))
    return choice["text"]


def test_causal(port, greedy_text):
    status, _, data = post(port, "/v1/causal", {"prompt": PROMPT, "max_tokens": 24})
    check(status == 200, "POST /v1/causal answers 200", f"got {status} {data[:200]!r}")
    body = json_of(data, "/v1/causal")
    check(body["text"] == greedy_text, "/v1/causal's text is the greedy completion", repr(body["text"]))
    decisions = body["decisions"]
    check(len(decisions) >= 1 and body["finish_reason"] in ("stop", "length"), "decisions and a finish_reason")
    check(all(d["kind"] in ("token", "number") and isinstance(d["token"], int) and isinstance(d["piece"], str)
              for d in decisions), "every decision has a kind, token id and piece")
    check(all(0 < d["probability"] <= 1 for d in decisions), "every probability P_k lies in (0, 1]")
    numbers = [d for d in decisions if d["kind"] == "number"]
    check(len(numbers) >= 1, f"the continuation of {PROMPT!r} holds a number")
    check(all(math.isfinite(d["loc"]) and d["scale"] > 0 and d["level"] == 0.9
              and d["interval"][0] < d["loc"] < d["interval"][1] for d in numbers),
          "every number has a finite median, scale > 0 and low < median < high at level 0.9", numbers)
    check(all(float(d["piece"]) == d["loc"] for d in numbers), "a number's piece is its median written out")

    status, _, data = post(port, "/v1/causal", {"prompt": PROMPT, "max_tokens": 24, "level": 0.5})
    narrow = [d for d in json_of(data, "/v1/causal")["decisions"] if d["kind"] == "number"]
    check(status == 200 and len(narrow) == len(numbers) and all(
        n["level"] == 0.5 and n["interval"][1] - n["interval"][0] < d["interval"][1] - d["interval"][0]
        for n, d in zip(narrow, numbers)), "level 0.5 gives narrower intervals than 0.9")


def test_concurrency(port, greedy_text, clients=8):
    barrier = threading.Barrier(clients, timeout=REQUEST_TIMEOUT)
    results = [None] * clients

    def client(i):
        try:
            barrier.wait()
            status, _, data = post(port, "/v1/completions", {"prompt": PROMPT, "max_tokens": 24})
            results[i] = (status, json.loads(data)["choices"][0]["text"] if status == 200 else data)
        except Exception as e:  # reported below as this client's result
            results[i] = (None, repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(REQUEST_TIMEOUT * 2)
    check(all(r is not None and r[0] == 200 for r in results), f"{clients} concurrent clients get 200", results)
    check(all(r[1] == greedy_text for r in results), f"{clients} concurrent clients get the same greedy text", results)


def hostile_requests(port):
    """(what, expected status, function returning (status, body or None)); None as the expected
    status accepts a 400 or a connection closed without an answer."""
    completions, causal = "/v1/completions", "/v1/causal"

    def body(data, path=completions, content_type="application/json"):
        return lambda: post(port, path, data, content_type)[::2]

    def fields(path=completions, **extra):
        return body({"prompt": PROMPT, "max_tokens": 4, **extra}, path)

    def method(name, path, data=None):
        return lambda: request(port, name, path, data, {"Content-Type": "application/json"})[::2]

    def raw(data, half_close=False):
        return lambda: raw_exchange(port, data, half_close)

    big = json.dumps({"prompt": "x" * MAX_REQUEST_BYTES}).encode()
    chunk = b"x" * 65536
    chunked_body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_REQUEST_BYTES // len(chunk) + 1))
    deep = "[" * 100000 + "]" * 100000
    multipart = b"--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nhello\r\n--b--\r\n"
    return [
        ("malformed JSON", 400, body('{"prompt": "x",')),
        ("truncated JSON", 400, body('{"prompt": "Hello')),
        ("not JSON at all", 400, body("prompt=hello")),
        ("an empty body", 400, body(b"")),
        ("a JSON array instead of an object", 400, body('["prompt"]')),
        ("a JSON number instead of an object", 400, body("42")),
        ("a JSON string instead of an object", 400, body('"prompt"')),
        ("JSON null instead of an object", 400, body("null")),
        ("a 100000-deep nested array", 400, body(deep)),
        ("a prompt that is a number", 400, body({"prompt": 5})),
        ("a prompt that is a list", 400, body({"prompt": ["a", "b"]})),
        ("no prompt", 400, body({"max_tokens": 4})),
        ("an empty prompt", 400, body({"prompt": ""})),
        ("max_tokens 0", 400, fields(max_tokens=0)),
        ("max_tokens -1", 400, fields(max_tokens=-1)),
        ("max_tokens above --max-tokens", 400, fields(max_tokens=MAX_TOKENS + 1)),
        ("max_tokens 10^30", 400, fields(max_tokens=10**30)),
        ("max_tokens 2.5", 400, fields(max_tokens=2.5)),
        ("max_tokens a string", 400, fields(max_tokens="16")),
        ("max_tokens true", 400, fields(max_tokens=True)),
        ("sample a string", 400, fields(sample="yes")),
        ("temperature -1", 400, fields(temperature=-1)),
        ("sample false with temperature 0.8", 400, fields(sample=False, temperature=0.8)),
        ("seed -1", 400, fields(seed=-1)),
        ("seed 1.5", 400, fields(seed=1.5)),
        ("stream a string", 400, fields(stream="true")),
        ("level 0", 400, fields(causal, level=0)),
        ("level 1", 400, fields(causal, level=1)),
        ("level 2", 400, fields(causal, level=2)),
        ("level -0.5", 400, fields(causal, level=-0.5)),
        ("level 'NaN' (a string)", 400, fields(causal, level="NaN")),
        ("level NaN (not JSON)", 400, body('{"prompt": "a", "level": NaN}', causal)),
        ("stream on /v1/causal", 400, fields(causal, stream=True)),
        ("a prompt longer than the model's context", 400, fields(prompt="word " * 400)),
        ("a prompt that fits, but not with max_tokens", 400, fields(prompt="word " * 200, max_tokens=100)),
        ("invalid UTF-8 bytes in the prompt", 400, body(b'{"prompt": "caf\xff\xfe"}')),
        ("an overlong UTF-8 encoding in the prompt", 400, body(b'{"prompt": "\xc0\xaf"}')),
        ("a UTF-8 sequence cut short in the prompt", 400, body(b'{"prompt": "\xe2\x82"}')),
        ("a lone surrogate escape in the prompt", 400, body('{"prompt": "\\ud800"}')),
        ("a body over --max-request-bytes", 413, body(big)),
        ("a chunked body over --max-request-bytes", 413, raw(
            b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked_body + b"0\r\n\r\n")),
        ("badly framed chunks", 400, raw(
            b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")),
        ("a gzip Content-Encoding that is not gzip", 400, raw(
            b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Encoding: gzip\r\nContent-Length: 7\r\n\r\ngarbage")),
        ("Content-Type text/plain", 415, body({"prompt": "a"}, content_type="text/plain")),
        ("no Content-Type", 415, body({"prompt": "a"}, content_type=None)),
        ("a multipart/form-data body", 415, body(multipart, content_type="multipart/form-data; boundary=b")),
        ("GET on an unknown path", 404, method("GET", "/v1/nothing")),
        ("POST on an unknown path", 404, body({"prompt": "a"}, "/v2/completions")),
        ("GET on /v1/completions", 405, method("GET", completions)),
        ("GET on /v1/causal", 405, method("GET", causal)),
        ("POST on /health", 405, body({"prompt": "a"}, "/health")),
        ("PUT on /v1/causal", 405, method("PUT", causal, b"{}")),
        ("DELETE on /v1/completions", 405, method("DELETE", completions)),
        ("an unknown HTTP method", 400, raw(b"BREW /health HTTP/1.1\r\nHost: x\r\n\r\n")),
        ("raw garbage", 400, raw(b"\x00\x01\x02 garbage \xff\xfe\r\n\r\n")),
        ("a request line without a version", 400, raw(b"GET /health\r\n\r\n")),
        ("a header line of 10000 bytes", 400, raw(b"GET /health HTTP/1.1\r\nX-Long: " + b"a" * 10000 + b"\r\n\r\n")),
        ("a Content-Length that is not a number", 400, raw(
            b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: many\r\n\r\n{}")),
        ("an unsatisfiable Range header", 416, lambda: request(port, "GET", "/health", None,
                                                               {"Range": "bytes=abc"})[::2]),
        ("a URL longer than 8192 bytes", 414, method("GET", "/" + "a" * 10000)),
        ("a long URL under the limit", 404, method("GET", "/" + "a" * 8000)),
        ("headers cut short, then closed", None, raw(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-", True)),
        ("a body cut short, then closed", None, raw(
            b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{\"prompt\": \"a", True)),
        ("a connection closed at once", None, raw(b"", True)),
    ]


def test_hostile(port):
    # A client that sends half a request line and then nothing holds one worker until the read
    # timeout; the other requests must still be served meanwhile.
    stalled = socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT)
    stalled.sendall(b"GET /hea")
    cases = hostile_requests(port)
    for what, expected, send in cases:
        status, data = send()
        if expected is None:
            check(status in (None, 400), f"{what}: answered 400 or closed", f"got {status}")
        else:
            check(status == expected, f"{what}: status {expected}", f"got {status}: {(data or b'')[:200]!r}")
            check_error_body(data, expected, what)
    check(len(cases) >= 20, f"{len(cases)} kinds of hostile requests")
    try:
        leftover = stalled.recv(4096)
    except ConnectionResetError:
        leftover = b""
    except socket.timeout:
        raise Failure(f"a stalled client is still connected after {REQUEST_TIMEOUT} s")
    finally:
        stalled.close()
    check(leftover == b"" or leftover.startswith(b"HTTP/1.1 400 "), "a stalled client is dropped after the read timeout",
          repr(leftover[:100]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("causalqwen", help="the causalqwen command")
    parser.add_argument("--model", help="model directory (default: the command's embedded model)")
    args = parser.parse_args()

    server = None

    def give_up():
        print(f"FAIL: the test ran past {TOTAL_TIMEOUT} s", flush=True)
        if server:
            server.kill()
        os._exit(1)

    watchdog = threading.Timer(TOTAL_TIMEOUT, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        server = Server(args.causalqwen, args.model)
        greedy_text = test_completions(server.port)
        test_causal(server.port, greedy_text)
        test_concurrency(server.port, greedy_text)
        test_hostile(server.port)
        check_health(server.port, "the server is healthy after every hostile request")
        check(completion(server.port, PROMPT, max_tokens=24)["choices"][0]["text"] == greedy_text,
              "and still gives the same greedy answer")

        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        try:
            code = server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise Failure("the server did not exit within 15 s of SIGTERM")
        check(code == 0, f"SIGTERM stops the server with exit code 0 (in {time.monotonic() - started:.1f} s)",
              f"got {code}")
    except Failure as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    except (OSError, http.client.HTTPException, KeyError, TypeError, IndexError) as e:
        print(f"FAIL: {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        if server:
            server.kill()
    print(f"all {checks} checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
