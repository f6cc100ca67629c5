// expect: OK OK OK MLE
// Memory-hungry: keeps a table of every range sum, quadratic in the number
// of values (20000 values: 3.2 GB).
#include <iostream>
#include <vector>

int main()
{
	std::vector<long long> a;
	long long x;
	while (std::cin >> x)
		a.push_back(x);
	size_t n = a.size();
	std::vector<std::vector<long long>> range(n, std::vector<long long>(n + 1));
	for (size_t i = 0; i < n; i++)
		for (size_t j = i; j < n; j++)
			range[i][j + 1] = range[i][j] + a[j];
	std::cout << (n ? range[0][n] : 0) << '\n';
}
