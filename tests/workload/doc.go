// Package workload generates crash-test traffic: each Workload creates its
// tables, runs clients that keep writing while the server is crashed under
// them, and reads the resulting state back. What it records (op names,
// values) and reads back (state) are package model's types; package
// checker judges them. This package never imports checker.
package workload
