//go:build race

package signing

// raceEnabled is true when the tests run with the race detector, which
// makes scrypt with minisign's parameters take a minute.
const raceEnabled = true
