// Package report is what a crash run leaves behind and how it is judged
// again later: the Report (report.json), the state Snapshot (state.json)
// taken with the history (history.jsonl), the artifact file names, and the
// offline re-check, which needs only the checkers (package checker), never
// a traffic generator or a server.
package report
