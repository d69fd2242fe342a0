//go:build !unix

package main

import "time"

// processCPU is unknown here: bench reports no CPU time.
func processCPU() time.Duration { return 0 }
