//go:build !linux

package main

import "time"

// postgresCPU is unknown here: bench reports no database CPU time.
func postgresCPU() (time.Duration, bool) { return 0, false }
