// expect: OK OK WA WA
// Wrong answer: int is 32 bits, so reading 3000000000 fails and the sum
// of large values overflows.
#include <iostream>

int main()
{
	int sum = 0, x;
	while (std::cin >> x)
		sum += x;
	std::cout << sum << '\n';
}
