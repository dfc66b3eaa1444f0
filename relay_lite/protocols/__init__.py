"""Sans-I/O wire protocols: one module per API, no sockets.

Each module offers an adapter with the same four duties: turn ``ChatParams`` into an
``HTTPCall``; name its auth headers; parse a whole response into a ``ChatResponse``; and
make a stream parser that turns decoded stream events into neutral ``StreamEvent``s while
accumulating the whole reply.
"""
