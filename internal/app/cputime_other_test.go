//go:build !unix

package app_test

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
