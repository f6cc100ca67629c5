// expect: OK OK OK RE
// Crashes: assumes at most 1000 values; vector::at throws on the big test
// and the uncaught exception aborts the program.
#include <iostream>
#include <vector>

int main()
{
	std::vector<long long> a(1000);
	long long sum = 0, x;
	size_t n = 0;
	while (std::cin >> x) {
		a.at(n++) = x;
		sum += x;
	}
	std::cout << sum << '\n';
}
