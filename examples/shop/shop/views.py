"""The shop's pages: each a known kind of work, so that tests and
benchmarks know what to expect of each transaction."""
import threading
import time

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Product, Review

start_background = None
_background_started = []
_lock = threading.Lock()


def _maybe_start_background():
    if start_background is not None and not _background_started:
        with _lock:
            if not _background_started:
                _background_started.append(True)
                start_background()


def home(request):
    """A trivial view: the cost of monitoring itself shows here."""
    _maybe_start_background()
    return HttpResponse(b"shop")


def product(request, pk):
    """One product, its reviews one query each (an N+1 on purpose), a template."""
    _maybe_start_background()
    item = get_object_or_404(Product, pk=pk)
    reviews = [Review.objects.get(pk=r.pk) for r in item.reviews.all()]
    return render(request, "shop/product.html", {"product": item, "reviews": reviews})


def catalogue(request):
    """21 ORM queries and a template: a page of a real site's weight."""
    _maybe_start_background()
    products = list(Product.objects.order_by("pk")[:20])
    rows = [(p, p.reviews.count()) for p in products]
    return render(request, "shop/catalogue.html", {"rows": rows})


def slow(request):
    """Waits: a request slow enough to keep its trace."""
    _maybe_start_background()
    time.sleep(0.25)
    return HttpResponse(b"slow")


def crunch(request):
    """CPU-bound for a while: its samples must be labelled with it."""
    _maybe_start_background()
    return HttpResponse(str(crunch_numbers(0.05)).encode())


def crunch_numbers(seconds):
    end = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < end:
        total += sum(i * i for i in range(200))
    return total


def broken(request):
    raise RuntimeError("broken on purpose")


def stream(request):
    """A body sent slowly, chunk by chunk: a client may go away mid-way."""
    _maybe_start_background()

    def chunks():
        for _ in range(40):
            yield b"x" * 4096
            time.sleep(0.05)
    return StreamingHttpResponse(chunks(), content_type="application/octet-stream")


async def ping(request):
    """An async view: under ASGI it runs on the event loop, no thread."""
    return HttpResponse(b"pong")
