#!/usr/bin/env python3
"""How often a sample of an asyncio loop's thread is labelled with the
wrong request, under plumb.monitor's ASGIMiddleware:

    .venv/3.12/bin/python benchmarks/asyncio_labels.py [--requests N] [--rate HZ]

Many requests run at once on one loop; each belongs to one of four
transactions, and each transaction's work is a function of its own
(work_0 .. work_3) that burns CPU in short slices and yields to the loop
between them, so the loop switches between requests thousands of times a
second.  The middleware sets the thread tag around each step of a
request's coroutine; a sample is labelled with the transaction whose step
was running when the sampler read the tag.  A sample whose stack is inside
work_K but whose label is another transaction is wrong; one inside work_K
labelled "other" is unlabelled (the loop between steps, or a read that fell
between the tag's write and the stack's change).  Printed: samples of the
work functions, and the shares labelled right, wrong and not at all."""
import argparse
import asyncio
import sys
import tempfile
import time

TRANSACTIONS = 4


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def work_0(s):
    spin(s)


def work_1(s):
    spin(s)


def work_2(s):
    spin(s)


def work_3(s):
    spin(s)


WORK = [work_0, work_1, work_2, work_3]


def make_app(slice_s, slices):
    async def app(scope, receive, send):
        k = int(scope["path"].rsplit("/", 1)[1])
        for _ in range(slices):
            WORK[k](slice_s)
            await asyncio.sleep(0)            # back to the loop: another request runs
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
    return app


async def serve(app, requests):
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    async def one(i):
        k = i % TRANSACTIONS
        scope = {"type": "http", "method": "GET", "path": f"/work/{k}", "query_string": b"",
                 "headers": []}
        await app(scope, receive, send)

    await asyncio.gather(*(one(i) for i in range(requests)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--slices", type=int, default=40)
    parser.add_argument("--slice-ms", type=float, default=0.5)
    parser.add_argument("--rate", type=float, default=1000.0)
    args = parser.parse_args()

    from plumb.monitor import ASGIMiddleware
    from plumb.monitor.store import open_store

    folder = tempfile.mkdtemp(prefix="plumb-asyncio-labels-")
    url = f"sqlite:///{folder}/m.db"
    app = ASGIMiddleware(make_app(args.slice_ms / 1000, args.slices), store=url, rate=args.rate,
                         harvest_interval=3600,
                         naming=lambda scope: "work_" + scope["path"].rsplit("/", 1)[1])
    started = time.perf_counter()
    asyncio.run(serve(app, args.requests))
    elapsed = time.perf_counter() - started
    app.agent.harvest()
    right = wrong = unlabelled = 0
    labels = [(f"work_{j}", "web") for j in range(TRANSACTIONS)] + [(None, "other")]
    with open_store(url) as store:
        since, until = time.time() - 3600, time.time() + 60
        profiles = {label: store.profile(transaction=label[0], kind=label[1], since=since,
                                         until=until)["stacks"] for label in labels}
    for (name, kind), stacks in profiles.items():
        for frames, count in stacks:
            for k in range(TRANSACTIONS):
                if not any(f[2] == f"work_{k}" for f in frames):
                    continue
                if kind == "other":
                    unlabelled += count
                elif name == f"work_{k}":
                    right += count
                else:
                    wrong += count
    total = right + wrong + unlabelled
    print(f"CPython {sys.version.split()[0]}, {args.requests} concurrent requests, "
          f"{args.slices} slices of {args.slice_ms} ms each, sampler at {args.rate:g} Hz, "
          f"{elapsed:.2f} s")
    if not total:
        print("no samples of the work functions: the sampler got no rounds")
        return 1
    print(f"samples in the work functions: {total}")
    print(f"  labelled with their own transaction: {right / total:.4f}")
    print(f"  labelled with another transaction:   {wrong / total:.4f}")
    print(f"  not labelled (other):                {unlabelled / total:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
