#!/usr/bin/env python3
"""The Tornado reference for the load benchmark: both seed handlers in one process.

Serves the seed's two paths on one port, with the seed's behaviour unchanged:

* ``/ws_multi_client``: clients are kept in a global list (appended on open, removed on
  close); every text message is written to every client in the list, sender included, as
  ``The server return anyone's message: <text>``.
* ``/ws_multi_client_dict``: each new client gets ``client<N>`` from a counter that never goes
  back and is told ``Your ID is: client<N>``; a message ``<id>/<text>`` is written as the part
  between the first and second ``/`` to that client only; an unknown ID is dropped silently.
  (As in the seed, a message without ``/`` raises inside the handler.)

Any origin is accepted. Usage: ``python3 seed_both_server.py --port 30005``.
"""

import argparse

import tornado.ioloop
import tornado.web
import tornado.websocket

BROADCAST_PREFIX = "The server return anyone's message: "
ID_PREFIX = "client"

broadcast_members = []
direct_members = {}
next_client_number = 0


class BroadcastHandler(tornado.websocket.WebSocketHandler):
    def open(self):
        if self not in broadcast_members:
            broadcast_members.append(self)

    def on_message(self, message):
        for member in broadcast_members:
            member.write_message(BROADCAST_PREFIX + message)

    def on_close(self):
        if self in broadcast_members:
            broadcast_members.remove(self)

    def check_origin(self, origin):
        return True


class DirectHandler(tornado.websocket.WebSocketHandler):
    def open(self):
        global next_client_number
        # The seed's check, kept as is (the handler is never a key, so it always passes).
        if self not in direct_members:
            client_id = ID_PREFIX + str(next_client_number)
            direct_members[client_id] = self
            self.write_message("Your ID is: " + client_id)
            next_client_number += 1

    def on_message(self, message):
        target = message.split("/")[0]
        contents = message.split("/")[1]
        if target in direct_members:
            direct_members.get(target).write_message(contents)

    def on_close(self):
        for client_id, member in direct_members.items():
            if member == self:
                direct_members.pop(client_id)
                break

    def check_origin(self, origin):
        return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=30005)
    parser.add_argument("--address", default="127.0.0.1")
    args = parser.parse_args()
    app = tornado.web.Application(
        [
            ("/ws_multi_client", BroadcastHandler),
            ("/ws_multi_client_dict", DirectHandler),
        ]
    )
    app.listen(args.port, address=args.address)
    print(f"seed reference listening on {args.address}:{args.port}", flush=True)
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
