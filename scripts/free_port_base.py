"""Prints a port P such that P..P+N-1 are all free on 127.0.0.1 (N from argv, default 3)."""
import random
import socket
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
for _ in range(200):
    base = random.randint(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
else:
    sys.exit("no free port range found")
