package main

import (
	"fmt"
	"os"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotResults draws, for every latency scenario, a box plot of each
// subject's measured runs, side by side, and saves it as a PNG.
func plotResults(path string, results []*result) error {
	var plots []*plot.Plot
	for _, res := range results {
		if len(res.ms) == 0 || res.sc.name == scenarioAccuracy || res.sc.name == scenarioPrecision {
			continue
		}
		p, err := boxPlot(res)
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return nil
	}
	const w, h = 7 * vg.Inch, 3.2 * vg.Inch
	img := vgimg.New(w, h*vg.Length(len(plots)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Millimeter * 4}
	for i, p := range plots {
		p.Draw(tiles.At(dc, 0, i))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// boxPlot is one scenario's distributions, in ms.
func boxPlot(res *result) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = res.sc.name
	p.Y.Label.Text = "ms"
	labels := make([]string, 0, len(res.ms))
	for l := range res.ms {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for i, l := range labels {
		vals := make(plotter.Values, len(res.ms[l]))
		copy(vals, res.ms[l])
		b, err := plotter.NewBoxPlot(vg.Points(30), float64(i), vals)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", res.sc.name, err)
		}
		p.Add(b)
	}
	p.NominalX(labels...)
	return p, nil
}
