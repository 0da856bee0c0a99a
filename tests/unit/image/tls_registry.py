#!/usr/bin/env python3
# tls_registry.py - a misbehaving HTTPS "registry" for tests/unit/image/test_pull.c.
#
#   tls_registry.py CERT KEY PORTFILE MODE URL
#
# Listens on 127.0.0.1 (a free port, written to PORTFILE once listening)
# with TLS (CERT, KEY) and answers every GET:
#   redirect   307 to URL (e.g. a plain-HTTP one: the client must refuse it)
#   challenge  without "Authorization: Bearer ...": 401 with a Bearer
#              challenge whose realm is URL (service "fake svc", scope
#              "repository:auth/img:pull"); with one: 404 MANIFEST_UNKNOWN
# Runs until killed.
import http.server
import os
import ssl
import sys


def main():
    cert, key, portfile, mode, url = sys.argv[1:6]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def answer(self, status, headers, body):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if mode == "redirect":
                self.answer(307, [("Location", url)], b"moved")
            elif not (self.headers.get("Authorization") or "").startswith("Bearer "):
                challenge = ('Bearer realm="%s",service="fake svc",'
                             'scope="repository:auth/img:pull"' % url)
                self.answer(401, [("WWW-Authenticate", challenge),
                                  ("Content-Type", "application/json")],
                            b'{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}')
            else:
                self.answer(404, [("Content-Type", "application/json")],
                            b'{"errors":[{"code":"MANIFEST_UNKNOWN",'
                            b'"message":"manifest unknown"}]}')

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
