"""An HTTP proxy in front of ClickHouse that forwards every request and,
for the next requests whose query matches, drops the answer (closes the
client's connection without a word) after the server has run it: a write
that landed but whose caller saw a timeout, made deterministic."""
import http.client
import socket
import threading

from conftest import free_port


class AnswerDroppingProxy:
    def __init__(self, server_port):
        self.server_port = server_port
        self.port = free_port()
        self.drop = []                 # byte strings: a request containing one loses its answer
        self.dropped = 0
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        with client:
            reader = client.makefile("rb")
            head = []
            while True:
                line = reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                head.append(line)
            if not head:
                return
            method, target, _ = head[0].decode().split(" ", 2)
            headers = dict(line.decode().rstrip("\r\n").split(": ", 1) for line in head[1:])
            length = int(next((v for k, v in headers.items() if k.lower() == "content-length"),
                              0))
            body = reader.read(length)
            upstream = http.client.HTTPConnection("127.0.0.1", self.server_port, timeout=30)
            upstream.request(method, target, body=body, headers={
                k: v for k, v in headers.items() if k.lower() not in ("host", "connection")})
            answer = upstream.getresponse()
            data = answer.read()
            upstream.close()
            match = next((d for d in self.drop if d in body), None)
            if match is not None:
                self.drop.remove(match)
                self.dropped += 1
                return                 # the server ran it; the caller hears nothing
            client.sendall(f"HTTP/1.1 {answer.status} {answer.reason}\r\n".encode()
                           + b"".join(f"{k}: {v}\r\n".encode() for k, v in answer.getheaders()
                                      if k.lower() not in ("transfer-encoding", "connection",
                                                           "content-length"))
                           + f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                           + data)

    def close(self):
        self._listener.close()
