"""Summarises py-spy's raw (collapsed) stacks of our leader: per thread, the share of samples
by leaf function and by function anywhere on the stack (line numbers folded), and for the
engine's loop thread the bindings' own buckets (apply_batch, batch completions, the asyncio
wake-up).

    python3 bench/python/profile_summary.py .build/bench-python/py-spy-1000.txt [top]
"""
import collections
import re
import sys

LINE = re.compile(r":\d+\)$")

# Buckets for the loop thread, by a function on the stack (first match wins, outermost first).
BUCKETS = [
    ("wake the asyncio loop (call_soon_threadsafe)", "call_soon_threadsafe"),
    ("apply_batch: the bindings' wrapper + the state machine", "Node._apply_batch"),
    ("batch completions (_BatchCompletions._done, _Collector.add)", "_BatchCompletions._done"),
    ("single completions (_Completions._done)", "_Completions._done"),
    ("events", "Node._event"),
]


def fold(frame):
    return LINE.sub(")", frame)


def main(path, top=20):
    threads = collections.Counter()
    self_t = collections.defaultdict(collections.Counter)
    incl_t = collections.defaultdict(collections.Counter)
    buckets = collections.defaultdict(collections.Counter)
    total = 0
    for line in open(path):
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, n = line.rpartition(" ")
        n = int(n)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        thread = frames[0] if frames and frames[0].startswith("thread ") else "?"
        body = [fold(f) for f in frames if not f.startswith("thread ")]
        total += n
        threads[thread] += n
        if body:
            self_t[thread][body[-1]] += n
        for f in set(body):
            incl_t[thread][f] += n
        # innermost bucket wins: call_soon_threadsafe sits inside the completions
        name = "other" if body else "in a ctypes callback with no Python frame (GIL and thread-state setup, conversions)"
        for label, key in BUCKETS:
            if any(key in f for f in body):
                name = label
                break
        buckets[thread][name] += n
    print(f"{total} samples")
    for th, n in threads.most_common():
        print(f"\n== {th}: {n} samples ({100 * n / total:.1f}% of all)")
        if "MainThread" not in th:
            print("  buckets:")
            for label, c in buckets[th].most_common():
                print(f"    {100 * c / n:5.1f}%  {label}")
        print("  self (leaf function):")
        for f, c in self_t[th].most_common(top):
            print(f"    {100 * c / n:5.1f}%  {f}")
        print("  inclusive:")
        for f, c in incl_t[th].most_common(top):
            print(f"    {100 * c / n:5.1f}%  {f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20)
