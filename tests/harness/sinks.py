# SPDX-License-Identifier: GPL-3.0-or-later
"""A local HTTP sink and a local SMTP sink on 127.0.0.1 (free ports), recording what they receive."""

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HttpSink(object):
    def __init__(self, status=200):
        self.bodies, self.status = [], status
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server name
                length = int(self.headers.get('Content-Length') or 0)
                sink.bodies.append(json.loads(self.rfile.read(length) or b'null'))
                self.send_response(sink.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d/hook' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SmtpSink(object):
    """Just enough SMTP for smtplib: EHLO/HELO, MAIL, RCPT, DATA, QUIT; each message's text is kept."""

    def __init__(self):
        self.messages = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text):
                self.wfile.write((text + '\r\n').encode())

            def handle(self):
                self.reply('220 sink ready')
                while True:
                    line = self.rfile.readline().decode(errors='replace').strip()
                    if not line:
                        return
                    verb = line.split(' ', 1)[0].upper()
                    if verb in ('EHLO', 'HELO'):
                        self.reply('250 sink')
                    elif verb in ('MAIL', 'RCPT', 'RSET', 'NOOP'):
                        self.reply('250 ok')
                    elif verb == 'DATA':
                        self.reply('354 go on')
                        lines = []
                        while True:
                            data = self.rfile.readline().decode(errors='replace')
                            if data in ('.\r\n', '.\n', ''):
                                break
                            lines.append(data)
                        sink.messages.append(''.join(lines))
                        self.reply('250 queued')
                    elif verb == 'QUIT':
                        self.reply('221 bye')
                        return
                    else:
                        self.reply('502 not here')

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
