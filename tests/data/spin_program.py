import time
def inner():
    t = time.time()
    while time.time() - t < 0.3: pass
def outer():
    inner()
outer()
