package main

import (
	"bufio"
	"fmt"
	"os"
)

func main() {
	in := bufio.NewReader(os.Stdin)
	var sum, x int64
	for {
		if _, err := fmt.Fscan(in, &x); err != nil {
			break
		}
		sum += x
	}
	fmt.Println(sum)
}
