package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/mini-isolate/mini-isolate/profiles"
)

var profilesDirFlag = &cli.StringFlag{
	Name:  "profiles-dir",
	Value: profiles.DefaultDir,
	Usage: "`DIR` of user profiles (*.yaml), which override built-in ones of the same name",
}

// loadProfiles reads the built-in profiles and --profiles-dir. The default
// directory may be missing; one named on the command line must exist.
func loadProfiles(c *cli.Context) (*profiles.Set, error) {
	dir := c.String("profiles-dir")
	if c.IsSet("profiles-dir") {
		fi, err := os.Stat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("--profiles-dir %s: no such directory", dir)
		}
		if err == nil && !fi.IsDir() {
			return nil, fmt.Errorf("--profiles-dir %s: not a directory", dir)
		}
	}
	return profiles.Load(dir)
}

var profileCommand = &cli.Command{
	Name:  "profile",
	Usage: "list and show language profiles, from which spec --profile writes bundles",
	Action: func(c *cli.Context) error {
		if c.NArg() > 0 {
			return fmt.Errorf("profile: unknown command %q: want list or show", c.Args().First())
		}
		return cli.ShowSubcommandHelp(c)
	},
	Subcommands: []*cli.Command{
		{
			Name:  "list",
			Usage: "list the profiles in force",
			Flags: []cli.Flag{profilesDirFlag},
			Action: func(c *cli.Context) error {
				if err := checkArgs(c, 0, 0); err != nil {
					return err
				}
				set, err := loadProfiles(c)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(c.App.Writer, 0, 8, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tSTAGES\tSOURCE\tTOOLCHAIN\tORIGIN\tDESCRIPTION")
				for _, p := range set.List() {
					avail := "yes"
					if missing := profiles.MissingTools(p); len(missing) > 0 {
						avail = "missing " + strings.Join(missing, ", ")
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, joinNames(p.StageNames()), p.Source, avail, p.Origin, p.Description)
				}
				return w.Flush()
			},
		},
		{
			Name:      "show",
			Usage:     "print a profile as YAML, with its defaults filled in",
			ArgsUsage: "<name>",
			Flags:     []cli.Flag{profilesDirFlag},
			Action: func(c *cli.Context) error {
				if err := checkArgs(c, 1, 1); err != nil {
					return err
				}
				set, err := loadProfiles(c)
				if err != nil {
					return err
				}
				p, err := set.Get(c.Args().First())
				if err != nil {
					return err
				}
				data, err := p.YAML()
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "# profile %s (%s)\n%s", p.Name, p.Origin, data)
				return nil
			},
		},
	},
}

func joinNames(names []string) string {
	return strings.Join(names, ",")
}
