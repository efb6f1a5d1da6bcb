// Command resettimes breaks the hard resets in VM console logs down into
// boot steps (see package bench/resetlog): one row per reset with each
// step's time since QMP system_reset, the medians, and the median cost of
// each step after the one before it.
//
//	go run ./bench/resettimes console.log [more.log ...]
package main

import (
	"fmt"
	"os"

	"github.com/crashrig/crashrig/bench/resetlog"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: resettimes CONSOLE_LOG...")
		os.Exit(2)
	}
	var all []resetlog.Reset
	for _, path := range os.Args[1:] {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		rs, err := resetlog.Parse(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(1)
		}
		all = append(all, rs...)
	}
	if len(all) == 0 {
		fmt.Fprintln(os.Stderr, "no resets in the logs (no line "+resetlog.ResetMark+")")
		os.Exit(1)
	}
	resetlog.WriteTable(os.Stdout, all)
	fmt.Println()
	fmt.Println("median cost of each step (from the step before):")
	for _, iv := range resetlog.Intervals(all) {
		fmt.Printf("  %-15s -> %-15s %6.2fs  (n=%d)\n", iv.From, iv.To, iv.Median.Seconds(), iv.N)
	}
}
