# expect: OK OK OK OK
# Correct: Python integers do not overflow.
import sys

print(sum(int(t) for t in sys.stdin.read().split()))
