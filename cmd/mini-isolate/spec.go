package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/mini-isolate/mini-isolate/specconv"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a starting config.json into a bundle",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle `DIR` to write config.json into (default: the current directory)"},
		&cli.BoolFlag{Name: "rootless", Usage: "write a config for an unprivileged user"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, 0); err != nil {
			return err
		}
		spec := specconv.Example()
		if c.Bool("rootless") {
			specconv.ToRootless(spec)
		}
		dir := c.String("bundle")
		if dir == "" {
			dir = "."
		}
		path := filepath.Join(dir, specconv.ConfigName)
		data, err := json.MarshalIndent(spec, "", "\t")
		if err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; remove it first", path)
		}
		if err != nil {
			return fmt.Errorf("spec: %w", err)
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return fmt.Errorf("spec: %w", err)
		}
		return f.Close()
	},
}
