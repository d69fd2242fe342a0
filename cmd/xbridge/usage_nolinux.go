//go:build !linux

package main

import "time"

// serverProcs is the CPU time of the PostgreSQL server's processes; never
// known here.
type serverProcs map[[2]int64]int64

// postgresCPU is unknown here: bench reports no database CPU time.
func postgresCPU() serverProcs { return nil }

func (p serverProcs) since(serverProcs) time.Duration { return 0 }
