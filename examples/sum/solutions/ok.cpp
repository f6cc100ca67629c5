// expect: OK OK OK OK
// Correct: 64-bit sum; the sum of 20000 values up to 10^12 fits easily.
#include <iostream>

int main()
{
	std::ios::sync_with_stdio(false);
	long long sum = 0, x;
	while (std::cin >> x)
		sum += x;
	std::cout << sum << '\n';
}
