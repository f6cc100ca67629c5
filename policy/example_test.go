package policy_test

import (
	"fmt"

	"github.com/mini-isolate/mini-isolate/policy"
)

// A judged container's settings come from its annotations.
func ExampleJudgeFromAnnotations() {
	j, err := policy.JudgeFromAnnotations(map[string]string{
		"io.github.mini-isolate.time":      "1.5",
		"io.github.mini-isolate.wall-time": "3",
		"io.github.mini-isolate.stdin":     "input.txt",
		"io.github.mini-isolate.meta":      "/var/judge/42.meta",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(j.Limits.Time, j.Limits.WallTime, j.IO.Stdin, j.Meta, j.MetaFormat)

	_, err = policy.JudgeFromAnnotations(map[string]string{"io.github.mini-isolate.time": "0"})
	fmt.Println(err)
	// Output:
	// 1.5 3 input.txt /var/judge/42.meta isolate
	// config.json: annotations.io.github.mini-isolate.time: "0": a limit of zero would kill every program; leave the key out for no limit
}
