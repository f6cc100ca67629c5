# expect: OK OK OK TLE
# Too slow: recomputes every prefix sum from scratch, quadratic in the
# number of values.
import sys

nums = [int(t) for t in sys.stdin.read().split()]
total = 0
for i in range(len(nums)):
    total = sum(nums[: i + 1])
print(total)
