//go:build race

package logs

func init() { raceEnabled = true }
