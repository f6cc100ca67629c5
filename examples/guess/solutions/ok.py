# expect: OK OK OK
# Binary search; print(..., flush=True) sends each question at once.
lo, hi = 1, 1000000
while True:
    m = (lo + hi) // 2
    print("?", m, flush=True)
    r = input().strip()
    if r == "=":
        break
    if r == "<":
        hi = m - 1
    else:
        lo = m + 1
