package main

import "github.com/mini-isolate/mini-isolate/internal/reexec"

func init() { reexec.Main() }
