#include <iostream>

int main()
{
	std::ios::sync_with_stdio(false);
	long long sum = 0, x;
	while (std::cin >> x)
		sum += x;
	std::cout << sum << '\n';
}
