#!/usr/bin/python3
"""A misbehaving OpenAI-compatible server for the remote chat's end-to-end tests.

  fake_openai_server.py PORT_FILE LOG_FILE MODE[,MODE...]

Listens on 127.0.0.1 (a free port, written to PORT_FILE), serves GET /v1/models (one model,
"fake-deepseek") and POST /v1/chat/completions, whose Nth request gets the Nth MODE (the last
one repeats):
  ok    streams "echo: <last user message>" word by word as SSE, with usage and [DONE]
  r1    the same with reasoning_content first (as vLLM/SGLang send R1's reasoning)
  drop  streams two words, then closes the connection mid-stream (no final chunk)
  500   HTTP 500 with an OpenAI error object {"error": {"message": "fake engine exploded"}}
Each request (method, path, Authorization header, body) is appended to LOG_FILE as a JSON line.
"""
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, log_file, modes = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
lock = threading.Lock()
completions = [0]


def log(handler, body):
    with lock, open(log_file, "a") as f:
        f.write(json.dumps({"method": handler.command, "path": handler.path,
                            "authorization": handler.headers.get("Authorization", ""),
                            "body": body}) + "\n")


def chunk(delta, finish=None):
    return {"id": "fake", "object": "chat.completion.chunk", "model": "fake-deepseek",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        log(self, "")
        if self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": "fake-deepseek", "object": "model",
                                                             "owned_by": "fake_openai_server.py"}]})
        else:
            self.send_json(404, {"error": {"message": "no such path " + self.path}})

    def event(self, value):
        data = ("data: " + (value if isinstance(value, str) else json.dumps(value)) + "\n\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
        time.sleep(0.05)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        log(self, body)
        if self.path != "/v1/chat/completions":
            return self.send_json(404, {"error": {"message": "no such path " + self.path}})
        with lock:
            mode = modes[min(completions[0], len(modes) - 1)]
            completions[0] += 1
        if mode == "500":
            return self.send_json(500, {"error": {"message": "fake engine exploded", "type": "server_error"}})
        request = json.loads(body)
        words = ("echo: " + request["messages"][-1]["content"]).split(" ")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.event(chunk({"role": "assistant", "content": ""}))
        if mode == "r1":
            self.event(chunk({"reasoning_content": "thinking it over"}))
        for i, word in enumerate(words):
            if mode == "drop" and i == 2:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # mid-stream, without the final zero-length chunk
                self.close_connection = True
                return
            self.event(chunk({"content": (" " if i else "") + word}))
        self.event(chunk({}, "stop"))
        self.event({"id": "fake", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": len(words)}})
        self.event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
