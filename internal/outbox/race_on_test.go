//go:build race

package outbox_test

// raceEnabled is true under the race detector, which slows SQLite (Go
// code here, instrumented like ours) far more than PostgreSQL (another
// process).
const raceEnabled = true
