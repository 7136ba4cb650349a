// Command benchratio reads `go test -bench` output on stdin, echoes it, and
// then prints, for every benchmark with an "outpost" sub-benchmark and a
// peer sub-benchmark (pebble, postgres, ...), the ratio of their ns/op: the
// figure our benchmarks are judged by.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
)

var benchLine = regexp.MustCompile(`^(Benchmark[^\s/]+)/([^\s-]+)(-\d+)?\s+\d+\s+([\d.]+) ns/op`)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	results := map[string]map[string]float64{} // base -> variant -> ns/op
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(out, line)
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			continue
		}
		if results[m[1]] == nil {
			results[m[1]] = map[string]float64{}
		}
		results[m[1]][m[2]] = ns
	}
	if err := sc.Err(); err != nil {
		return err
	}
	bases := make([]string, 0, len(results))
	for b := range results {
		bases = append(bases, b)
	}
	sort.Strings(bases)
	printed := false
	for _, b := range bases {
		ours, ok := results[b]["outpost"]
		if !ok {
			continue
		}
		peers := make([]string, 0)
		for v := range results[b] {
			if v != "outpost" {
				peers = append(peers, v)
			}
		}
		sort.Strings(peers)
		for _, p := range peers {
			if !printed {
				fmt.Fprintf(out, "\n%-36s %14s %14s %8s\n", "benchmark", "outpost ns/op", "peer ns/op", "ratio")
				printed = true
			}
			fmt.Fprintf(out, "%-36s %14.0f %14.0f %7.2fx  (vs %s)\n", b, ours, results[b][p], ours/results[b][p], p)
		}
	}
	return nil
}
