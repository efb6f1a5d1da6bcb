// Package model holds what the traffic generators (package workload) and
// the checkers (package checker) must agree on, and nothing else: the
// workload names, each workload's operation names, the values its
// operations carry in the history, and the state it reads back after a
// crash (as porcupine's Model and etcd's robustness model/ do). Both sides
// import it; neither imports the other, so a saved run re-checks without
// building any traffic generator.
//
// The JSON forms of these types are the history.jsonl and state.json
// formats: renaming a field breaks re-checking old run directories.
package model
